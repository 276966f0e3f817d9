"""Check every row before anything is signed, and report every problem at once.

Each row goes through the same checks as a certificate typed on the tablet
(:func:`appliance.dcc.form.parse_input`, after :mod:`appliance.batch.rows` has read its
cells). Then duplicates: the same person (standardised names and birth date) with the
same dose (test: the same sample time, recovery: the same first positive test) twice in
the file (the later row is reported), or already in the journal from an earlier
certificate (reported, not issued twice). A row whose identity is already journaled
(this batch was run before) is not a duplicate: it is reproduced from the journal.

Pure apart from the journal it is handed; ``now`` and the time zone are arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable
from zoneinfo import ZoneInfo

from appliance.batch import rows
from appliance.batch.columns import ColumnMap, Mapping, resolve
from appliance.batch.read import Table
from appliance.dcc import form
from appliance.dcc.model import SECTIONS, IssueRequest
from appliance.errors import InvalidInput
from appliance.journal.journal import person_key


@dataclass(frozen=True)
class RowItem:
    """A valid row: what to sign and where its letter goes."""

    row: int
    key: str                  #: the row identity, the journal entry's idempotency key
    request: IssueRequest
    address: dict

    @property
    def sort_key(self) -> tuple:
        postal = self.address.get("postal_code", "")
        p = self.request.person
        return (0 if postal else 1, postal, self.address.get("city", ""), p.family_name_std, p.given_name_std, self.row)


@dataclass(frozen=True)
class RowError:
    """One problem: the row, the column as the file names it, the value as typed, what is wrong."""

    row: int
    column: str
    value: str
    en: str
    de: str


@dataclass
class Validation:
    type: str
    batch_id: str
    rows: int                                   #: data rows read
    items: list[RowItem] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    duplicates: int = 0
    already: int = 0                            #: valid rows already journaled by an earlier run
    columns: ColumnMap | None = None

    @property
    def invalid_rows(self) -> list[int]:
        return sorted({e.row for e in self.errors})


def _dose_of(type_: str, event: dict) -> str:
    if type_ == "v":
        return str(event.get("dose_number"))
    if type_ == "t":
        moment = event.get("sample_time")
        return moment.isoformat() if hasattr(moment, "isoformat") else str(moment)
    day = event.get("first_positive")
    return day.isoformat() if hasattr(day, "isoformat") else str(day)


def _dose_of_record(type_: str, record) -> str | None:
    if record.type != type_ or record.revoked or not record.personal:
        return None
    entry = (record.personal.get("dcc", {}).get(type_) or [{}])[0]
    if type_ == "v":
        return str(entry.get("dn"))
    if type_ == "t":
        sc = entry.get("sc", "")
        try:
            return datetime.fromisoformat(sc.replace("Z", "+00:00")).isoformat()
        except ValueError:
            return sc
    return entry.get("fr")


def _personal(req: IssueRequest) -> dict:
    p = req.person
    return {"family_name_std": p.family_name_std, "given_name_std": p.given_name_std, "date_of_birth": p.date_of_birth}


def _column_of(path: str, type_: str, columns: ColumnMap) -> str:
    """The file's column for a form path (``vaccination.date`` -> ``Impfdatum``)."""
    name = path.split(".", 1)[1] if path.startswith(SECTIONS[type_] + ".") else path
    if name.endswith("_standardised") and name not in columns.index:
        name = name[: -len("_standardised")]
    if name in ("dose_number", "total_doses") and name not in columns.index:
        name = "dose"
    if name == "input":
        return "(row)"
    return columns.header(name)


def validate(table: Table, type_: str, mapping: Mapping, *, batch_id: str, device, now: datetime,
             tz: ZoneInfo, journal, german: Callable[[str], str] = lambda m: m) -> Validation:
    """Check every row of ``table``; ``german`` translates the form's English field messages."""
    columns = resolve(table.headers, type_, mapping)
    result = Validation(type=type_, batch_id=batch_id, rows=len(table.rows), columns=columns)
    candidates: list[RowItem] = []
    today = now.astimezone(tz).date()
    for number, cells in table.rows:
        if number in table.problems:
            en, de = table.problems[number]
            result.errors.append(RowError(number, "(row)", "", en, de))
            continue
        by_field = rows.cells_of(cells, columns)
        data, address, cell_errors = rows.to_input(by_field, type_, mapping, today=today, tz=tz)
        errors = [RowError(number, columns.header(e.field), by_field.get(e.field, ""), e.en, e.de) for e in cell_errors]
        failed = {e.field for e in cell_errors}
        try:
            req = form.parse_input(data, type=type_, device=device, now=now)
        except InvalidInput as exc:
            for path, message in exc.field_errors.items():
                column = _column_of(path, type_, columns)
                field_name = next((f for f, i in columns.index.items() if columns.headers[i] == column), column)
                if field_name in failed:
                    continue      # already reported as unreadable
                errors.append(RowError(number, column, by_field.get(field_name, ""), message, german(message)))
            req = None
        if errors or req is None:
            result.errors.extend(errors)
            continue
        candidates.append(RowItem(row=number, key=rows.row_key(batch_id, req, address), request=req, address=address))
    _duplicates(result, candidates, journal, columns)
    return result


def _duplicates(result: Validation, candidates: list[RowItem], journal, columns: ColumnMap) -> None:
    type_ = result.type
    done = journal.by_idempotency_keys(item.key for item in candidates) if candidates else {}
    fresh = [item for item in candidates if item.key not in done]
    known = journal.people(person_key(_personal(item.request)) for item in fresh) if fresh else {}
    seen: dict[tuple[str, str], int] = {}
    name_column = columns.header("family_name")
    for item in candidates:
        who = person_key(_personal(item.request))
        dose = _dose_of(type_, item.request.event)
        what = f"{who}|{dose}"
        first = seen.get(what)
        if first is not None:
            result.duplicates += 1
            result.errors.append(RowError(item.row, name_column, item.request.person.family_name,
                                          f"the same person with the same dose is already in row {first}; "
                                          "this row is not issued",
                                          f"dieselbe Person mit derselben Dosis steht schon in Zeile {first}; "
                                          "diese Zeile wird nicht ausgestellt"))
            continue
        seen[what] = item.row
        if item.key in done:
            result.already += 1
            result.items.append(item)
            continue
        earlier = next((r for r in known.get(who, []) if _dose_of_record(type_, r) == dose), None)
        if earlier is not None:
            result.duplicates += 1
            result.errors.append(RowError(item.row, name_column, item.request.person.family_name,
                                          f"this person already has a certificate for this dose ({earlier.uvci}, "
                                          f"{earlier.issued_at:%Y-%m-%d}); not issued twice",
                                          f"diese Person hat für diese Dosis schon ein Zertifikat ({earlier.uvci}, "
                                          f"{earlier.issued_at:%d.%m.%Y}); nicht doppelt ausgestellt"))
            continue
        result.items.append(item)
    result.errors.sort(key=lambda e: (e.row, e.column))
