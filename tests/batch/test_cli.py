"""``appliance batch issue | revoke | status | purge`` as real processes: confirmation, exit codes,
one-line errors that name the row and column, never a traceback; exactly-once revocation."""

from __future__ import annotations

import json

import pytest

from appliance.batch import reports
from appliance.journal.journal import Journal
from tests.batch import lists
from tests.support.cli import run_appliance


def _issue(env, source, out, *extra):
    return run_appliance("batch", "issue", "--type", "v", "--input", source, "--out", out, *extra, env=env)


def test_nothing_is_signed_without_confirmation_then_yes_signs_once(cli_env, state_dir, tmp_path):
    rows, _ = lists.vaccination_rows(12)
    source = lists.write(tmp_path / "l.xlsx", lists.xlsx_bytes(rows))
    r = _issue(cli_env, source, tmp_path / "out")
    assert r.returncode == 0 and "12 valid" in r.stdout and "--yes" in r.stderr
    with Journal.open(state_dir / "journal.sqlite") as j:
        assert not [e for e in j.entries() if e["kind"] == "issued"]
    assert (tmp_path / "out" / "errors.csv").exists() and not list((tmp_path / "out").glob("letters-*.pdf"))
    r = _issue(cli_env, source, tmp_path / "out", "--yes", "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["issued"] == 12 and summary["letters"] == 12 and summary["files"] == ["letters-0001.pdf"]
    r = _issue(cli_env, source, tmp_path / "out", "--yes", "--json")
    assert json.loads(r.stdout)["issued"] == 0 and json.loads(r.stdout)["reproduced"] == 12
    status = run_appliance("batch", "status", "--json", env=cli_env)
    (meta,) = json.loads(status.stdout)
    assert meta["id"] == summary["batch"] and meta["state"] == "done" and meta["counts"]["letters"] == 12
    table = run_appliance("batch", "status", env=cli_env)
    assert summary["batch"] in table.stdout and "done" in table.stdout

    purge = run_appliance("batch", "purge", summary["batch"], env=cli_env)
    assert purge.returncode == 0, purge.stderr
    assert not (state_dir / "batches" / summary["batch"]).exists() and not (tmp_path / "out").exists()
    assert json.loads(run_appliance("batch", "status", "--json", env=cli_env).stdout) == []


@pytest.mark.parametrize("content, words", [
    (b"%PDF-1.4\n...", "PDF"),
    (b"Nachname;Vorname;Impfdatum\nM\xfcller;J\xfcrgen;20.11.2026\n", "required column(s) missing"),
    ("Nachname;Vorname\nMüller;Jürgen\n".encode() + "Weiß;Bärbel\n".encode("cp1252"), "mixes encodings"),
    (bytes(range(256)) * 4, "binary"),
])
def test_bad_files_get_one_clear_line(cli_env, tmp_path, content, words):
    source = lists.write(tmp_path / "list.csv", content)
    r = _issue(cli_env, source, tmp_path / "out", "--yes")
    assert r.returncode == 1
    assert "Traceback" not in r.stderr and words in r.stderr
    assert r.stderr.startswith("appliance: error:") and len(r.stderr.strip().splitlines()) == 1


def test_bad_rows_name_row_and_column_and_are_escaped(cli_env, tmp_path):
    rows, _ = lists.vaccination_rows(4)
    rows[1][0] = '=HYPERLINK("http://evil.example","Klick")'
    rows[2] = rows[2][:5]                        # a row of the wrong length
    source = lists.write(tmp_path / "l.csv", lists.csv_bytes(rows, delimiter=","))
    r = _issue(cli_env, source, tmp_path / "out", "--yes")
    assert r.returncode == 1 and "Traceback" not in r.stderr and "2 row(s) not issued" in r.stderr
    report = {int(e["row"]): e for e in reports.read_manifest(tmp_path / "out" / "errors.csv")}
    assert set(report) == {3, 4}
    assert report[3]["column"] == "Nachname" and report[3]["value"].startswith("'=HYPERLINK")
    assert report[4]["column"] == "(row)" and "5 cells" in report[4]["error"]
    assert {int(m["row"]) for m in reports.read_manifest(tmp_path / "out" / "manifest.csv")} == {2, 5}


def test_an_out_folder_of_another_batch_is_refused(cli_env, tmp_path):
    a, _ = lists.vaccination_rows(2)
    _issue(cli_env, lists.write(tmp_path / "a.csv", lists.csv_bytes(a)), tmp_path / "out")
    r = _issue(cli_env, lists.write(tmp_path / "b.csv", lists.csv_bytes(a[:1])), tmp_path / "out")
    assert r.returncode == 2 and "holds the outputs of batch" in r.stderr


def test_bulk_revocation_is_exactly_once(cli_env, state_dir, tmp_path):
    rows, _ = lists.vaccination_rows(6)
    r = _issue(cli_env, lists.write(tmp_path / "l.csv", lists.csv_bytes(rows)), tmp_path / "out", "--yes")
    assert r.returncode == 0, r.stderr
    uvcis = [m["uvci"] for m in reports.read_manifest(tmp_path / "out" / "manifest.csv")]
    listing = "uvci\n" + "\n".join(uvcis[:4]) + "\nURN:UVCI:01:DE:NOWHERE/1#X\nnot-a-uvci\n" + uvcis[0] + "\n"
    source = lists.write(tmp_path / "revoke.csv", listing.encode())
    first = run_appliance("batch", "revoke", "--input", source, "--reason", "issued_in_error",
                          "--out", tmp_path / "rev", env=cli_env)
    assert first.returncode == 1 and "revoked 4," in first.stdout and "Traceback" not in first.stderr
    report = {int(e["row"]): e for e in reports.read_manifest(tmp_path / "rev" / "errors.csv")}
    assert set(report) == {6, 7, 8}            # unknown UVCI, not a UVCI, listed twice
    second = run_appliance("batch", "revoke", "--input", source, "--reason", "issued_in_error",
                           "--out", tmp_path / "rev", env=cli_env)
    assert "revoked 0, already revoked by this batch 4" in second.stdout
    with Journal.open(state_dir / "journal.sqlite") as j:
        revoked = [e for e in j.entries() if e["kind"] == "revoked"]
        assert sorted(e["uvci"] for e in revoked) == sorted(uvcis[:4])
        assert all(e["data"] == {"reason": "issued_in_error", "fraud": False} for e in revoked)
        assert j.verify() is None
    bad = run_appliance("batch", "revoke", "--input", source, "--reason", "Herr Müller hat sich beschwert", env=cli_env)
    assert bad.returncode == 1 and "--reason" in bad.stderr
