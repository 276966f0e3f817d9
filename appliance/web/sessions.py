"""Signed-in sessions, kept on the server: the cookie carries only a random session id.

Why in the web process's memory, not in the cookie or a file:

* a copy of the cookie is worth nothing after sign-out (:meth:`SessionStore.end`), an idle
  timeout, or a restart of the service;
* every session of an account ends when an admin changes its password or role or disables it:
  each session remembers the account's ``session_version`` (:mod:`appliance.settings`) from
  sign-in, and a session whose version is no longer the account's is ended on its next request;
* signing in writes nothing to disk, so it works on a full disk (``appliance serve`` is one
  process, so one table serves every thread).

The table is bounded (:data:`MAX_SESSIONS`); when it is full the least recently used session
ends. Session ids are 256-bit random strings compared through a dict lookup.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

log = logging.getLogger(__name__)

MAX_SESSIONS = 2000


@dataclass
class Session:
    """One signed-in tablet: the account, its session version at sign-in, the last activity."""

    name: str
    version: int
    seen: datetime


class SessionStore:
    """The signed-in sessions of this process (thread-safe)."""

    def __init__(self, *, idle: timedelta, max_sessions: int = MAX_SESSIONS):
        self.idle = idle
        self._max = max_sessions
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, name: str, version: int, *, now: datetime) -> str:
        """A new session for the account ``name``; returns its id (for the cookie)."""
        sid = secrets.token_urlsafe(32)
        with self._lock:
            self._prune(now)
            while len(self._sessions) >= self._max:
                self._sessions.popitem(last=False)
                log.warning("session table full: the least recently used session was ended")
            self._sessions[sid] = Session(name=name, version=int(version), seen=now)
        return sid

    def check(self, sid: object, *, now: datetime) -> tuple[Session | None, bool]:
        """``(session, False)`` for a live session; ``(None, True)`` when it has just been ended for
        being idle too long; ``(None, False)`` for an unknown id."""
        if not isinstance(sid, str):
            return None, False
        with self._lock:
            found = self._sessions.get(sid)
            if found is None:
                return None, False
            if now - found.seen > self.idle:
                del self._sessions[sid]
                return None, True
            return Session(found.name, found.version, found.seen), False

    def touch(self, sid: str, *, now: datetime) -> None:
        """Record activity: the idle timeout starts again."""
        with self._lock:
            found = self._sessions.get(sid)
            if found is not None:
                found.seen = max(found.seen, now)
                self._sessions.move_to_end(sid)

    def end(self, sid: object) -> None:
        """End one session (sign-out)."""
        if isinstance(sid, str):
            with self._lock:
                self._sessions.pop(sid, None)

    def end_account(self, name: str) -> int:
        """End every session of the account ``name``; returns how many."""
        with self._lock:
            gone = [sid for sid, s in self._sessions.items() if s.name == name]
            for sid in gone:
                del self._sessions[sid]
        return len(gone)

    def count(self) -> int:
        with self._lock:
            return len(self._sessions)

    def _prune(self, now: datetime) -> None:
        for sid in [sid for sid, s in self._sessions.items() if now - s.seen > self.idle]:
            del self._sessions[sid]
