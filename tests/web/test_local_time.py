"""Local times with their offset on screen and on the receipt; ``[device] timezone`` (issue 10, finding 7)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from appliance.config import load_config
from appliance.errors import ConfigError
from appliance.printing.receipt import build_receipt
from appliance.util import timefmt
from tests.support import escpos_parse
from tests.support.dcc import sign_to_hc1
from tests.support.printing import schema_example_dcc


def test_fmt_local_shows_the_offset_winter_and_summer():
    assert timefmt.fmt_local(datetime(2026, 12, 1, 13, 5, tzinfo=timezone.utc), "Europe/Berlin") \
        == "01.12.2026 14:05 (UTC+01:00)"
    assert timefmt.fmt_local(datetime(2026, 7, 1, 13, 5, tzinfo=timezone.utc), "Europe/Berlin") \
        == "01.07.2026 15:05 (UTC+02:00)"
    assert timefmt.fmt_local(datetime(2026, 7, 1, 13, 5, tzinfo=timezone.utc), "America/St_Johns") \
        == "01.07.2026 10:35 (UTC-02:30)"
    with pytest.raises(ValueError):
        timefmt.fmt_local(datetime(2026, 7, 1, 13, 5), "Europe/Berlin")      # naive: never guessed


def test_the_timezone_key_defaults_to_berlin_and_refuses_unknown_zones(tmp_path):
    assert load_config(env={}, state_dir=tmp_path).device.timezone == "Europe/Berlin"
    path = tmp_path / "appliance.toml"
    path.write_text('[device]\ntimezone = "Mars/Olympus_Mons"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path, env={}, state_dir=tmp_path)
    text = str(err.value)
    assert str(path) in text and "[device] timezone" in text and "Mars/Olympus_Mons" in text
    assert "Europe/Berlin" in text                                         # what to write instead


def test_the_receipt_prints_local_times_and_the_certificate_keeps_utc(software_signer, now):
    dcc = schema_example_dcc("t")
    hc1, _ = sign_to_hc1(dcc, software_signer, iat=now, days=3)
    args = dict(dcc=dcc, uvci=dcc["t"][0]["ci"], hc1=hc1, issued_at=now, centre="Testzentrum",
                profile="TM-T20II", paper_width_mm=80)
    local = " ".join(escpos_parse.text(build_receipt(**args, tz="Europe/Berlin")).split())
    assert "28.11.2026 11:00 (UTC+01:00)" in local and "10:00 UTC" not in local     # issued, local
    assert dcc["t"][0]["sc"].endswith("Z")                                          # the DCC: UTC
    plain = " ".join(escpos_parse.text(build_receipt(**args)).split())
    assert "2026-11-28 10:00 UTC" in plain                                          # without a zone: as before
