"""Sign-in throttling per (account name, client address), with growing delays.

Replaces the old account lockout, which let anyone lock any admin out again and again and answered
"locked" only for real accounts. Now:

* failures count per (name as typed, client address): someone guessing at one tablet slows down
  only that tablet for that name; the admin signs in from another one;
* the first :data:`FREE_FAILURES` failures cost nothing; after that each failure makes that pair
  wait :data:`BASE_DELAY` × 2ⁿ, at most :data:`MAX_DELAY`; while it waits, sign-in is refused
  without looking at the password (so guessing gets no faster by trying);
* the name is never looked up here: unknown names are throttled exactly like real ones;
* a correct password clears the pair; an admin clears every pair of an account (``unlock``).

The table lives in the web process's memory, not on disk: a failed sign-in must not write (a full
disk would make every sign-in fail, finding 11), and a restart forgetting the counters costs an
attacker a restart of the appliance. It is bounded (:attr:`SignInThrottle.max_entries`, least
recently failed first out) and forgets a pair :data:`FORGET_AFTER` after its last failure.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

FREE_FAILURES = 4
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=24)
MAX_ENTRIES = 10_000


@dataclass
class _Pair:
    failures: int
    last_failure: datetime
    open_at: datetime


class SignInThrottle:
    """The failure counters of this process (thread-safe)."""

    def __init__(self, max_entries: int = MAX_ENTRIES):
        self.max_entries = max_entries
        self._pairs: OrderedDict[tuple[str, str], _Pair] = OrderedDict()
        self._lock = threading.Lock()

    def wait_seconds(self, name: str, address: str, *, now: datetime) -> int:
        """Seconds this pair must still wait before it may try again (0: it may try now)."""
        with self._lock:
            pair = self._pairs.get((name, address))
            if pair is None or pair.open_at <= now:
                return 0
            return max(1, math.ceil((pair.open_at - now).total_seconds()))

    def failed(self, name: str, address: str, *, now: datetime) -> int:
        """Count a wrong password; returns the seconds the pair must now wait (0: none yet)."""
        key = (name, address)
        with self._lock:
            self._forget_old(now)
            pair = self._pairs.pop(key, None) or _Pair(failures=0, last_failure=now, open_at=now)
            pair.failures += 1
            pair.last_failure = now
            over = pair.failures - FREE_FAILURES
            delay = min(BASE_DELAY * (2 ** min(over - 1, 20)), MAX_DELAY) if over > 0 else timedelta(0)
            pair.open_at = now + delay
            self._pairs[key] = pair
            while len(self._pairs) > self.max_entries:
                self._pairs.popitem(last=False)
        return int(delay.total_seconds())

    def succeeded(self, name: str, address: str) -> None:
        with self._lock:
            self._pairs.pop((name, address), None)

    def unlock(self, name: str) -> int:
        """The admin's unlock: clear every pair of the account ``name``; returns how many."""
        with self._lock:
            keys = [k for k in self._pairs if k[0] == name]
            for k in keys:
                del self._pairs[k]
        return len(keys)

    def waiting(self, *, now: datetime) -> set[str]:
        """The account names some client must wait for (the admin page marks them)."""
        with self._lock:
            return {name for (name, _), pair in self._pairs.items() if pair.open_at > now}

    def size(self) -> int:
        with self._lock:
            return len(self._pairs)

    def _forget_old(self, now: datetime) -> None:
        while self._pairs:
            key, pair = next(iter(self._pairs.items()))
            if now - pair.last_failure <= FORGET_AFTER:
                break
            del self._pairs[key]
