"""What the journal keeps for the hub and the integrity checks: sync state, signed heads, checkpoints.

:class:`JournalSyncState` is a mixin of :class:`appliance.journal.journal.Journal` (it uses the
journal's connection, lock, ``_read`` and ``_write``):

- ``sync_state``: the hub's acknowledged seq (the cursor) and the sync status shown to staff;
- ``heads``: the chain head signed by the journal key after each commit, once :meth:`bind_heads`
  gave a signer (:mod:`appliance.journal.heads` makes and checks the signatures);
- ``counter_checkpoints``: heads bound to the TPM's monotonic counter
  (:mod:`appliance.journal.integrity`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from appliance.journal import heads
from appliance.util.timefmt import fmt_utc


class JournalSyncState:
    """Sync cursor and status, signed heads and counter checkpoints (mixed into the Journal)."""

    # ------------------------------------------------------------ signed heads
    def bind_heads(self, signer: "heads.HeadSigner | None", device_id: str) -> None:
        """From now on every commit also stores the new head signed by ``signer`` (the journal key)."""
        with self._lock:
            self._head_signer = (signer, device_id) if signer is not None else None

    @property
    def head_signer(self) -> "heads.HeadSigner | None":
        return self._head_signer[0] if self._head_signer else None

    def _store_head(self, seq: int, hash_: str, time: str) -> dict | None:
        """Sign and store the head ``(seq, hash_)`` (inside the caller's transaction)."""
        if self._head_signer is None:
            return None
        signer, device_id = self._head_signer
        head = heads.sign_head(signer, device_id, seq, hash_, time)
        self._conn.execute("INSERT OR REPLACE INTO heads (seq, hash, time, kid, sig) VALUES (?, ?, ?, ?, ?)",
                           (head["seq"], head["hash"], head["time"], head["kid"], head["sig"]))
        self._conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('heads_since', ?)", (str(seq),))
        return head

    def sign_head_now(self, *, now: datetime) -> dict | None:
        """Sign the current head if the newest signed one is older (at every sync); the newest head."""
        with self._lock:
            newest, last = self.newest_head(), self.last_seq()
            if self._head_signer is None or last == 0 or (newest is not None and newest["seq"] >= last):
                return newest
            with self._write():
                row = self._conn.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
                return self._store_head(row[0], row[1], fmt_utc(now))

    def newest_head(self) -> dict | None:
        rows = self._read("SELECT seq, hash, time, kid, sig FROM heads ORDER BY seq DESC LIMIT 1")
        return dict(zip(heads.HEAD_KEYS, rows[0])) if rows else None

    def head_snapshot(self) -> tuple[int, int, dict | None]:
        """``(last seq, hub's acknowledged seq, newest signed head)`` read in ONE statement, so a
        commit or a sync by another process in between cannot make them disagree."""
        row = self._read("SELECT (SELECT COALESCE(MAX(seq), 0) FROM entries), "
                         "(SELECT value FROM sync_state WHERE key = 'acknowledged'), "
                         "h.seq, h.hash, h.time, h.kid, h.sig FROM (SELECT 1) "
                         "LEFT JOIN (SELECT * FROM heads ORDER BY seq DESC LIMIT 1) h")[0]
        head = dict(zip(heads.HEAD_KEYS, row[2:])) if row[2] is not None else None
        return row[0], int(row[1]) if row[1] is not None else 0, head

    def heads_since(self) -> int | None:
        """The seq of the first signed head ever stored (None: this journal never had one)."""
        rows = self._read("SELECT value FROM meta WHERE key = 'heads_since'")
        return int(rows[0][0]) if rows else None

    def entry_hash(self, seq: int) -> str | None:
        rows = self._read("SELECT hash FROM entries WHERE seq = ?", (seq,))
        return rows[0][0] if rows else None

    # ------------------------------------------------------ counter checkpoints
    def newest_checkpoint(self) -> dict | None:
        rows = self._read("SELECT counter, seq, hash, time, sig FROM counter_checkpoints ORDER BY counter DESC LIMIT 1")
        return dict(zip(("counter", "seq", "hash", "time", "sig"), rows[0])) if rows else None

    def store_checkpoint(self, checkpoint: dict) -> None:
        with self._lock, self._write():
            self._conn.execute("INSERT OR REPLACE INTO counter_checkpoints (counter, seq, hash, time, sig) "
                               "VALUES (:counter, :seq, :hash, :time, :sig)", checkpoint)
            self._conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('counter_since', ?)",
                               (str(checkpoint["counter"]),))

    # -------------------------------------------------------------- sync state
    def get_acknowledged(self) -> int:
        value = self._state("acknowledged")
        return int(value) if value is not None else 0

    def set_acknowledged(self, seq: int) -> None:
        self._set_state("acknowledged", str(int(seq)))

    def get_sync_status(self) -> dict:
        value = self._state("status")
        return json.loads(value) if value else {}

    def set_sync_status(self, **fields: Any) -> None:
        """Merge ``fields`` (JSON-able) into the stored sync status."""
        with self._lock, self._write():
            row = self._conn.execute("SELECT value FROM sync_state WHERE key = 'status'").fetchone()
            status = json.loads(row[0]) if row else {}
            status.update(fields)
            self._conn.execute("INSERT OR REPLACE INTO sync_state (key, value) VALUES ('status', ?)",
                               (json.dumps(status, default=str),))

    def _state(self, key: str) -> str | None:
        rows = self._read("SELECT value FROM sync_state WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def _set_state(self, key: str, value: str) -> None:
        with self._lock, self._write():
            self._conn.execute("INSERT OR REPLACE INTO sync_state (key, value) VALUES (?, ?)", (key, value))
