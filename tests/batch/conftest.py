"""Fixtures for bulk issuance: an in-process batch on the suite's fixed clock and software signer,
and a CLI environment (real processes, the real clock confirmed once) for the command-line tests."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from appliance.batch import jobs
from appliance.batch.store import BatchStore
from appliance.issue import Issuer
from tests.support.cli import appliance_env, run_appliance

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def store(state_dir) -> BatchStore:
    return BatchStore(state_dir)


@pytest.fixture
def issuer(config, journal, clock, software_signer):
    """The device's issuer on the fixed clock with the suite's software signer."""
    return Issuer(config=config, signer=software_signer, journal=journal, clock=clock)


@pytest.fixture
def batch(store, config, journal, issuer, clock, tmp_path):
    """``batch(data, out=None, type_="v", sign=True, per_file=500, workers=0)`` -> (Prepared, RunResult|None)."""

    def run(data: bytes, *, name="list.csv", out=None, type_="v", sign=True, per_file=500, workers=0, map_data=None,
            group_size=200):
        clock.advance(timedelta(seconds=1))
        prepared = jobs.prepare(store, type_=type_, data=data, name=name, map_data=map_data,
                                out=out or tmp_path / "out", operator="test", now=clock.now(), device=config.device,
                                journal=journal, tz=BERLIN)
        if not sign:
            return prepared, None
        result = jobs.execute(store, prepared, issuer=issuer, clock=clock, operator="test", centre="Impfzentrum Test",
                              workers=workers, per_file=per_file, group_size=group_size)
        return prepared, result

    return run


@pytest.fixture
def cli_env(tmp_path, state_dir):
    """A device for ``python -m appliance`` (software key), its clock confirmed for this boot."""
    cfg = tmp_path / "appliance.toml"
    cfg.write_text('[signer]\nkind = "software"\n[device]\nissuer = "Impfzentrum Test"\n')
    env = appliance_env(cfg, state_dir)
    r = run_appliance("journal", "confirm-clock", env=env)
    assert r.returncode == 0, r.stderr
    return env
