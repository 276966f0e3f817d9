"""``errors.csv`` and ``manifest.csv``: what a centre opens in a spreadsheet.

Both are UTF-8 with BOM and ``;`` between columns, so German Excel opens them with the
umlauts right. Every cell is escaped against spreadsheet formula injection (OWASP "CSV
injection"): a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
(or their full-width forms) gets a leading apostrophe, so the spreadsheet shows it as text.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Iterable

from appliance.batch.validate import RowError

BOM = "\ufeff"
DANGEROUS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
ERROR_HEADER = ("row", "column", "value", "fehler", "error")
MANIFEST_HEADER = ("row", "uvci", "file", "page", "postal_code")


def escape_cell(value: object) -> str:
    """A cell that a spreadsheet shows as text, never evaluates."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(DANGEROUS) else text


def csv_text(header: Iterable[str], rows: Iterable[Iterable[object]], *, bom: bool = True) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([escape_cell(v) for v in row] for row in rows)
    return (BOM if bom else "") + buf.getvalue()


def errors_csv(errors: Iterable[RowError]) -> bytes:
    """The error report: row, column, value as typed, what is wrong in German and in English."""
    return csv_text(ERROR_HEADER, ((e.row, e.column, e.value, e.de, e.en) for e in errors)).encode("utf-8")


class Manifest:
    """``manifest.csv``, appended one group at a time, each group flushed to disk (fsync) before
    the next is signed: a line exists only for a row whose journal group is durable."""

    def __init__(self, path: Path):
        self.path = path
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._fh = os.fdopen(fd, "w", encoding="utf-8", newline="")
        self._fh.write(csv_text(MANIFEST_HEADER, []))
        self._sync()

    def add(self, lines: Iterable[tuple[int, str, str, int, str]]) -> None:
        """Append (row, uvci, file, page, postal code) lines and make them durable."""
        self._fh.write(csv_text(MANIFEST_HEADER, lines, bom=False).split("\r\n", 1)[1])
        self._sync()

    def _sync(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()


def read_manifest(path: Path) -> list[dict]:
    """A report's lines (manifest.csv, errors.csv) as dicts."""
    return read_manifest_text(path.read_text(encoding="utf-8-sig"))


def read_manifest_text(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text.lstrip(BOM)), delimiter=";"))
