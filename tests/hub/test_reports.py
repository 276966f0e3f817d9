"""Revocation export in the EU gateway's batch shape, and daily statistics."""

from __future__ import annotations

import base64
import hashlib
import os
from collections import Counter

from appliance.devices.hub_client import InProcessHubClient
from appliance.sync.agent import SyncAgent
from tests.support.clock import NOW
from tests.support.hub_kit import DEVICE


def _issue_and_revoke(journal, signer, n_issued: int, revoke_every: int) -> dict[str, bytes]:
    """Issue n certificates (real journal), revoke some; return {uvci: signature} of the revoked."""
    signatures = {f"URN:UVCI:01:DE:DEMO1/R{i:05d}#Q": os.urandom(64) for i in range(n_issued)}
    journal.append_bulk([{"kind": "issued", "type": "v", "uvci": u, "kid": signer.kid, "signature": s,
                          "country": "DE", "data": {"mp": "EU/1/20/1528", "dn": 1,
                                                    "expires_at": "2027-11-28T10:00:00Z"}}
                         for u, s in signatures.items()], now=NOW, operator="staff1")
    revoked = {u: s for i, (u, s) in enumerate(signatures.items()) if i % revoke_every == 0}
    specs = []
    for uvci in revoked:
        issued = journal.issued_entry(uvci)
        specs.append({"kind": "revoked", "type": "v", "uvci": uvci, "kid": signer.kid,
                      "hashes": {k: issued[k] for k in ("hash_uci", "hash_countrycodeuci", "hash_signature")},
                      "data": {"reason": "issued in error", "fraud": False}})
    journal.append_bulk(specs, now=NOW, operator="admin1")
    return revoked


def test_revocation_export_has_the_gateway_shape(device_config, journal, software_signer, hub_app, registered,
                                                 auth):
    revoked = _issue_and_revoke(journal, software_signer, n_issued=2004, revoke_every=2)   # 1002 revoked
    assert SyncAgent(device_config, journal, software_signer, InProcessHubClient(hub_app)).run_once()
    client = hub_app.test_client()
    kid = base64.b64encode(software_signer.kid).decode()
    def h16(data: bytes) -> str:                    # spec: base64 of the first 16 bytes of SHA-256
        return base64.b64encode(hashlib.sha256(data).digest()[:16]).decode()

    for hash_type, expected_of in (
            ("UCI", lambda u, s: h16(u.encode())),
            ("COUNTRYCODEUCI", lambda u, s: h16(("DE" + u).encode())),
            ("SIGNATURE", lambda u, s: h16(s[:32]))):         # ECDSA: only r
        r = client.get(f"/api/v1/revocations?country=DE&hashType={hash_type}&limit=5000", headers=auth)
        assert r.status_code == 200
        batches = r.get_json()["batches"]
        assert [len(b["entries"]) for b in batches] == [1000, 2]
        paged, body = [], {"more": True, "next": 0}            # the default pages: 1,000 revocations each
        while body["more"]:
            body = client.get(f"/api/v1/revocations?country=DE&hashType={hash_type}&since={body['next']}",
                              headers=auth).get_json()
            paged += body["batches"]
        assert [len(b["entries"]) for b in paged] == [1000, 2]
        hashes = set()
        for b in batches:
            assert set(b) == {"country", "expires", "kid", "hashType", "entries"}
            assert (b["country"], b["kid"], b["hashType"]) == ("DE", kid, hash_type)
            assert b["expires"] == "2027-11-28T10:00:00Z"
            for e in b["entries"]:
                assert set(e) == {"hash"} and len(e["hash"]) == 24 and e["hash"].endswith("==")
                assert len(base64.b64decode(e["hash"])) == 16
                hashes.add(e["hash"])
        assert hashes == {expected_of(u, s) for u, s in revoked.items()}
    everything = client.get("/api/v1/revocations", headers=auth).get_json()["batches"]
    assert {b["hashType"] for b in everything} == {"UCI", "COUNTRYCODEUCI", "SIGNATURE"}
    assert client.get("/api/v1/revocations?country=AT", headers=auth).get_json()["batches"] == []
    bad = client.get("/api/v1/revocations?hashType=MD5", headers=auth)
    assert bad.status_code == 400 and "hashType" in bad.get_json()["error"]


def test_daily_stats_per_day_type_product_and_dose(device_config, journal, software_signer, hub_app, hub_store,
                                                    auth):
    from datetime import timedelta

    hub_store.register_device(DEVICE, software_signer.certificate, now=NOW, centre="Impfzentrum Nord")
    plan = [(NOW, "v", "EU/1/20/1528", 1)] * 3 + [(NOW, "v", "EU/1/20/1528", 2)] * 2 + \
           [(NOW, "t", None, None)] * 4 + [(NOW + timedelta(days=1), "v", "EU/1/21/1529", 1)] * 5
    for i, (when, typ, mp, dn) in enumerate(plan):
        data = {"tt": "LP217198-3", "ma": "1232"} if typ == "t" else {"mp": mp, "dn": dn}
        journal.append("issued", now=when, operator="staff1", type=typ, uvci=f"URN:UVCI:01:DE:DEMO1/S{i}#A",
                       kid=software_signer.kid, signature=os.urandom(64), country="DE", data=data)
    journal.append("clock_confirmed", now=NOW, operator="admin1", data={"confirmed_time": "x"})
    assert SyncAgent(device_config, journal, software_signer, InProcessHubClient(hub_app)).run_once()
    rows = hub_app.test_client().get("/api/v1/stats/daily", headers=auth).get_json()["days"]
    got = Counter({(r["day"], r["type"], r["product"], r["dose"]): r["count"] for r in rows})
    want = Counter((w.strftime("%Y-%m-%d"), t, mp or "1232", dn) for w, t, mp, dn in plan)
    assert got == want
    assert {r["centre"] for r in rows} == {"Impfzentrum Nord"}
    one_day = hub_app.test_client().get("/api/v1/stats/daily?since=2026-11-29", headers=auth).get_json()["days"]
    assert sum(r["count"] for r in one_day) == 5
    bad = hub_app.test_client().get("/api/v1/stats/daily?since=yesterday", headers=auth)
    assert bad.status_code == 400
