"""Letters: every page's QR decoded from pdftoppm's rendering and verified, pdftotext finds the name and
the UVCI on the right page, fonts embedded, files sorted by postal code, outputs reproduced exactly."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from appliance.batch import reports
from appliance.dcc import verify
from tests.batch import lists
from tests.support.toolcheck import require

DPI = 110
N = 30
PER_FILE = 12


@pytest.fixture(autouse=True)
def _poppler():
    require(shutil.which("pdftoppm") is not None and shutil.which("pdftotext") is not None,
            "poppler-utils (pdftoppm, pdftotext) is not installed")


def _pages(pdf: Path, folder: Path) -> list[Path]:
    folder.mkdir()
    subprocess.run(["pdftoppm", "-r", str(DPI), "-gray", "-aa", "no", "-aaVector", "no", "-png", str(pdf),
                    str(folder / "p")], check=True)
    return sorted(folder.glob("p-*.png"))


def _texts(pdf: Path) -> list[str]:
    """The text of every page (pdftotext ends each page with a form feed)."""
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return out.split("\f")


@pytest.fixture(scope="module")
def rows():
    data, _ = lists.vaccination_rows(N)
    for row in data[-3:]:
        row[6:9] = ["", "", ""]          # no address: the letter has no window block
    return data


def test_every_letter_decodes_verifies_and_names_its_person(batch, rows, journal, software_signer, clock, tmp_path):
    prepared, result = batch(lists.csv_bytes(rows), per_file=PER_FILE, workers=2)
    assert result.issued == N and result.reproduced == 0 and not result.errors
    assert result.files == ["letters-0001.pdf", "letters-0002.pdf", "letters-0003.pdf"]
    out = prepared.out
    manifest = reports.read_manifest(out / "manifest.csv")
    assert sorted(int(m["row"]) for m in manifest) == list(range(2, N + 2))
    postal = [m["postal_code"] for m in manifest]
    with_address = [p for p in postal if p]
    assert with_address == sorted(with_address) and postal[-3:] == ["", "", ""]   # letter-shop order
    by_row = {int(m["row"]): m for m in manifest}
    checked = 0
    with ThreadPoolExecutor(4) as pool:   # pdftoppm is one process per file: render the files side by side
        images = dict(zip(result.files, pool.map(lambda n: _pages(out / n, tmp_path / n), result.files)))
    for name in result.files:
        pdf = out / name
        fonts = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout
        assert all(line.split()[-5] == "yes" for line in fonts.splitlines()[2:]), fonts   # every font embedded
        lines = [m for m in manifest if m["file"] == name]
        texts = _texts(pdf)
        for image in images[name]:
            page = int(image.stem.split("-")[1])
            (entry,) = [m for m in lines if int(m["page"]) == page]
            found = zxingcpp.read_barcodes(Image.open(image), formats=zxingcpp.BarcodeFormat.QRCode)
            assert len(found) == 1, f"{name} page {page}: {len(found)} QR codes"
            hc1 = found[0].text
            result_ = verify.verify(hc1, dscs=[software_signer.certificate], at=clock.now())
            assert result_.valid, result_.errors
            assert result_.payload["v"][0]["ci"] == entry["uvci"]
            record = journal.certificate(entry["uvci"])
            assert record.personal["hc1"] == hc1
            pos = found[0].position
            width_mm = (pos.top_right.x - pos.top_left.x) / DPI * 25.4
            assert width_mm >= 50, f"QR only {width_mm:.1f} mm wide"
            assert found[0].ec_level == "Q"
            text = texts[page - 1]
            row = rows[int(entry["row"]) - 2]
            assert entry["uvci"] in text
            assert row[0] in text and row[1] in text                  # family and given name, umlauts intact
            if row[7]:
                assert f"{row[7]} {row[8]}" in text                   # the window address
            checked += 1
    assert checked == N
    assert len(by_row) == N


def test_addresses_stay_out_of_the_journal(batch, rows, journal_path):
    batch(lists.csv_bytes(rows[:5]))
    db = sqlite3.connect(journal_path)
    try:
        blob = " ".join(r[0] for r in db.execute("SELECT json FROM personal"))
        blob += " ".join(r[0] for r in db.execute("SELECT data FROM entries"))
    finally:
        db.close()
    for row in rows[:5]:
        assert row[6] not in blob and row[7] not in blob        # street, postal code
        assert row[0] in blob                                   # names are where single certificates put them


def test_running_the_same_file_again_issues_nothing_and_reproduces_the_outputs(batch, rows, journal, tmp_path):
    data = lists.csv_bytes(rows[:20])
    first, r1 = batch(data, out=tmp_path / "a", per_file=8)
    seq = journal.last_seq()
    second, r2 = batch(data, out=tmp_path / "b", per_file=8)
    assert second.id == first.id and second.validation.already == 20
    assert r2.issued == 0 and r2.reproduced == 20
    assert journal.last_seq() == seq
    for name in [*r1.files, "manifest.csv", "errors.csv"]:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    keys = journal.by_idempotency_keys(item.key for item in first.validation.items)
    assert len(keys) == 20 and all(k.startswith(f"batch:{first.id}:") for k in keys)


def test_the_same_person_and_dose_again_is_reported_not_issued(batch, rows, journal, tmp_path):
    batch(lists.csv_bytes(rows[:3]), out=tmp_path / "a")
    other = [list(r) for r in rows[:3]]
    other[0][5] = "02.09.2026"          # another export: same people, same doses, one date differs
    prepared, result = batch(lists.csv_bytes(other), out=tmp_path / "b")
    assert result.issued == 0
    assert prepared.validation.duplicates == 3 and prepared.validation.invalid_rows == [2, 3, 4]
    report = (tmp_path / "b" / "errors.csv").read_text(encoding="utf-8-sig")
    assert "already has a certificate for this dose" in report and "schon ein Zertifikat" in report
