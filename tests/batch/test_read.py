"""Reading lists as centres have them: 1,000 rows in each encoding and delimiter, and an XLSX; the error
report names exactly the planted bad rows."""

from __future__ import annotations

import pytest

from appliance.batch import read, reports
from appliance.batch.columns import Mapping, parse_map, resolve
from appliance.batch.rows import parse_date, parse_dose, parse_product
from appliance.errors import InvalidInput
from tests.batch import lists

N = 1000


@pytest.fixture(scope="module")
def planted_list():
    return lists.vaccination_rows(N, bad_every=97)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
@pytest.mark.parametrize("delimiter", [";", ","])
def test_every_encoding_and_delimiter_gives_the_same_rows(planted_list, encoding, delimiter):
    rows, _ = planted_list
    table = read.parse_bytes(lists.csv_bytes(rows, encoding=encoding, delimiter=delimiter), "list.csv")
    assert table.kind == "csv" and table.delimiter == delimiter
    assert table.encoding == {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "cp1252": "cp1252"}[encoding]
    assert table.headers == lists.HEADER
    assert [cells for _, cells in table.rows] == rows          # umlauts, ß, quotes and commas intact
    assert [n for n, _ in table.rows] == list(range(2, N + 2))
    assert not table.problems


def test_xlsx_gives_the_same_rows(planted_list):
    rows, _ = planted_list
    table = read.parse_bytes(lists.xlsx_bytes(rows), "list.xlsx")
    assert table.kind == "xlsx" and table.headers == lists.HEADER
    assert [cells for _, cells in table.rows] == rows


@pytest.mark.parametrize("kind", ["csv-cp1252-comma", "xlsx"])
def test_error_report_names_exactly_the_planted_rows(batch, planted_list, kind, tmp_path):
    rows, planted = planted_list
    data = lists.xlsx_bytes(rows) if kind == "xlsx" else lists.csv_bytes(rows, encoding="cp1252", delimiter=",")
    prepared, _ = batch(data, name=f"list.{kind[:4]}", sign=False)
    v = prepared.validation
    assert set(v.invalid_rows) == set(planted)
    assert len(v.items) == N - len(planted)
    assert v.duplicates == sum(1 for k in planted.values() if k == "duplicate")
    report = reports.read_manifest(prepared.out / "errors.csv")
    assert {int(line["row"]) for line in report} == set(planted)
    by_row = {int(line["row"]): line for line in report}
    for row, kind_ in planted.items():
        column = lists.BAD[kind_][0] if kind_ in lists.BAD else "Nachname"
        assert by_row[row]["column"] == column, (row, kind_, by_row[row])
        assert by_row[row]["fehler"] and by_row[row]["error"]
    formula = next(line for line in report if planted[int(line["row"])] == "formula")
    assert formula["value"].startswith("'=HYPERLINK(")            # escaped: shown as text, never evaluated
    assert "formula" in formula["error"] and "formel" in formula["fehler"].lower()


def test_dates_products_and_doses():
    from datetime import date
    today = date(2026, 11, 28)
    assert parse_date("17.05.1980", birth=True, today=today) == "1980-05-17"
    assert parse_date("7.5.1980", birth=True, today=today) == "1980-05-07"
    assert parse_date("1980-05-17", birth=True, today=today) == "1980-05-17"
    assert parse_date("01.02.15", birth=True, today=today) == "2015-02-01"
    assert parse_date("01.02.64", birth=True, today=today) == "1964-02-01"
    assert parse_date("01.12.26", birth=True, today=today) == "1926-12-01"          # 2026-12-01 is after today
    assert parse_date("01.02.20", birth=True, today=today, pivot=10) == "1920-02-01"
    assert parse_date("20.11.26", birth=False, today=today) == "2026-11-20"
    assert parse_date("1980", birth=True, today=today) == "1980"
    with pytest.raises(ValueError):
        parse_date("31.02.1980", birth=True, today=today)
    with pytest.raises(ValueError):
        parse_date("05/17/1980", birth=True, today=today)
    m = Mapping(products={"bnt-erw": "EU/1/20/1528"})
    for text in ("Comirnaty", "BioNTech", "biontech/pfizer", "eu/1/20/1528", "BNT-Erw", "Comirnaty Original/Omicron"):
        assert parse_product(text, m) == "EU/1/20/1528", text
    assert parse_product("Moderna", m) == parse_product("Spikevax", m) == "EU/1/20/1507"
    assert parse_dose("2/2", "", None) == (2, 2) and parse_dose("2 von 2", "", None) == (2, 2)
    assert parse_dose("1", "", "EU/1/20/1528") == (1, 2) and parse_dose("3", "", "EU/1/20/1528") == (3, 3)
    assert parse_dose("2", "", "EU/1/20/1525") == (2, 1) and parse_dose("2", "3", None) == (2, 3)


