"""Fixtures of the reference-data tests: the central office's test CA and key, input files, bundles."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.support import reference as R
from tests.support.cli import appliance_env, write_config


@pytest.fixture(scope="session")
def kit() -> R.ReferenceKit:
    return R.ReferenceKit.make()


@pytest.fixture(scope="session")
def foreign():
    return R.foreign_vector()


@pytest.fixture
def inputs(tmp_path: Path, foreign) -> dict:
    """Input files for a full bundle: new value sets, a trust list with the foreign DSC, rules."""
    return {"valuesets": R.new_valuesets(tmp_path / "in" / "valuesets"),
            "trustlist": R.trustlist_file(tmp_path / "in" / "trustlist.json", [foreign]),
            "rules": R.rules_folder(tmp_path / "in" / "rules", "EU", "CZ"),
            "revocations": R.uci_batch("URN:UVCI:01:XX:NOT-ISSUED#0")}


@pytest.fixture
def bundle(kit, inputs) -> bytes:
    return kit.bundle(**inputs)


@pytest.fixture
def real_now() -> datetime:
    return datetime.now(timezone.utc)


@pytest.fixture
def device_env(tmp_path: Path, kit) -> dict:
    """A device's environment for CLI runs, with ``[reference] trust_anchor`` set."""
    files = kit.write(tmp_path / "office")
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    cfg = write_config(tmp_path / "device.toml", f'[signer]\nkind = "software"\n[reference]\n'
                                                 f'trust_anchor = "{files["anchor"]}"\n')
    return appliance_env(cfg, state)


@pytest.fixture
def example_t():
    """``example_t(config)`` -> a parsed test-certificate request at the tests' NOW."""
    from appliance.dcc import form
    from appliance.dcc.samples import example_input
    from tests.support.clock import NOW

    return lambda config: form.parse_input(example_input("t", now=NOW), type="t", device=config.device, now=NOW)
