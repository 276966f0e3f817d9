"""The ``Signer`` port on a PKCS#11 token (TPM 2.0 via tpm2-pkcs11, SoftHSM2, HSMs).

Configured by ``[signer]``: ``module``, ``token``, ``key_label``, ``pin_file``, or
an RFC 7512 ``uri = "pkcs11:token=...;object=..."`` for token and key. The PIN
comes from ``$CREDENTIALS_DIRECTORY/pin`` (systemd ``LoadCredential=pin:...``)
when present, else from ``pin_file``; it is never logged.

The DSC is ``<state_dir>/dsc.pem``. Without it ``certificate`` is None, ``kid``
is empty and :func:`appliance.dcc.sign.sign_dcc` refuses. A DSC for another key is
kept (so ``status`` can show it) but :meth:`Pkcs11Signer.sign` refuses with
:class:`DscError`: nothing is signed with a key the DSC does not vouch for.

Environment variables the module needs (``SOFTHSM2_CONF``, ``TPM2_PKCS11_TCTI``...)
must be set before the first signer is built in a process.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from appliance.dcc import dsc
from appliance.devices.pkcs11_token import Token
from appliance.devices.signing_keys import ACTIVE_KEY_FILE, active_label
from appliance.errors import ConfigError, DscError, Msg, SignerUnavailable

log = logging.getLogger(__name__)

DSC_FILE = "dsc.pem"
PIN_CREDENTIAL = "pin"
JOURNAL_SUFFIX = "-journal"  #: label suffix of the journal key (signs journal heads, never rotated)


def parse_pkcs11_uri(uri: str) -> dict[str, str]:
    """The path and query attributes of an RFC 7512 ``pkcs11:`` URI, percent-decoded.

    >>> parse_pkcs11_uri("pkcs11:token=dcc%20tpm;object=dcc-signing-key?module-path=/x.so")
    {'token': 'dcc tpm', 'object': 'dcc-signing-key', 'module-path': '/x.so'}
    """
    if not uri.startswith("pkcs11:"):
        raise ConfigError(f"[signer] uri={uri!r} must start with 'pkcs11:' (RFC 7512)")
    path, _, query = uri[len("pkcs11:"):].partition("?")
    out: dict[str, str] = {}
    for part, sep in ((path, ";"), (query, "&")):
        for item in filter(None, part.split(sep)):
            name, eq, value = item.partition("=")
            if not eq or not name:
                raise ConfigError(f"[signer] uri: {item!r} is not name=value (RFC 7512)")
            out[name] = unquote(value)
    return out


def signer_target(section) -> tuple[str, str, str]:
    """``(module, token label, key label)`` from ``[signer]``, the URI winning over the plain keys."""
    module, token, key_label = section.module, section.token, section.key_label
    if section.uri:
        parts = parse_pkcs11_uri(section.uri)
        token = parts.get("token", token)
        key_label = parts.get("object", key_label)
        module = parts.get("module-path", module)
    if not token:
        raise ConfigError("[signer] token is not set: give the token label (or uri = \"pkcs11:token=...\")")
    if not key_label:
        raise ConfigError("[signer] key_label is not set")
    return module, token, key_label


def read_pin(section, env: dict[str, str] | None = None) -> tuple[str, str]:
    """``(pin, where it came from)``: the systemd credential first, then ``pin_file``."""
    env = os.environ if env is None else env
    candidates = []
    if env.get("CREDENTIALS_DIRECTORY"):
        cred = Path(env["CREDENTIALS_DIRECTORY"]) / PIN_CREDENTIAL
        if cred.is_file():
            candidates.append(cred)
    if section.pin_file:
        candidates.append(Path(section.pin_file))
    if not candidates:
        raise SignerUnavailable("no PIN configured: set [signer] pin_file, or LoadCredential=pin:FILE in the unit")
    path = candidates[0]
    try:
        mode = path.stat().st_mode
    except OSError:
        mode = 0
    if mode & 0o044:
        raise SignerUnavailable(f"the PIN file {path} is readable by group or others (mode {mode & 0o777:04o}): "
                                f"make it the service user's alone (chmod 600 {path}), then change the token's "
                                "PIN, since others may have read it")
    try:
        pin = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise SignerUnavailable(f"the PIN file {path} does not exist: create it (mode 0600) or fix [signer] pin_file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SignerUnavailable(f"cannot read the PIN file {path} ({getattr(exc, 'strerror', None) or exc.__class__.__name__}); "
                                "check its owner and mode") from None
    if not pin:
        raise SignerUnavailable(f"the PIN file {path} is empty: write the token's user PIN into it")
    return pin, str(path)


def load_dsc(state_dir: Path) -> x509.Certificate | None:
    path = Path(state_dir) / DSC_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise DscError(f"cannot read {path} ({exc.strerror}); check its permissions") from None
    try:
        return dsc.load_certificate(data)
    except DscError:
        raise DscError(Msg("signer.dsc_not_certificate", path=str(path))) from None


def same_key(cert: x509.Certificate, pub: ec.EllipticCurvePublicKey | None) -> bool:
    if pub is None:
        return False
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return cert.public_key().public_bytes(*fmt) == pub.public_bytes(*fmt)


class Pkcs11JournalSigner:
    """The journal key ``<key_label>-journal`` on the token: signs journal heads, ES256, raw r||s."""

    def __init__(self, token: Token, label: str):
        key, public = token.private_key(label), token.public_key(label)
        if key is None or public is None:
            raise SignerUnavailable(f"token {token.label!r} has no journal key {label!r}: "
                                    "run 'appliance provision keygen' (it adds the journal key)")
        self._token, self.label, self._key = token, label, key
        self._der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self._kid = hashlib.sha256(self._der).digest()[:8]

    @property
    def kid(self) -> bytes:
        return self._kid

    @property
    def public_key_der(self) -> bytes:
        return self._der

    def sign(self, message: bytes) -> bytes:
        return self._token.sign_digest(self._key, hashlib.sha256(message).digest())


class Pkcs11Signer:
    """ES256 on a token key; thread-safe (one lock per process and token).

    With a ``state_dir`` the signer notices a newly imported ``dsc.pem`` (checked when
    ``certificate`` is read, which :func:`appliance.dcc.sign.sign_dcc` does first) and picks
    up the key ``signing-key.json`` now names, so a running service follows ``import-dsc``
    and key rotation without a restart.
    """

    def __init__(self, token: Token, key_label: str, certificate: x509.Certificate | None,
                 *, state_dir: Path | None = None):
        self._token = token
        self.key_label = key_label
        self._state_dir = Path(state_dir) if state_dir is not None else None
        self._lock = threading.Lock()
        self._closed = False
        self._journal: Pkcs11JournalSigner | None = None
        self._stamp = self._dsc_stamp()
        try:
            self._load_key(certificate)
        except BaseException:
            token.release()
            raise

    @classmethod
    def from_config(cls, config) -> "Pkcs11Signer":
        module, token_label, key_label = signer_target(config.signer)
        pin, source = read_pin(config.signer)
        token = Token.open(module, token_label, pin, pin_source=source)
        try:
            cert = load_dsc(config.state_dir)
        except BaseException:
            token.release()
            raise
        return cls(token, key_label, cert, state_dir=config.state_dir)

    def _load_key(self, certificate: x509.Certificate | None) -> None:
        label = active_label(self._token, self.key_label, self._state_dir)
        key = self._token.private_key(label)
        if key is None:
            raise SignerUnavailable(Msg("signer.no_key", token=repr(self._token.label), label=repr(label)))
        public = self._token.public_key(label)
        self.active_label = label
        problem = None
        if certificate is not None and not same_key(certificate, public):
            problem = (f"the installed DSC is for another key than {label!r} on token "
                       f"{self._token.label!r}; import the DSC issued for this key ('appliance provision import-dsc FILE')")
            log.error("%s", problem)
        self._key, self._public, self._cert, self.problem = key, public, certificate, problem
        self._kid = dsc.kid_of(certificate) if certificate is not None else b""

    def _dsc_stamp(self) -> tuple | None:
        """The DSC file's and the signing-key record's identity (import-dsc replaces both: new inodes)."""
        if self._state_dir is None:
            return None
        out = []
        for name in (DSC_FILE, ACTIVE_KEY_FILE):
            try:
                st = (self._state_dir / name).stat()
            except OSError:
                out.append(None)
                continue
            out.append((st.st_ino, st.st_mtime_ns, st.st_size))
        return tuple(out)

    def _refresh(self) -> None:
        stamp = self._dsc_stamp()
        if stamp == self._stamp or self._state_dir is None:
            return
        with self._lock:
            if stamp != self._stamp:
                log.info("the DSC file changed; reloading the certificate and the key %r", self.key_label)
                self._load_key(load_dsc(self._state_dir))
                self._stamp = stamp

    @property
    def token(self) -> Token:
        return self._token

    @property
    def journal_signer(self) -> Pkcs11JournalSigner | None:
        """The journal key on the same token, or None when it was never made (older devices)."""
        if self._journal is None and self._token.has_key(self.key_label + JOURNAL_SUFFIX):
            self._journal = Pkcs11JournalSigner(self._token, self.key_label + JOURNAL_SUFFIX)
        return self._journal

    @property
    def kid(self) -> bytes:
        return self._kid

    @property
    def certificate(self) -> x509.Certificate | None:
        self._refresh()
        return self._cert

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public

    def sign(self, to_be_signed: bytes) -> bytes:
        """ES256: SHA-256 here, CKM_ECDSA on the token; raw ``r || s``."""
        if self.problem:
            raise DscError(self.problem)
        return self.sign_raw(to_be_signed)

    def sign_raw(self, data: bytes) -> bytes:
        """ES256 without the DSC check (CSRs and signed batches before a DSC exists)."""
        if self._closed:
            raise SignerUnavailable("the signer was closed; restart the service")
        with self._lock:
            return self._token.sign_digest(self._key, hashlib.sha256(data).digest())

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._token.release()
