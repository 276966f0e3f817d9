"""Reading the journal: entries, certificates, search, duplicates, and the chain check.

:class:`JournalQueries` is a mixin of :class:`appliance.journal.journal.Journal`: every method
reads through the journal's ``_read`` (one connection behind its lock; sqlite errors become
:class:`~appliance.errors.JournalError`) and writes nothing. Entries come back as the synced
:data:`appliance.journal.chain.FIELDS` dicts, issued certificates as
:class:`~appliance.journal.records.CertificateRecord`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable

from appliance.journal import chain
from appliance.journal.records import COLUMNS, RECORD_SQL, CertificateRecord, person_key, record, row_entry
from appliance.util.fold import folds
from appliance.util.timefmt import fmt_utc, parse_utc

_SCAN_CHUNK = 5000
_IN_CHUNK = 500     # keys per ``IN (...)``: well below SQLite's limit of host parameters


class JournalQueries:
    """The read side of the journal (mixed into :class:`~appliance.journal.journal.Journal`,
    which provides ``_read``; :meth:`verify` also uses the sync state's ``get_acknowledged``)."""

    # ----------------------------------------------------------------- entries
    def entries(self, after_seq: int = 0, limit: int | None = None) -> list[dict]:
        rows = self._read(f"SELECT {COLUMNS} FROM entries WHERE seq > ? ORDER BY seq LIMIT ?",
                          (after_seq, -1 if limit is None else limit))
        return [row_entry(r) for r in rows]

    def last_seq(self) -> int:
        return self._read("SELECT COALESCE(MAX(seq), 0) FROM entries")[0][0]

    def newest_time(self, after_seq: int = 0) -> datetime | None:
        """The latest entry time (of the entries from ``after_seq`` on, e.g. a clock correction)."""
        value = self._read("SELECT MAX(time) FROM entries WHERE seq >= ?", (after_seq,))[0][0]
        return parse_utc(value) if value else None

    def time_span_after(self, time: datetime, after_seq: int = 0) -> tuple[int, str, str, int, int] | None:
        """``(count, min time, max time, min seq, max seq)`` of entries later than ``time``."""
        row = self._read("SELECT COUNT(*), MIN(time), MAX(time), MIN(seq), MAX(seq) FROM entries "
                         "WHERE time > ? AND seq > ?", (fmt_utc(time), after_seq))[0]
        return row if row[0] else None

    def latest(self, kind: str) -> dict | None:
        """The newest entry of ``kind`` (e.g. the last ``clock_confirmed``), or None."""
        rows = self._read(f"SELECT {COLUMNS} FROM entries WHERE kind = ? ORDER BY seq DESC LIMIT 1", (kind,))
        return row_entry(rows[0]) if rows else None

    def note(self, seq: int) -> str | None:
        """The device-only free-text note of entry ``seq`` (a revocation's), never synced."""
        rows = self._read("SELECT note FROM entries WHERE seq = ?", (seq,))
        return rows[0][0] if rows else None

    def issued_entry(self, uvci: str) -> dict | None:
        rows = self._read(f"SELECT {COLUMNS} FROM entries WHERE kind = 'issued' AND uvci = ?", (uvci,))
        return row_entry(rows[0]) if rows else None

    def revocation(self, uvci: str, *, kid: str | None = None) -> dict | None:
        """The ``revoked`` entry of a certificate of this device (with its device-only ``note``), or None.

        With ``kid`` (base64) only a certificate issued with that key counts: a foreign certificate
        that happens to carry the same UVCI is not this device's to call revoked.
        """
        rows = self._read(f"SELECT {', '.join('r.' + f for f in chain.FIELDS)}, r.note FROM entries r "
                          "JOIN entries i ON i.kind = 'issued' AND i.uvci = r.uvci "
                          "WHERE r.kind = 'revoked' AND r.uvci = ? AND (? IS NULL OR i.kid = ?) "
                          "ORDER BY r.seq LIMIT 1", (uvci, kid, kid))
        if not rows:
            return None
        return {**row_entry(rows[0][:-1]), "note": rows[0][-1]}

    def keyed_entries(self, keys: Iterable[str]) -> dict[str, dict]:
        """The entries of any kind whose idempotency key is one of ``keys``: key -> entry."""
        keys = list(dict.fromkeys(keys))
        found: dict[str, dict] = {}
        for i in range(0, len(keys), _IN_CHUNK):
            chunk = keys[i:i + _IN_CHUNK]
            rows = self._read(f"SELECT idempotency_key, {COLUMNS} FROM entries "
                              f"WHERE idempotency_key IN ({', '.join('?' * len(chunk))})", chunk)
            found.update((row[0], row_entry(row[1:])) for row in rows)
        return found

    # ------------------------------------------------------------- the chain
    def verify(self) -> tuple[int, str] | None:
        """Check the whole chain; ``(seq, reason)`` of the first broken link, or None."""
        broken, last, _ = self.verify_since(0, chain.GENESIS)
        if broken is None:
            acked = self.get_acknowledged()
            if acked > last:
                return (last + 1, f"entries after seq {last} are missing; the hub acknowledged up to seq {acked}")
        return broken

    def verify_since(self, seq: int, prev_hash: str) -> tuple[tuple[int, str] | None, int, str]:
        """Check the entries after ``seq`` (whose hash is ``prev_hash``).

        :returns: ``(first broken link or None, last seq checked, its hash)``.
        """
        while True:
            batch = self.entries(after_seq=seq, limit=_SCAN_CHUNK)
            if not batch:
                return None, seq, prev_hash
            broken = chain.first_broken_link(batch, prev_hash=prev_hash, prev_seq=seq)
            if broken:
                return broken, seq, prev_hash
            seq, prev_hash = batch[-1]["seq"], batch[-1]["hash"]

    # ------------------------------------------------------------ certificates
    def certificate(self, uvci: str) -> CertificateRecord | None:
        rows = self._read(RECORD_SQL + " AND e.uvci = ?", (uvci,))
        return record(rows[0]) if rows else None

    def by_idempotency_key(self, key: str) -> CertificateRecord | None:
        rows = self._read(RECORD_SQL + " AND e.idempotency_key = ?", (key,))
        return record(rows[0]) if rows else None

    def by_idempotency_keys(self, keys: Iterable[str]) -> dict[str, CertificateRecord]:
        """The issued certificates whose idempotency key is one of ``keys``: key -> record."""
        keys = list(dict.fromkeys(keys))
        found: dict[str, CertificateRecord] = {}
        sql = RECORD_SQL.replace("SELECT e.seq,", "SELECT e.idempotency_key, e.seq,")
        for i in range(0, len(keys), _IN_CHUNK):
            chunk = keys[i:i + _IN_CHUNK]
            rows = self._read(sql + f" AND e.idempotency_key IN ({', '.join('?' * len(chunk))})", chunk)
            found.update((row[0], record(row[1:])) for row in rows)
        return found

    def search(self, text: str | None = None, *, since: datetime | None = None,
               limit: int = 100) -> list[CertificateRecord]:
        """Issued certificates, newest first, whose UVCI or names contain ``text``, folded
        (:mod:`appliance.util.fold`: "muller" and "mueller" find "Müller", "weiss" finds "Weiß")."""
        sql, args = RECORD_SQL, []
        if since is not None:
            sql += " AND e.time >= ?"
            args.append(fmt_utc(since))
        if text:
            dropped, transcribed = folds(text.strip())
            fields = ("e.uvci", "json_extract(p.json, '$.family_name')", "json_extract(p.json, '$.given_name')",
                      "json_extract(p.json, '$.family_name_std')", "json_extract(p.json, '$.given_name_std')")
            sql += " AND (" + " OR ".join(f"instr(fold({f}, {i}), ?) > 0" for f in fields for i in (0, 1)) + ")"
            args += [dropped, transcribed] * len(fields)
        sql += " ORDER BY e.seq DESC LIMIT ?"
        return [record(r) for r in self._read(sql, (*args, limit))]

    def same_person(self, personal: dict, *, since: datetime | None = None,
                    limit: int = 50) -> list[CertificateRecord]:
        """Retained certificates of the person in ``personal`` (standardised names and birth
        date, as :meth:`~appliance.journal.journal.Journal.append` stores them), newest first;
        found through an index."""
        # personal first: the index on person_key picks the few rows, then entries by uvci
        sql = RECORD_SQL.replace("FROM entries e LEFT JOIN personal p ON p.uvci = e.uvci",
                                 "FROM personal p CROSS JOIN entries e ON e.uvci = p.uvci")
        sql, args = sql + " AND p.person_key = ?", [person_key(personal)]
        if since is not None:
            sql += " AND e.time >= ?"
            args.append(fmt_utc(since))
        sql += " ORDER BY e.seq DESC LIMIT ?"
        return [record(r) for r in self._read(sql, (*args, limit))]

    def people(self, person_keys: Iterable[str]) -> dict[str, list[CertificateRecord]]:
        """Retained certificates per :func:`~appliance.journal.records.person_key` (many people at
        once, through the index): the bulk form of :meth:`same_person`; people without
        certificates are left out."""
        keys = list(dict.fromkeys(person_keys))
        sql = RECORD_SQL.replace("SELECT e.seq,", "SELECT p.person_key, e.seq,").replace(
            "FROM entries e LEFT JOIN personal p ON p.uvci = e.uvci", "FROM personal p CROSS JOIN entries e ON e.uvci = p.uvci")
        found: dict[str, list[CertificateRecord]] = {}
        for i in range(0, len(keys), _IN_CHUNK):
            chunk = keys[i:i + _IN_CHUNK]
            for row in self._read(sql + f" AND p.person_key IN ({', '.join('?' * len(chunk))}) ORDER BY e.seq", chunk):
                found.setdefault(row[0], []).append(record(row[1:]))
        return found
