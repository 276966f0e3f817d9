"""Finding 9 of issue 10 on the tablet: a second "Print receipt" prints a second receipt (journaled as a
reprint); the home and issue pages show the printer's problem; LAB/TEST certificates say so on the result
and record pages and on their receipt; revoking asks for a confirmation that works without JavaScript."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from appliance.dcc import dsc
from appliance.devices.printer import NetworkPrinter
from appliance.runtime import build_services
from appliance.web import create_app
from tests.support import escpos_parse
from tests.support.dcc import production_like_signer
from tests.support.fake_printer import FakePrinter
from tests.support.web import ADMIN, FORMS, Browser, review_token


def q(uvci: str) -> str:
    return quote(uvci, safe=":/")


def _issue(client, type_="v"):
    resp = client.post(f"/issue/{type_}/review", FORMS[type_])
    token = review_token(resp.get_data(as_text=True))
    done = client.post(f"/issue/{type_}/confirm", {**FORMS[type_], "token": token, "action": "issue"})
    assert done.status_code == 303
    return unquote(done.location.removeprefix("/result/"))


def _flashes(html: str) -> list[str]:
    return re.findall(r'<p class="flash [a-z]+" role="status">([^<]*)</p>', html)


def _receipts(devices):
    folder = devices.config.state_dir / "receipts"
    return sorted(folder.glob("*.bin")) if folder.is_dir() else []


# -- a second tap -----------------------------------------------------------------------------------------
def test_a_second_tap_on_print_receipt_prints_a_second_receipt_journaled_as_a_reprint(staff, devices):
    uvci = _issue(staff)
    first = staff.post(f"/print/{q(uvci)}")
    assert _flashes(staff.get(first.location).get_data(as_text=True)) == ["Beleg gedruckt."]
    second = staff.post(f"/print/{q(uvci)}")
    assert _flashes(staff.get(second.location).get_data(as_text=True)) == \
        ["Beleg erneut gedruckt (als Nachdruck protokolliert)."]
    assert len(_receipts(devices)) == 2
    assert [e["kind"] for e in devices.journal.entries() if e["uvci"] == uvci] == ["issued", "reprinted"]


# -- the printer banner -----------------------------------------------------------------------------------
@pytest.fixture
def network_printer(devices):
    fake = FakePrinter()
    devices.printing.printer = NetworkPrinter("127.0.0.1", fake.port, profile="TM-T20II", timeout_s=1.0)
    yield fake
    fake.close()


def _banner(html: str) -> str | None:
    m = re.search(r'id="printer-banner"[^>]*>([^<]*)<', html)
    return m.group(1).strip() if m else None


@pytest.mark.parametrize("fault,text", [("offline", "Der Drucker antwortet nicht"),
                                        ("paper", "Der Drucker hat kein Papier")])
def test_home_and_issue_pages_show_a_banner_when_the_printer_is_off_or_out_of_paper(
        staff, devices, network_printer, fault, text):
    devices.health()                                   # a probe, as the status page, /healthz, the lights do
    assert _banner(staff.get("/").get_data(as_text=True)) is None
    assert _banner(staff.get("/issue/v").get_data(as_text=True)) is None
    if fault == "offline":
        network_printer.go_offline()
    else:
        network_printer.paper = "out"
    assert staff.get("/status").status_code == 200     # the status page probes the printer
    for page in ("/", "/issue/v", "/issue/t"):
        banner = _banner(staff.get(page).get_data(as_text=True))
        assert banner is not None and banner.startswith(text), page


# -- LAB/TEST ---------------------------------------------------------------------------------------------
def _signed_in(signer, make_config, clock):
    config = make_config({"printer": {"kind": "file"}, "gpio": {"enabled": False}})
    services = build_services(config, clock=clock, signer=signer, with_panel=False)
    services.settings.add_user(ADMIN[0], password=ADMIN[1], role="admin")
    app = create_app(config, services)
    app.config["TESTING"] = True
    client = Browser(app.test_client())
    assert client.login(*ADMIN).status_code == 302
    return services, client


@pytest.mark.parametrize("lab", [True, False])
def test_a_certificate_of_a_lab_test_dsc_says_so_on_screen_and_on_its_receipt(make_config, clock, now,
                                                                              software_signer, lab):
    signer = software_signer if lab else production_like_signer(now)   # the software signer's DSC is DEMO
    assert dsc.is_test_dsc(signer.certificate) is lab
    services, client = _signed_in(signer, make_config, clock)
    try:
        uvci = _issue(client)
        for page in (f"/result/{q(uvci)}", f"/records/{q(uvci)}"):
            html = client.get(page).get_data(as_text=True)
            assert ('id="test-dsc"' in html and "LAB/TEST" in html) is lab, page
        client.post(f"/print/{q(uvci)}")
        [receipt] = _receipts(services)
        assert ("LAB/TEST" in escpos_parse.text(receipt.read_bytes())) is lab
    finally:
        services.close()


def test_a_lab_ca_dsc_is_recognised(tmp_path, now):
    from appliance.keys import labca
    from tests.support.pki import make_dsc_pem

    ca, _ = labca.init(tmp_path, country="DE", now=now)
    cert = dsc.load_certificate(make_dsc_pem(ca, ec.generate_private_key(ec.SECP256R1()).public_key(), now=now))
    assert dsc.is_test_dsc(cert) and dsc.is_test_dsc(ca.certificate)
    assert not dsc.is_test_dsc(production_like_signer(now).certificate)


# -- revoking asks first ----------------------------------------------------------------------------------
def test_revoking_needs_the_confirmation_box(admin, devices):
    uvci = _issue(admin)
    html = admin.get(f"/records/{q(uvci)}").get_data(as_text=True)
    box = re.search(r'<input id="confirm" name="confirm" type="checkbox" value="1"([^>]*)>', html)
    assert box and "required" in box.group(1)                           # the browser asks, without JavaScript
    assert re.search(r'<label for="confirm">[^<]+</label>', html)
    refused = admin.post(f"/records/{q(uvci)}/revoke", {"reason": "wrong_data"})
    assert refused.status_code == 303 and not devices.journal.certificate(uvci).revoked
    assert "Bitte bestätigen Sie den Widerruf" in admin.get(refused.location).get_data(as_text=True)
    done = admin.post(f"/records/{q(uvci)}/revoke", {"reason": "wrong_data", "confirm": "1"})
    assert done.status_code == 303 and devices.journal.certificate(uvci).revoked


def test_the_confirmed_revocation_still_needs_the_csrf_token(admin, devices):
    uvci = _issue(admin)
    resp = admin.post(f"/records/{q(uvci)}/revoke", {"reason": "wrong_data", "confirm": "1"}, csrf=False)
    assert resp.status_code == 400 and not devices.journal.certificate(uvci).revoked
