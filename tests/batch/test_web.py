"""The tablet's bulk issuance (/admin/batch): upload, mapping and preview, confirm, a progress bar that
survives a reload, downloads. Through Flask's test client and in Chromium (Playwright)."""

from __future__ import annotations

import io
import threading
import time

import pytest

from appliance.batch import reports
from appliance.runtime import build_services
from appliance.web import create_app
from tests.batch import lists
from tests.support import browser as chromium_support
from tests.support.web import ADMIN, STAFF, Browser


@pytest.fixture
def services(make_config, clock, software_signer):
    config = make_config({"printer": {"kind": "file"}, "gpio": {"enabled": False}})
    s = build_services(config, clock=clock, signer=software_signer, with_panel=False)
    s.settings.add_user(ADMIN[0], password=ADMIN[1], role="admin")
    s.settings.add_user(STAFF[0], password=STAFF[1], role="staff")
    s.settings.update_centre(name="Impfzentrum Bottrop")
    yield s
    for thread in threading.enumerate():      # a batch still running must finish before the journal closes
        if thread.name.startswith("batch-"):
            thread.join(60)
    s.close()


@pytest.fixture
def app(services):
    app = create_app(services.config, services)
    app.config["TESTING"] = True
    return app


def _wait_done(client, url, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = client.get(url).get_data(as_text=True)
        if 'data-state="done"' in page or 'data-state="failed"' in page:
            return page
        time.sleep(0.2)
    raise AssertionError("the batch did not finish")


def test_upload_preview_confirm_and_download(app, services):
    rows, planted = lists.vaccination_rows(820, bad_every=100)      # 68 KB: above the app's 64 KB form limit
    admin = Browser(app.test_client())
    assert admin.login(*ADMIN).status_code == 302
    assert "/admin/batch/" in admin.get("/admin/").get_data(as_text=True)
    admin.get("/admin/batch/")
    resp = admin.post("/admin/batch/upload", {"type": "v", "list": (io.BytesIO(lists.csv_bytes(rows, encoding="cp1252")),
                                                                    "liste.csv")}, content_type="multipart/form-data")
    assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
    url = resp.location
    page = admin.get(url).get_data(as_text=True)
    assert "Spaltenzuordnung" in page and "Geb.-Datum" in page and "batch-preview" in page
    assert "Jürgen" in page and "Hauptstraße" not in page          # the preview shows no addresses
    assert f'id="count-invalid">{len(planted)}<' in page
    errors = admin.get(url + "/files/errors.csv")
    assert errors.status_code == 200
    assert {int(e["row"]) for e in reports.read_manifest_text(errors.get_data(as_text=True))} == set(planted)
    assert services.journal.last_seq() == 0                       # nothing signed before the confirmation
    rows, planted = lists.vaccination_rows(60, bad_every=30)        # a smaller list to sign
    resp = admin.post("/admin/batch/upload", {"type": "v", "list": (io.BytesIO(lists.csv_bytes(rows)), "klein.csv")},
                      content_type="multipart/form-data")
    url = resp.location
    admin.get(url)
    resp = admin.post(url + "/confirm")
    assert resp.status_code == 303
    page = _wait_done(admin.client, url)
    assert 'data-state="done"' in page and "letters-0001.pdf" in page
    manifest = admin.get(url + "/files/manifest.csv")
    assert len(reports.read_manifest_text(manifest.get_data(as_text=True))) == 60 - len(planted)
    pdf = admin.client.get(url + "/files/letters-0001.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert admin.get(url + "/files/batch.json").status_code == 404
    staff = Browser(app.test_client())
    staff.login(*STAFF)
    assert staff.get("/admin/batch/").status_code == 403


def test_a_file_that_is_not_a_list_is_refused_on_the_page(app):
    admin = Browser(app.test_client())
    admin.login(*ADMIN)
    admin.get("/admin/batch/")
    resp = admin.post("/admin/batch/upload", {"type": "v", "list": (io.BytesIO(b"%PDF-1.4 x"), "scan.pdf")},
                      content_type="multipart/form-data", follow_redirects=True)
    assert "Datei abgelehnt" in resp.get_data(as_text=True) and "PDF" in resp.get_data(as_text=True)


@pytest.fixture
def server(app):
    from waitress import create_server

    srv = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.effective_port}"
    srv.close()
    thread.join(5)


@pytest.mark.browser
def test_upload_flow_in_chromium(server, services, tmp_path):
    from playwright.sync_api import expect

    rows, planted = lists.vaccination_rows(120, bad_every=60)
    source = lists.write(tmp_path / "Impfliste.xlsx", lists.xlsx_bytes(rows))
    with chromium_support.chromium() as b:
        context, page = chromium_support.new_page(b, server)
        page.goto(server + "/login")
        page.get_by_label("Benutzername").fill(ADMIN[0])
        page.get_by_label("Passwort").fill(ADMIN[1])
        page.get_by_role("button", name="Anmelden").click()
        page.wait_for_url(server + "/")
        page.goto(server + "/admin/")
        page.get_by_role("link", name="Sammelausstellung aus einer Liste (CSV/XLSX) mit Briefen").click()
        page.get_by_label("Zertifikatsart").select_option("v")
        page.get_by_label("Liste (CSV oder XLSX)").set_input_files(str(source))
        page.get_by_role("button", name="Liste prüfen").click()
        page.wait_for_url("**/admin/batch/*")
        expect(page.locator("#batch-mapping")).to_contain_text("Geb.-Datum")
        expect(page.locator("#batch-preview")).to_contain_text(rows[0][0])
        expect(page.locator("#count-invalid")).to_have_text(str(len(planted)))
        assert services.journal.last_seq() == 0
        page.get_by_role("button", name="Bestätigen und ausstellen").click()
        page.wait_for_load_state()
        state = page.locator("#batch-state").get_attribute("data-state")
        assert state in ("running", "done")
        if state == "running":
            expect(page.locator("#batch-progress")).to_be_visible()
        page.reload()                                            # the bar (or the result) survives a reload
        assert page.locator("#batch-state").get_attribute("data-state") in ("running", "done")
        expect(page.locator("#batch-downloads")).to_be_visible(timeout=60_000)   # the page refreshes itself
        expect(page.locator("#batch-state")).to_have_attribute("data-state", "done")
        with page.expect_download() as download:
            page.get_by_role("link", name="letters-0001.pdf").click()
        path = download.value.path()
        assert open(path, "rb").read(4) == b"%PDF"
        assert page.errors == []
        context.close()
    issued = [e for e in services.journal.entries() if e["kind"] == "issued"]
    assert len(issued) == 120 - len(planted)
