"""Health: each content type's version and age, with warnings past the configured limits."""

from __future__ import annotations

from datetime import timedelta

import pytest

from appliance import health
from appliance.health import ATTENTION, READY, Facts, assess, verdict
from appliance.reference import store
from appliance.runtime import build_services


@pytest.mark.parametrize("ages,expected", [
    ((("valuesets", 30.0, 30), ("trustlist", 7.0, 7), ("revocations", 6.5, 7)), READY),
    ((("valuesets", 31.0, 30),), ATTENTION),
    ((("trustlist", 7.5, 7),), ATTENTION),
    ((("revocations", 8.0, 7),), ATTENTION),
    ((("revocations", 8.0, 10),), READY),                       # the limit is configurable
])
def test_age_warnings(ages, expected):
    problems = assess(Facts(reference_ages=ages))
    assert verdict(problems) == expected
    if expected == ATTENTION:
        assert "days old" in problems[0].message and "import newer reference data" in problems[0].message


def _services(make_config, clock, signer, kit, tmp_path, **reference):
    files = kit.write(tmp_path / "office")
    config = make_config({"printer": {"kind": "file"}, "gpio": {"enabled": False},
                          "reference": {"trust_anchor": str(files["anchor"]), **reference}})
    return build_services(config, clock=clock, signer=signer, with_panel=False)


def test_collect_reports_versions_ages_and_warns(make_config, clock, software_signer, kit, inputs, tmp_path, now):
    services = _services(make_config, clock, software_signer, kit, tmp_path)
    try:
        h = health.collect(services, now=now)
        assert h.details["reference"]["content"]["valuesets"]["version"] == 0      # the packaged ones, from 2023
        assert any("value sets are" in p.message for p in h.problems)
        published = now - timedelta(days=8)
        store.install(services.config.state_dir, kit.bundle(now=published, **inputs), anchor=kit.anchor,
                      now=now, source="test")
        h = health.collect(services, now=now)
        content = h.to_json()["reference"]["content"]
        assert {k: v["version"] for k, v in content.items()} == {
            "valuesets": 1, "trustlist": 1, "revocations": 1, "rules": 1}
        assert content["trustlist"]["age_days"] == 8.0
        messages = [p.message for p in h.problems]
        assert any("trust list is 8 days old (limit 7)" in m for m in messages)
        assert any("revocation list is 8 days old" in m for m in messages)
        assert not any("value sets are" in m for m in messages)
    finally:
        services.close()
    relaxed = _services(make_config, clock, software_signer, kit, tmp_path / "b", trustlist_max_age_days=10,
                        revocations_max_age_days=10)
    try:
        assert not any("days old" in p.message for p in health.collect(relaxed, now=now).problems)
    finally:
        relaxed.close()


def test_an_unset_device_gets_no_reference_warnings(make_config, clock, software_signer, now):
    services = build_services(make_config({"printer": {"kind": "file"}, "gpio": {"enabled": False}}),
                              clock=clock, signer=software_signer, with_panel=False)
    try:
        h = health.collect(services, now=now)
        assert h.details["reference"]["installed"] is False
        assert not any("days old" in p.message for p in h.problems)
    finally:
        services.close()
