"""Finding 3 of issue 10: a revoked certificate is never printed, never shown as issued, never verified
as valid. Each path has its test: the web reprint, the first print, the queue (revoked while queued),
the panel's reprint, the result page, the record page, the QR image, the verify page and ``appliance verify``."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest

from appliance.errors import CertificateRevoked
from tests.support.cli import appliance_env, run_appliance
from tests.support.web import FORMS, review_token


def q(uvci: str) -> str:
    return quote(uvci, safe=":/")


def _issue(client, type_="v"):
    resp = client.post(f"/issue/{type_}/review", FORMS[type_])
    token = review_token(resp.get_data(as_text=True))
    done = client.post(f"/issue/{type_}/confirm", {**FORMS[type_], "token": token, "action": "issue"})
    assert done.status_code == 303, done.get_data(as_text=True)
    return done.location.removeprefix("/result/")


def _revoke(admin, devices, uvci, reason="wrong_person", note="Mix-up at the desk"):
    devices.issuer.revoke(uvci, operator="admin", reason=reason, note=note)


def _kinds(devices, uvci):
    return [e["kind"] for e in devices.journal.entries() if e["uvci"] == uvci]


def _receipts(devices):
    folder = devices.config.state_dir / "receipts"
    return sorted(folder.glob("*.bin")) if folder.is_dir() else []


@pytest.fixture
def revoked(admin, devices):
    from urllib.parse import unquote

    uvci = unquote(_issue(admin))
    _revoke(admin, devices, uvci)
    return uvci


def test_web_reprint_of_a_revoked_certificate_is_refused(admin, devices, revoked):
    admin.get(f"/records/{q(revoked)}")
    resp = admin.post(f"/print/{q(revoked)}", {"reprint": "1", "back": "records"})
    assert resp.status_code == 303
    page = admin.get(resp.location).get_data(as_text=True)
    assert "Dieses Zertifikat ist widerrufen und wird nicht gedruckt." in page
    assert 'role="status">Beleg gedruckt.' not in page
    assert _kinds(devices, revoked) == ["issued", "revoked"]             # no "reprinted" after "revoked"
    assert _receipts(devices) == []
    assert devices.printing.status(probe=False)["queue"]["queued"] == 0


def test_first_print_of_a_revoked_certificate_is_refused(admin, devices, revoked):
    admin.get(f"/records/{q(revoked)}")
    resp = admin.post(f"/print/{q(revoked)}")
    assert resp.status_code == 303
    assert _receipts(devices) == [] and _kinds(devices, revoked) == ["issued", "revoked"]


def test_the_print_service_refuses_a_revoked_certificate(devices, revoked):
    record = devices.journal.certificate(revoked)
    with pytest.raises(CertificateRevoked):
        devices.printing.submit(uvci=revoked, hc1=record.personal["hc1"], dcc=record.personal["dcc"],
                                issued_at=record.issued_at, operator="x")
    with pytest.raises(CertificateRevoked):
        devices.printing.reprint(revoked, operator="x")
    assert _kinds(devices, revoked) == ["issued", "revoked"]


def test_the_panel_reprint_of_a_revoked_last_receipt_prints_nothing(admin, devices):
    from urllib.parse import unquote

    uvci = unquote(_issue(admin))
    admin.post(f"/print/{q(uvci)}")
    assert len(_receipts(devices)) == 1
    _revoke(admin, devices, uvci)
    devices.reprint_last()                                               # the panel button
    assert len(_receipts(devices)) == 1 and _kinds(devices, uvci) == ["issued", "revoked"]


def test_a_job_queued_before_the_revocation_never_prints(admin, devices):
    from urllib.parse import unquote

    uvci = unquote(_issue(admin))
    record = devices.journal.certificate(uvci)
    job = devices.printing.submit(uvci=uvci, hc1=record.personal["hc1"], dcc=record.personal["dcc"],
                                  issued_at=record.issued_at, operator="staff")   # queued; no worker runs
    _revoke(admin, devices, uvci)
    assert devices.printing.wait(job, 2.0) is False
    state = devices.printing.queue.get(job)
    assert state.state == "failed" and state.payload is None and "revoked" in state.last_error
    assert _receipts(devices) == []


def test_result_page_says_revoked_with_date_and_reason_and_shows_no_qr(admin, devices, revoked):
    page = admin.get(f"/result/{q(revoked)}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Zertifikat ausgestellt" not in html
    banner = re.search(r'id="revoked"[^>]*>(.*?)</', html, re.S).group(1)
    assert "Widerrufen" in banner and "28.11.2026" in banner and "(UTC+01:00)" in banner and "Falsche Person" in banner
    assert 'class="qr"' not in html and "/qr/" not in html                # no scannable QR
    assert "Beleg drucken" not in html
    assert admin.get(f"/qr/{q(revoked)}").status_code == 410             # nor behind the image URL


def test_record_page_says_revoked_with_date_and_reason_and_offers_no_reprint(admin, devices, revoked):
    html = admin.get(f"/records/{q(revoked)}").get_data(as_text=True)
    banner = re.search(r'id="revoked"[^>]*>(.*?)</', html, re.S).group(1)
    assert "Widerrufen" in banner and "28.11.2026" in banner and "(UTC+01:00)" in banner and "Falsche Person" in banner
    assert "Mix-up at the desk" in html                                  # the device-only note
    assert "Erneut drucken" not in html and "/qr/" not in html


def test_verify_page_says_revoked_for_a_certificate_this_device_revoked(staff, devices):
    from urllib.parse import unquote

    uvci = unquote(_issue(staff))
    hc1 = devices.journal.certificate(uvci).personal["hc1"]
    devices.issuer.revoke(uvci, operator="admin", reason="wrong_data")
    staff.get("/verify")
    resp = staff.post("/verify", {"hc1": hc1})
    html = resp.get_data(as_text=True)
    verdict = re.search(r'<h2 class="verdict[^"]*">([^<]*)<', html).group(1)
    assert resp.status_code == 422 and verdict == "Ungültig"
    assert 'id="revoked"' in html and "widerrufen" in html


def test_cli_verify_checks_the_journal(tmp_path, state_dir, journal, make_issuer, request_for, now):
    """``appliance verify`` on the device: a revocation in its own journal makes the certificate invalid."""
    from appliance.devices.signer import SoftwareSigner

    signer = SoftwareSigner.open(state_dir, country="DE", now=now)       # the device's own key and DSC
    issuer = make_issuer(signer=signer)
    issued = issuer.issue(request_for("v"), operator="staff")
    cfg = tmp_path / "appliance.toml"
    cfg.write_text('[signer]\nkind = "software"\n')
    env = appliance_env(cfg, state_dir)
    args = ("verify", "--json", "--at", now.isoformat(), issued.hc1)
    before = run_appliance(*args, env=env)
    assert before.returncode == 0, before.stdout + before.stderr
    issuer.revoke(issued.uvci, operator="admin", reason="wrong_data")
    after = run_appliance(*args, env=env)
    result = json.loads(after.stdout)
    assert after.returncode == 1 and result["valid"] is False and result["revoked"] is True
    assert result["checks"]["signature"] is True and any("revoked" in e for e in result["errors"])
    assert "Traceback" not in after.stderr
