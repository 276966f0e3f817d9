"""How the journal's rows read back: synced entries as dicts, issued certificates as records.

:func:`row_entry` turns an ``entries`` row (the :data:`appliance.journal.chain.FIELDS` columns)
into the synced entry; :data:`RECORD_SQL` and :func:`record` join an ``issued`` entry with its
personal row into a :class:`CertificateRecord`; :func:`person_key` is the index key of the
duplicate warning. Pure: no connection, no clock.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from appliance.journal import chain
from appliance.util.timefmt import parse_utc

#: The synced columns of ``entries``, in :data:`chain.FIELDS` order.
COLUMNS = ", ".join(chain.FIELDS)

#: Issued certificates with their personal row and whether they were revoked (add ``AND ...``).
RECORD_SQL = ("SELECT e.seq, e.uvci, e.type, e.time, e.expires_at, COALESCE(e.operator_name, e.operator), "
              "e.data, p.json, "
              "EXISTS (SELECT 1 FROM entries r WHERE r.kind = 'revoked' AND r.uvci = e.uvci), e.kid "
              "FROM entries e LEFT JOIN personal p ON p.uvci = e.uvci WHERE e.kind = 'issued'")


@dataclass(frozen=True)
class CertificateRecord:
    """One issued certificate as the journal knows it."""

    seq: int
    uvci: str
    type: str | None
    issued_at: datetime
    expires_at: datetime | None
    operator: str
    data: dict            #: non-personal facts (product, dose, test type, ...)
    personal: dict | None  #: names, date_of_birth, hc1, dcc; None once purged
    revoked: bool
    kid: str | None = None  #: base64


def row_entry(row: sqlite3.Row | tuple) -> dict:
    """The synced entry (the :data:`chain.FIELDS` dict) of an ``entries`` row."""
    entry = dict(zip(chain.FIELDS, row))
    entry["data"] = json.loads(entry["data"])
    return entry


def record(row: tuple) -> CertificateRecord:
    """The :class:`CertificateRecord` of a :data:`RECORD_SQL` row."""
    seq, uvci, typ, time, expires, operator, data, personal, revoked, kid = row
    return CertificateRecord(seq=seq, uvci=uvci, type=typ, issued_at=parse_utc(time),
                             expires_at=parse_utc(expires) if expires else None, operator=operator,
                             data=json.loads(data), personal=json.loads(personal) if personal else None,
                             revoked=bool(revoked), kid=kid)


def person_key(personal: dict) -> str:
    """``FNT<<GNT|dob``: who a personal record is about, for the duplicate warning."""
    return (f"{personal.get('family_name_std') or ''}<<{personal.get('given_name_std') or ''}"
            f"|{personal.get('date_of_birth') or ''}")
