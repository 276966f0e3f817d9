"""Real tokens for the key tests: SoftHSM2 and swtpm + tpm2-pkcs11, session-scoped.

The in-process tokens put their variables into ``os.environ`` before the first
PKCS#11 module is loaded in this process (restored at the end). CLI tests get
their own token and run ``python -m appliance`` with a private environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from toolcheck import require
from cryptography.hazmat.primitives import serialization

from appliance.keys import labca
from appliance.config import load_config
from appliance.keys.csr import TokenKey, build_csr, parse_subject
from appliance.keys import softtokens
from appliance.devices.pkcs11_signer import Pkcs11Signer
from appliance.devices.pkcs11_token import Token

REAL_NOW = datetime.now(timezone.utc)
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


def make_dsc_pem(ca, public_key, *, types: str = "vtr", now: datetime = REAL_NOW, days: int = 730) -> bytes:
    """A lab DSC for ``public_key`` (via a throwaway software CSR carrying that key is impossible,
    so build the certificate directly with the lab CA's signing routine)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID, ObjectIdentifier

    from appliance.dcc import dsc

    ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
                                     x509.NameAttribute(NameOID.COMMON_NAME, "DSC test")]))
            .issuer_name(ca.certificate.subject).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=days))
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ObjectIdentifier(dsc.EKU_FOR_TYPE[t][0]) for t in types]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
            .sign(ca.key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


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
        env = {k: v for k, v in os.environ.items() if not k.startswith(("APPLIANCE_", "SOFTHSM2_", "TPM2"))}
        self.env = {**env, **tok.env, "APPLIANCE_CONFIG": str(self.config_file), "APPLIANCE_STATE_DIR": str(self.state)}

    def __call__(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "appliance", *args], env=self.env, input=stdin,
                              capture_output=True, text=True, timeout=120)

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


def software_csr(subject: str = "C=DE,CN=someone else") -> bytes:
    """A CSR for a key that is not on any token (a DSC for another key)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from appliance.devices.signer import der_to_raw
    from cryptography.hazmat.primitives import hashes

    key = ec.generate_private_key(ec.SECP256R1())
    shim = TokenKey(lambda d: der_to_raw(key.sign(d, ec.ECDSA(hashes.SHA256()))), key.public_key())
    return build_csr(parse_subject(subject), shim)


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
