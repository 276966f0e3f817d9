"""Real tokens for the key tests: SoftHSM2 and swtpm + tpm2-pkcs11, session-scoped.

The in-process tokens put their variables into ``os.environ`` before the first
PKCS#11 module is loaded in this process (restored at the end). CLI tests get
their own token and run ``python -m appliance`` with a private environment.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from appliance.config import load_config
from appliance.devices.pkcs11_signer import Pkcs11Signer
from appliance.devices.pkcs11_token import Token
from appliance.keys import labca, softtokens
from tests.support.cli import appliance_env, run_appliance
from tests.support.clock import REAL_NOW
from tests.support.pki import make_dsc_pem, software_csr
from tests.support.toolcheck import require

CONTRACT_KEY = "contract-key"


def _need(kind: str) -> None:
    if kind == "softhsm" and not softtokens.softhsm_available():
        require(False, "SoftHSM2 is not installed (apt-get install softhsm2 opensc)")
    if kind == "tpm" and not softtokens.swtpm_available():
        require(False, "swtpm/tpm2-pkcs11 are not installed (apt-get install swtpm libtpm2-pkcs11-1 opensc)")
    if kind == "abrmd" and not softtokens.swtpm_available(abrmd=True):
        require(False, "tpm2-abrmd/dbus/tpm2_ptool are not installed")


def _in_process(token_cls, tmp_path_factory, name: str):
    tok = token_cls(tmp_path_factory.mktemp(name))
    tok.start()
    saved = {k: os.environ.get(k) for k in tok.env}
    os.environ.update(tok.env)
    return tok, saved


def _restore(tok, saved) -> None:
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    tok.stop()


@pytest.fixture(scope="session")
def softhsm_token(tmp_path_factory):
    _need("softhsm")
    tok, saved = _in_process(softtokens.SoftHsmToken, tmp_path_factory, "softhsm")
    yield tok
    _restore(tok, saved)


@pytest.fixture(scope="session")
def tpm_token(tmp_path_factory):
    _need("tpm")
    tok, saved = _in_process(softtokens.SwtpmToken, tmp_path_factory, "swtpm")
    yield tok
    _restore(tok, saved)


def _token_signer(tok, tmp_path_factory, name: str):
    """A key on ``tok`` with a lab DSC in a state dir; the Token stays open for the session."""
    state = tmp_path_factory.mktemp(f"{name}-state")
    config = load_config(env={}, overrides=tok.config_overrides(CONTRACT_KEY), state_dir=state)
    holder = Token.open(tok.module, tok.token_label, tok.pin)  # keeps one session open all along
    if not holder.has_key(CONTRACT_KEY):
        holder.generate(CONTRACT_KEY)
    ca, _ = labca.init(state / "ca-home", country="DE", now=REAL_NOW)
    (state / "dsc.pem").write_bytes(make_dsc_pem(ca, holder.public_key(CONTRACT_KEY)))
    signer = Pkcs11Signer.from_config(config)
    return holder, signer, config


@pytest.fixture(scope="session")
def softhsm_signer(softhsm_token, tmp_path_factory):
    holder, signer, _ = _token_signer(softhsm_token, tmp_path_factory, "softhsm")
    yield signer
    signer.close()
    holder.release()


@pytest.fixture(scope="session")
def tpm_signer(tpm_token, tmp_path_factory):
    holder, signer, _ = _token_signer(tpm_token, tmp_path_factory, "tpm")
    yield signer
    signer.close()
    holder.release()


@pytest.fixture(params=["software", "softhsm", "tpm"])
def any_signer(request):
    if request.param == "software":
        from appliance.devices.signer import SoftwareSigner

        return SoftwareSigner.generate(now=REAL_NOW)
    return request.getfixturevalue(f"{request.param}_signer")


class Cli:
    """``python -m appliance`` against one token, one config file and one state dir."""

    def __init__(self, tok, folder: Path, key_label: str = "dcc-signing-key"):
        self.tok, self.folder = tok, folder
        self.state = folder / "state"
        self.state.mkdir()
        self.config_file = folder / "appliance.toml"
        signer = tok.config_overrides(key_label)["signer"]
        self.config_file.write_text("[signer]\n" + "".join(f'{k} = "{v}"\n' for k, v in signer.items()))
        self.env = appliance_env(self.config_file, self.state, drop=("APPLIANCE_", "SOFTHSM2_", "TPM2"),
                                 extra=tok.env)

    def __call__(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return run_appliance(*args, env=self.env, stdin=stdin)

    def token_objects(self) -> str:
        out = subprocess.run(["pkcs11-tool", "--module", self.tok.module, "--token-label", self.tok.token_label,
                              "--login", "--pin", self.tok.pin, "--list-objects"],
                             env=self.env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout

    def files(self) -> dict[str, bytes]:
        """Every file outside the token store (SoftHSM rewrites its counters on each login;
        compare the token with :meth:`token_objects`)."""
        return {str(p.relative_to(self.folder)): p.read_bytes() for p in sorted(self.folder.rglob("*"))
                if p.is_file() and not p.is_relative_to(self.tok.dir)}


@pytest.fixture
def cli(tmp_path):
    """A fresh SoftHSM2 token and an empty state dir."""
    _need("softhsm")
    with softtokens.SoftHsmToken(tmp_path / "token") as tok:
        yield Cli(tok, tmp_path)


@pytest.fixture(scope="module")
def ready_cli(tmp_path_factory):
    """A SoftHSM2 token provisioned through the CLI: key, CSR (req.pem), lab CA, DSC imported."""
    _need("softhsm")
    folder = tmp_path_factory.mktemp("ready")
    with softtokens.SoftHsmToken(folder / "token") as tok:
        c = Cli(tok, folder)
        for args in (["keygen"], ["csr", "--subject", "C=DE,CN=DSC ready", "--out", str(folder / "req.pem")],
                     ["lab-ca", "init"], ["lab-ca", "sign", str(folder / "req.pem"), "--out", str(folder / "dsc.pem")],
                     ["import-dsc", str(folder / "dsc.pem")]):
            result = c("provision", *args)
            assert result.returncode == 0, result.stderr
        yield c


@pytest.fixture
def make_dsc():
    """``make_dsc(ca, public_key, types=, now=, days=) -> PEM`` (a lab CSCA's DSC for any key)."""
    return make_dsc_pem


@pytest.fixture
def other_csr():
    """``other_csr(subject) -> PEM``: a CSR for a software key that is on no token."""
    return software_csr


@pytest.fixture
def tpm_cli(tmp_path):
    """A fresh swtpm + tpm2-pkcs11 token (direct TCTI, one process at a time) and an empty state dir."""
    _need("tpm")
    with softtokens.SwtpmToken(tmp_path / "tpm") as tok:
        yield Cli(tok, tmp_path)
