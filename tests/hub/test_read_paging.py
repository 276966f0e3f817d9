"""The office's reads at fleet scale, on both engines: the chart's cells are summed in the database
and equal a naive count over the stored entries; the statistics and the full revocation export
come in keyset pages, and paging through them while devices keep sending yields every row once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from appliance.journal import chain
from appliance.sync import batches
from tests.support.clock import NOW


def _entries(n: int, *, device: int, start: int = 1, prev: str = chain.GENESIS, revoke: list[str] = (),
             later_days: int = 0) -> list[dict]:
    out = []
    for i in range(n):
        seq = start + i
        own_centre = {"centre": "Mobiles Team"} if seq % 5 == 0 else {}
        out.append({"seq": seq, "time": (NOW + timedelta(days=later_days + seq % 3, seconds=seq)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "kind": "issued", "operator": "op-1", "type": "vtr"[seq % 3],
                    "uvci": f"URN:UVCI:01:DE:P{device}/{seq:05d}#A", "kid": "AAAAAAAAAAA=",
                    "hash_uci": f"{device:02d}{seq:05d}" + "A" * 15 + "==", "hash_countrycodeuci": None,
                    "hash_signature": None, "data": {"mp": "EU/1/20/1528", "dn": 1 + seq % 2, **own_centre}})
    for uvci in revoke:
        out.append({"seq": start + len(out), "time": (NOW + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "kind": "revoked", "operator": "op-1", "type": "v", "uvci": uvci, "kid": "AAAAAAAAAAA=",
                    "hash_uci": None, "hash_countrycodeuci": None, "hash_signature": None, "data": {}})
    for entry in out:
        entry["prev_hash"] = prev
        entry["hash"] = prev = chain.entry_hash(entry)
    return out


def _push(client, device: str, entries: list[dict], signer) -> None:
    data = batches.sign_batch(entries, device_id=device, signer=signer, now=NOW)
    response = client.post(f"/api/v1/devices/{device}/batches", data=data, content_type="application/cose")
    assert response.status_code == 200, response.get_json()


def _fleet(hub_app, hub_store, signer, n: int = 4, per_device: int = 30) -> dict[str, list[dict]]:
    client, sent = hub_app.test_client(), {}
    for d in range(n):
        device = f"dev-{d:02d}"
        hub_store.register_device(device, signer.certificate, now=NOW, region=f"R{d % 2}",
                                  centre=None if d == 3 else f"Zentrum {d % 2}")
        sent[device] = _entries(per_device, device=d)
        _push(client, device, sent[device], signer)
    return sent


def _naive(hub_store) -> list[dict]:
    with hub_store.reading() as tx:
        return tx.all("SELECT e.device_id, e.day, e.centre AS own, e.type, e.product, e.dose, d.centre, d.region"
                      " FROM entries e JOIN devices d ON d.device_id = e.device_id WHERE e.kind = 'issued'")


def test_the_chart_is_summed_by_day_centre_and_type_and_equals_a_naive_count(hub_app, hub_store, software_signer,
                                                                             auth):
    _fleet(hub_app, hub_store, software_signer)
    for moved in (False, True):
        if moved:                                           # the office moves a device: the summary follows
            hub_store.register_device("dev-01", software_signer.certificate, now=NOW, region="R0",
                                      centre="Zentrum 9")
        rows = _naive(hub_store)
        for region in (None, "R1", "R0"):
            want = Counter((r["day"], r["own"] or r["centre"] or r["device_id"], r["type"]) for r in rows
                           if region is None or r["region"] == region)
            cells = hub_store.chart_counts(region=region)
            assert len(cells) == len(want)                  # one row per cell: summed in SQL, not in Python
            assert {(c["day"], c["centre"], c["type"]): c["count"] for c in cells} == dict(want)
    assert {c["centre"] for c in hub_store.chart_counts()} == {"Zentrum 0", "Zentrum 9", "Mobiles Team", "dev-03"}
    svg = hub_app.test_client().get("/api/v1/stats/chart.svg?centre=Mobiles%20Team", headers=auth).get_data(True)
    assert "Mobiles Team" in svg and "Zentrum 0" not in svg


def test_statistics_come_in_keyset_pages_that_add_up_to_a_naive_count(hub_app, hub_store, software_signer, auth):
    sent = _fleet(hub_app, hub_store, software_signer)
    client, seen, after, pages = hub_app.test_client(), [], "", 0
    while True:
        response = client.get(f"/api/v1/stats/daily?limit=7&after={after}", headers=auth)
        body = response.get_json()
        assert len(body["days"]) <= 7
        seen += body["days"]
        pages += 1
        if pages == 2:                                   # a device sends between two pages (days not paged yet)
            _push(client, "dev-00", _entries(6, device=0, start=31, prev=sent["dev-00"][-1]["hash"], later_days=5),
                  software_signer)
        if body["next"] is None:
            assert "Link" not in response.headers
            break
        assert response.headers["Link"].endswith(f'after={body["next"]}>; rel="next"')
        after = body["next"]
    keys = [(r["day"], r["device_id"], r["centre"], r["type"], r["product"], r["dose"]) for r in seen]
    assert len(keys) == len(set(keys)) and pages > 3
    want = Counter((r["day"], r["device_id"], r["own"] or r["centre"] or r["device_id"], r["type"], r["product"],
                    r["dose"]) for r in _naive(hub_store))
    assert Counter({k: r["count"] for k, r in zip(keys, seen)}) == want
    bad = client.get("/api/v1/stats/daily?after=not-a-cursor", headers=auth)
    assert bad.status_code == 400 and "after" in bad.get_json()["error"]
    assert client.get("/api/v1/stats/daily?limit=0", headers=auth).status_code == 400


def test_paging_the_full_revocation_export_yields_every_revocation_once_while_devices_revoke(
        hub_app, hub_store, software_signer, auth):
    sent = _fleet(hub_app, hub_store, software_signer, n=2, per_device=30)
    client = hub_app.test_client()
    revoked: list[str] = []
    last = {d: e[-1] for d, e in sent.items()}

    def revoke(device: str, seqs: list[int]) -> None:
        uvcis = [e["uvci"] for e in sent[device] if e["seq"] in seqs]
        new = _entries(0, device=0, start=last[device]["seq"] + 1, prev=last[device]["hash"], revoke=uvcis)
        _push(client, device, new, software_signer)
        last[device] = new[-1]
        revoked.extend(e["hash_uci"] for e in sent[device] if e["seq"] in seqs)

    revoke("dev-00", [1, 2, 3])
    revoke("dev-01", [4, 5])
    first = client.get("/api/v1/revocations?hashType=UCI&limit=2", headers=auth)   # no cursor: the first page
    body, got = first.get_json(), Counter()
    assert body["more"] is True and first.headers["Link"].endswith(f'since={body["next"]}>; rel="next"')
    while True:
        got.update(e["hash"] for b in body["batches"] for e in b["entries"])
        if len(got) == 2:
            revoke("dev-01", [6, 7, 8])                 # committed between two pages
            revoke("dev-00", [9])
        if not body["more"]:
            break
        body = client.get(f"/api/v1/revocations?hashType=UCI&limit=2&since={body['next']}", headers=auth).get_json()
    assert got == Counter(revoked) and len(revoked) == 9
    default = client.get("/api/v1/revocations?hashType=UCI", headers=auth).get_json()
    assert default["more"] is False and sum(len(b["entries"]) for b in default["batches"]) == 9
    assert client.get("/api/v1/revocations?limit=50001", headers=auth).status_code == 400
