"""Bulk revocation: a list of UVCIs in, one ``revoked`` journal entry each, exactly once.

The list is a CSV or XLSX file with a ``uvci`` column (also ``UVCI``, ``ci``,
``Zertifikatkennung``), or a plain file with one UVCI per line. The reason is a short code
(letters, digits, ``_ . -``; synced to the hub, so never personal data); ``fraud`` marks the
revocations as fraud. Each line's identity is its UVCI plus the batch id; a second run
finds the committed revocations by their keys and revokes nothing again. Groups of 200 are
committed in one transaction each (:meth:`appliance.issue.Issuer.revoke_group`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from appliance.batch.columns import fold
from appliance.batch.read import Table
from appliance.batch.validate import RowError
from appliance.errors import ApplianceError, InvalidInput

UVCI_HEADERS = {fold(h) for h in ("uvci", "ci", "zertifikatkennung", "zertifikat_id", "certificate_id",
                                  "unique_certificate_identifier")}
REASON = re.compile(r"[A-Za-z0-9_.-]{1,40}")
_UVCI = re.compile(r"(URN:UVCI:)?01[:/][A-Z]{2}[:/][A-Z0-9/:#]{4,60}", re.I)
GROUP_SIZE = 200


@dataclass
class RevokeResult:
    revoked: int = 0
    replayed: int = 0
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0


def check_reason(code: str) -> str:
    code = (code or "").strip()
    if not REASON.fullmatch(code):
        raise InvalidInput({"--reason": "give a short code (1 to 40 letters, digits, _ . -), e.g. issued_in_error, "
                                        "duplicate, fraud; no personal data"})
    return code


def uvcis_of(table: Table) -> tuple[list[tuple[int, str]], list[RowError]]:
    """(row, UVCI) pairs of the list and the problems of its rows."""
    column = next((i for i, h in enumerate(table.headers) if fold(h) in UVCI_HEADERS), None)
    rows = list(table.rows)
    if column is None:
        if len(table.headers) == 1 and _UVCI.fullmatch(table.headers[0].strip()):
            rows.insert(0, (rows[0][0] - 1 if rows else 1, [table.headers[0]]))   # no header: the first line is data
            column = 0
        else:
            raise InvalidInput({"columns": "the list has no uvci column (uvci, ci, Zertifikatkennung); add that header"})
    items, errors, seen = [], [], {}
    header = table.headers[column] if column < len(table.headers) else "uvci"
    for number, cells in rows:
        value = cells[column].strip() if column < len(cells) else ""
        if number in table.problems:
            en, de = table.problems[number]
            errors.append(RowError(number, "(row)", "", en, de))
        elif not _UVCI.fullmatch(value):
            errors.append(RowError(number, header, value, "is not a UVCI (URN:UVCI:01:DE:...)",
                                   "ist keine Zertifikatkennung (URN:UVCI:01:DE:...)"))
        elif value.upper() in seen:
            errors.append(RowError(number, header, value, f"is already in row {seen[value.upper()]}",
                                   f"steht schon in Zeile {seen[value.upper()]}"))
        else:
            uvci = value.upper() if value.upper().startswith("URN:UVCI:") else "URN:UVCI:" + value.upper()
            seen[value.upper()] = number
            items.append((number, uvci))
    return items, errors


def run_revoke(items: list[tuple[int, str]], *, issuer, batch_id: str, reason: str, operator: str,
               group_size: int = GROUP_SIZE, on_group=None) -> RevokeResult:
    """Revoke every listed UVCI once; problems (unknown, already revoked) become error rows."""
    result = RevokeResult(rows=len(items))
    fraud = reason.lower() == "fraud"
    for start in range(0, len(items), group_size):
        group = items[start:start + group_size]
        outcomes = issuer.revoke_group([(f"revoke:{batch_id}:{uvci}", uvci) for _, uvci in group],
                                       operator=operator, reason=reason, fraud=fraud)
        for (row, uvci), outcome in zip(group, outcomes):
            if isinstance(outcome, ApplianceError):
                message = next(iter(getattr(outcome, "field_errors", {"": str(outcome)}).values()))
                de = {"no certificate with this UVCI was issued on this device":
                      "auf diesem Gerät wurde kein Zertifikat mit dieser Kennung ausgestellt",
                      "this certificate is already revoked": "dieses Zertifikat ist schon widerrufen"}.get(message, message)
                result.errors.append(RowError(row, "uvci", uvci, message, de))
            elif outcome.get("replayed"):
                result.replayed += 1
            else:
                result.revoked += 1
        if on_group is not None:
            on_group(start + len(group), len(items))
    return result
