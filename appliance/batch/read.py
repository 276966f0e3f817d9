"""Read a centre's list: CSV (UTF-8, UTF-8 with BOM, Windows-1252; ``;``, ``,`` or tab) or XLSX.

The kind comes from the bytes, not the name: a ZIP that holds a workbook is XLSX (through
openpyxl, first sheet, formulas kept as their text so that they are refused, not run),
old ``.xls``, PDF and other binary files are refused with a message that says what to
save instead. CSV text is UTF-8 (with or without BOM) when it decodes as UTF-8, else
Windows-1252, which is what German Excel writes; a file that mixes both is refused.
The delimiter is the one of ``;``, ``,`` and tab that the header line holds most often.

Rows are numbered as a spreadsheet shows them (the header is row 1). Blank rows are
skipped; a row with more or fewer cells than the header is kept as a row problem, so it
is reported with the others and never signed.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

from appliance.errors import InvalidInput

MAX_BYTES = 64 * 1024 * 1024
MAX_ROWS = 200_000
MAX_CELL = 1000
DELIMITERS = (";", ",", "\t")
_UTF8_PAIR = re.compile(rb"[\xc2-\xf4][\x80-\xbf]")


@dataclass
class Table:
    """The file's header and data rows, as text cells."""

    headers: list[str]
    rows: list[tuple[int, list[str]]]                 #: (row number, cells)
    kind: str                                         #: "csv" or "xlsx"
    encoding: str = ""
    delimiter: str = ""
    problems: dict[int, tuple[str, str]] = field(default_factory=dict)  #: row -> (English, German): its shape is wrong


def read_table(path: str | Path, *, name: str | None = None, min_columns: int = 2) -> Table:
    """Read ``path`` (``name`` is what messages call it, e.g. the uploaded file's name)."""
    path, label = Path(path), name or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InvalidInput({"input": f"{label} is larger than {MAX_BYTES // 2**20} MB; split the list"})
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InvalidInput({"input": f"file not found: {label}"}) from None
    except IsADirectoryError:
        raise InvalidInput({"input": f"{label} is a folder, not a CSV or XLSX file"}) from None
    except OSError as exc:
        raise InvalidInput({"input": f"cannot read {label}: {exc.strerror}"}) from None
    return parse_bytes(raw, label, min_columns=min_columns)


def parse_bytes(raw: bytes, label: str, *, min_columns: int = 2) -> Table:
    """The table in ``raw`` (the bytes of a CSV or XLSX file)."""
    if raw.startswith(b"PK\x03\x04"):
        return _xlsx(raw, label)
    if raw.startswith(b"\xd0\xcf\x11\xe0"):
        raise InvalidInput({"input": f"{label} is an old Excel .xls file; save it as .xlsx or as CSV"})
    if raw.startswith(b"%PDF"):
        raise InvalidInput({"input": f"{label} is a PDF, not a list; export the list as CSV or XLSX"})
    text, encoding = _decode(raw, label)
    return _csv(text, label, encoding, min_columns)


def _decode(raw: bytes, label: str) -> tuple[str, str]:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise InvalidInput({"input": f"{label} starts like UTF-16 text but is damaged; save it as CSV UTF-8"}) from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw, bom = raw[3:], True
    else:
        bom = False
    if b"\x00" in raw:
        line = raw[:raw.index(b"\x00")].count(b"\n") + 1
        raise InvalidInput({"input": f"{label} is a binary file (a zero byte in line {line}), not CSV or XLSX; "
                                     "export the list as CSV or XLSX"})
    try:
        return raw.decode("utf-8"), "utf-8-sig" if bom else "utf-8"
    except UnicodeDecodeError as exc:
        if bom:
            line = raw[:exc.start].count(b"\n") + 1
            raise InvalidInput({"input": f"{label} says it is UTF-8 (it starts with a BOM) but line {line} is not "
                                         "UTF-8; save it again as CSV UTF-8"}) from None
        bad_at = exc.start
    mixed = _UTF8_PAIR.search(raw)
    if mixed:
        line = raw[:mixed.start()].count(b"\n") + 1
        bad_line = raw[:bad_at].count(b"\n") + 1
        raise InvalidInput({"input": f"{label} mixes encodings: line {line} is UTF-8 but line {bad_line} is not; "
                                     "save the whole file again as CSV UTF-8"})
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise InvalidInput({"input": f"{label} is neither UTF-8 nor Windows-1252 (byte 0x{raw[exc.start]:02X} in "
                                     f"line {line}); save it as CSV UTF-8"}) from None


def _delimiter(header_line: str) -> str:
    counts = {d: 0 for d in DELIMITERS}
    quoted = False
    for ch in header_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ";"


def _csv(text: str, label: str, encoding: str, min_columns: int) -> Table:
    lines = text.lstrip("\r\n").splitlines()
    first = next((line for line in lines if line.strip()), "")
    delimiter = _delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', strict=False)
    try:
        records = [rec for rec in reader]
    except csv.Error as exc:
        raise InvalidInput({"input": f"{label}: line {reader.line_num} is not valid CSV ({exc}); check the quotes"}) from None
    return _table(records, label, "csv", encoding, delimiter, min_columns)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xlsx(raw: bytes, label: str) -> Table:
    import openpyxl  # lazy: openpyxl takes ~150 ms to import and only XLSX needs it
    # lazy: openpyxl takes ~150 ms to import and only XLSX needs it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=False)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError):
        raise InvalidInput({"input": f"{label} is a ZIP file but not an Excel workbook (.xlsx); "
                                     "export the list as CSV or XLSX"}) from None
    try:
        sheet = book.worksheets[0]
        records = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
    return _table(records, label, "xlsx", "", "", 2)


def _table(records: list[list[str]], label: str, kind: str, encoding: str, delimiter: str, min_columns: int) -> Table:
    numbered = [(i + 1, rec) for i, rec in enumerate(records) if any(c.strip() for c in rec)]
    if not numbered:
        raise InvalidInput({"input": f"{label} is empty: no header row and no data"})
    header_no, headers = numbered[0]
    while headers and not headers[-1].strip():
        headers = headers[:-1]
    headers = [h.strip().lstrip("\ufeff") for h in headers]
    if len(headers) < min_columns:
        raise InvalidInput({"input": f"{label}: row {header_no} (the header) has one column only; a list needs "
                                     "columns separated by ; or , (or an XLSX sheet)"})
    if len(numbered) - 1 > MAX_ROWS:
        raise InvalidInput({"input": f"{label} has more than {MAX_ROWS} rows; split the list"})
    table = Table(headers=headers, rows=[], kind=kind, encoding=encoding, delimiter=delimiter)
    width = len(headers)
    for number, cells in numbered[1:]:
        cells = [c[:MAX_CELL] for c in cells]
        if len(cells) > width and not any(c.strip() for c in cells[width:]):
            cells = cells[:width]            # trailing empty cells (Excel, ; at the line end)
        if len(cells) != width and not (kind == "xlsx" and len(cells) < width):
            table.problems[number] = (f"has {len(cells)} cells but the header has {width}; "
                                      "check for a missing or extra delimiter in this row",
                                      f"hat {len(cells)} Zellen, die Kopfzeile aber {width}; "
                                      "fehlt in dieser Zeile ein Trennzeichen oder ist eines zu viel?")
        cells = cells + [""] * (width - len(cells))
        table.rows.append((number, cells))
    return table
