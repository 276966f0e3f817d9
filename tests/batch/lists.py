"""Vaccination lists as centres export them, with planted bad rows (not a test module).

Every generated person is unique (the birth date moves 9 days per row), so the only
duplicates are the planted ones. ``BAD`` maps a kind of planted problem to the cells it
changes; :func:`vaccination_rows` returns the rows and the spreadsheet row numbers of
the planted ones (the header is row 1).
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path

HEADER = ["Nachname", "Vorname", "Geb.-Datum", "Impfstoff", "Dosis", "Impfdatum", "Straße", "PLZ", "Ort"]
FAMILY = ["Müller", "Schäfer", "von der Heide", "Groß-Weißenbach", "Öztürk", "Jäger", "de Vries", "Mäurer",
          "Weiß", "Krüger-Lüdenscheidt", "zu Löwenstein", "Schmidt"]
GIVEN = ["Jürgen", "Anna-Lena", "Özlem", "Hans Peter", "Bärbel", "Matthias", "Zoë", "Grete"]
PRODUCTS = [("Comirnaty", "2/2"), ("BioNTech", "1/2"), ("Spikevax", "3/3"), ("Moderna", "2/2"),
            ("EU/1/20/1528", "3/3"), ("Jcovden", "1/1"), ("Vaxzevria", "2/2"), ("Nuvaxovid", "1/2")]
CITIES = [("46236", "Bottrop"), ("45127", "Essen"), ("48143", "Münster"), ("33602", "Bielefeld"), ("01067", "Dresden")]

#: planted problem -> (column changed, value)
BAD = {
    "date": ("Geb.-Datum", "31.02.1980"),
    "product": ("Impfstoff", "Sputnik-X"),
    "formula": ("Nachname", '=HYPERLINK("http://evil.example","Klick")'),
    "dose": ("Dosis", "7/2"),
    "future": ("Impfdatum", "01.01.2031"),
    "empty": ("Nachname", ""),
}


def person_row(i: int) -> list[str]:
    family, given = FAMILY[i % len(FAMILY)], GIVEN[i % len(GIVEN)]
    born = date(1930, 1, 1) + timedelta(days=9 * i)
    product, dose = PRODUCTS[i % len(PRODUCTS)]
    vaccinated = date(2026, 3, 1) + timedelta(days=i % 200)
    plz, city = CITIES[i % len(CITIES)]
    return [family, given, born.strftime("%d.%m.%Y"), product, dose, vaccinated.strftime("%d.%m.%Y"),
            f"Hauptstraße {i % 90 + 1}", plz, city]


def vaccination_rows(n: int, *, bad_every: int = 0) -> tuple[list[list[str]], dict[int, str]]:
    """``n`` data rows; with ``bad_every`` one row in that many is planted bad (kinds in turn, and a
    duplicate of the row before). Returns (rows, {spreadsheet row number: kind})."""
    rows, planted = [], {}
    kinds = [*BAD, "duplicate"]
    for i in range(n):
        row = person_row(i)
        if bad_every and i % bad_every == bad_every - 1:
            kind = kinds[(i // bad_every) % len(kinds)]
            if kind == "duplicate":
                row = list(rows[-1])
            else:
                column, value = BAD[kind]
                row[HEADER.index(column)] = value
            planted[i + 2] = kind
        rows.append(row)
    return rows, planted


def csv_bytes(rows: list[list[str]], *, encoding: str = "utf-8", delimiter: str = ";", header=HEADER) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[str]], header=HEADER) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
