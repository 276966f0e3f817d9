"""The token fixtures themselves: a kept directory is reused, lab provisioning is idempotent."""

from __future__ import annotations

import os
import subprocess

import pytest

from appliance.benchmarks.signers import in_spawned, provision_token
from appliance.errors import SignerUnavailable
from appliance.keys import softtokens
from tests.support.toolcheck import require


def test_a_kept_softhsm_directory_is_reused_with_its_key(tmp_path):
    require(softtokens.softhsm_available(), "SoftHSM2 is not installed")
    state = tmp_path / "state"
    state.mkdir()
    kids = []
    for _ in range(2):
        with softtokens.SoftHsmToken(tmp_path / "token", label="demo") as tok:
            kids.append(in_spawned(provision_token, tok.env, tok.config_overrides(), str(state)))
            slots = subprocess.run(["softhsm2-util", "--show-slots"], env={**os.environ, **tok.env},
                                   capture_output=True, text=True, timeout=30).stdout
        assert slots.count("Label:            demo") == 1
        assert (tmp_path / "token").is_dir()
    assert kids[0] == kids[1]


def test_temporary_token_directory_is_removed():
    require(softtokens.softhsm_available(), "SoftHSM2 is not installed")
    with softtokens.SoftHsmToken() as tok:
        folder = tok.dir
        assert (folder / "softhsm2.conf").is_file() and tok.pin_file.read_text().strip() == tok.pin
    assert not folder.exists()


def test_missing_software_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(softtokens, "_SOFTHSM_GLOBS", (str(tmp_path / "nothing.so"),))
    with pytest.raises(SignerUnavailable, match="apt-get install softhsm2"):
        with softtokens.SoftHsmToken(tmp_path / "t"):
            pass
