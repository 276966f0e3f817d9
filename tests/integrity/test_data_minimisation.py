"""Finding 4: nothing personal leaves the device. Marker strings go into every free field (names,
test name, issuer, revocation reason and note, the operator's name); after a sync no table or
column of the hub's database holds any of them. The test centre is picked from the configured
ones and only its id is synced."""

from __future__ import annotations

import sqlite3

import pytest

from appliance.dcc import form
from appliance.devices.clock import FixedClock
from appliance.devices.hub_client import InProcessHubClient
from appliance.errors import InvalidInput
from appliance.issue import Issuer
from appliance.sync.agent import SyncAgent
from tests.support.clock import NOW

MARKERS = {"family": "Mustermannmarker", "given": "Erikamarker", "test_name": "Testnamemarker",
           "issuer": "Ausstellermarker", "reason": "Grundmarker geb 12.08.1964", "note": "Notizmarker",
           "operator": "Operatormarker", "centre": "Zentrumsnamemarker"}


def _hub_text(path) -> str:
    con = sqlite3.connect(path)
    try:
        out = []
        for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            for row in con.execute(f'SELECT * FROM "{table}"'):
                out += [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in row]
        return "\n".join(out)
    finally:
        con.close()


def test_no_free_text_reaches_the_hub(device_config, journal, software_signer, hub_app, registered, hub_config,
                                      example):
    config = device_config.replace(device=device_config.device.__class__(
        id=device_config.device.id, centres=f"TC-7={MARKERS['centre']}; TC-8=Drive-in Nord"))
    clock = FixedClock(NOW)
    issuer = Issuer(config=config, signer=software_signer, journal=journal, clock=clock)
    data = example("t")
    data.update(family_name=MARKERS["family"], given_name=MARKERS["given"])
    data["test"].update(test_name=MARKERS["test_name"], issuer=MARKERS["issuer"], centre="TC-7")
    req = form.parse_input(data, type="t", device=config.device, now=NOW)
    issued = issuer.issue(req, operator=MARKERS["operator"])
    assert issued.dcc["t"][0]["tc"] == MARKERS["centre"]          # the certificate names the centre
    replacement = issuer.issue(form.parse_input({**data, "given_name": "Erikamarker Anna"}, type="t",
                                                device=config.device, now=NOW), operator=MARKERS["operator"])
    issuer.revoke(issued.uvci, operator=MARKERS["operator"], reason="corrected", note=MARKERS["note"])
    issuer.revoke(replacement.uvci, operator=MARKERS["operator"], reason=MARKERS["reason"])  # free text: "other"
    assert SyncAgent(config, journal, software_signer, InProcessHubClient(hub_app)).run_once()

    entries = journal.entries()
    assert [e["data"].get("centre") for e in entries if e["kind"] == "issued"] == ["TC-7", "TC-7"]
    assert [e["data"]["reason"] for e in entries if e["kind"] == "revoked"] == ["corrected", "other"]
    assert journal.note(entries[-1]["seq"]) == MARKERS["reason"]     # the free text stays on the device
    assert journal.certificate(issued.uvci).operator == MARKERS["operator"]
    hub_db = hub_config.state_dir / "hub.sqlite"
    text = _hub_text(hub_db)
    assert "TC-7" in text                                            # the scan does see synced data
    found = {name: marker for name, marker in MARKERS.items() if marker.split()[0] in text}
    assert not found, f"personal or free text reached the hub: {found}"


def test_a_typed_centre_that_is_not_configured_is_refused(config, example):
    data = example("t")
    data["test"]["centre"] = "Erika Mustermann geb 12.08.1964"
    with pytest.raises(InvalidInput) as info:
        form.parse_input(data, type="t", device=config.device, now=NOW)
    message = info.value.field_errors["test.centre"]
    assert "pick one of this device's test centres: DEMO-TC" in message and "Erika" not in message