def test_headers_in_german_english_and_through_the_map():
    cols = resolve(["Name", "Vorname", "Geburtsdatum", "Produkt", "Dosis", "Impfdatum", "PLZ", "Ort", "Straße", "Notiz"],
                   "v", Mapping())
    assert set(cols.index) == {"family_name", "given_name", "date_of_birth", "product", "dose", "date", "postal_code",
                               "city", "street"}
    assert cols.ignored == ["Notiz"]
    cols = resolve(["family_name", "given_name", "date_of_birth", "vaccine", "dose_number", "total_doses",
                    "vaccination_date"], "v", Mapping())
    assert {"product", "dose_number", "total_doses", "date"} <= set(cols.index)
    mapping = parse_map(b'[columns]\n"Pat. Zuname" = "family_name"\n"Geb" = "date_of_birth"\n'
                        b'[products]\n"BNT" = "EU/1/20/1528"\n[dates]\ncentury_pivot = 25\n')
    cols = resolve(["Pat. Zuname", "Geb", "Impfstoff", "Dosis", "Impfdatum"], "v", mapping)
    assert cols.index["family_name"] == 0 and mapping.products == {"bnt": "EU/1/20/1528"}


def test_missing_columns_are_named():
    with pytest.raises(InvalidInput) as err:
        resolve(["Nachname", "Vorname", "Impfdatum"], "v", Mapping())
    message = err.value.field_errors["columns"]
    assert "date_of_birth" in message and "product" in message and "dose" in message


@pytest.mark.parametrize("raw, words", [
    (b"%PDF-1.7 \x00\x01", "PDF"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), ".xls"),
    (b"PK\x03\x04" + bytes(50), "not an Excel workbook"),
    (b"\x7fELF\x02\x01\x01\x00\x00\x00", "binary"),
    ("Nachname;Vorname\nMüller;Jürgen\n".encode() + "Schäfer;Bärbel\n".encode("cp1252"), "mixes encodings"),
    (b"\xef\xbb\xbfNachname;Vorname\nM\xfcller;J\xfcrgen\n", "BOM"),
    (b"Nachname Vorname Geburtsdatum\nMueller Juergen 1980\n", "one column"),
    (b"", "empty"),
])
def test_files_that_are_not_lists_are_refused_clearly(raw, words):
    with pytest.raises(InvalidInput) as err:
        read.parse_bytes(raw, "upload.csv")
    assert words in str(err.value)
    assert "upload.csv" in str(err.value)


def test_rows_of_the_wrong_length_are_row_problems():
    table = read.parse_bytes(b"a;b;c\n1;2;3\n1;2\n1;2;3;4\n1;2;3;;\n", "l.csv")
    assert set(table.problems) == {3, 4}
    assert "has 2 cells" in table.problems[3][0] and "Zellen" in table.problems[3][1]


def test_cells_written_back_are_escaped():
    assert reports.escape_cell("=1+1") == "'=1+1"
    assert reports.escape_cell("@SUM(A1)") == "'@SUM(A1)"
    assert reports.escape_cell("-2+3") == "'-2+3"
    assert reports.escape_cell("\t=x") == "'\t=x"
    assert reports.escape_cell("Müller") == "Müller"
    text = reports.csv_text(["a"], [["=cmd|' /C calc'!A0"]])
    assert "'=cmd" in text
