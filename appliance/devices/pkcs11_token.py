"""One PKCS#11 token, opened once per process: keys, signing, attributes.

python-pkcs11 0.10 calls ``C_Initialize(NULL)``, so SoftHSM2 turns its own locks
off while python-pkcs11 releases the GIL around calls: two threads calling into
the module at once crash the process. A PKCS#11 login also belongs to the whole
process, not to a session. Hence this module keeps ONE logged-in session per
(module, token) per process, shared by reference count, and serialises every
call with one lock. It refuses to work in a child that was forked after the
module was loaded (use ``multiprocessing`` with ``spawn``).

The key template is the one that works on SoftHSM2 *and* tpm2-pkcs11 1.9.0
(which maps CKA_VERIFY to the TPM decrypt bit and CKA_ENCRYPT to the sign bit).
Signing is CKM_ECDSA over a SHA-256 digest computed here (SoftHSM 2.6 has no
CKM_ECDSA_SHA256); the token returns raw ``r || s``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path
from typing import Any

import pkcs11
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pkcs11 import Attribute as A, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11 import exceptions as px
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

from appliance.errors import SignerUnavailable, SigningError

log = logging.getLogger(__name__)

PUBLIC_TEMPLATE = {A.VERIFY: False, A.ENCRYPT: True, A.WRAP: False}
PRIVATE_TEMPLATE = {A.SENSITIVE: True, A.EXTRACTABLE: False, A.SIGN: True,
                    A.DECRYPT: False, A.DERIVE: False, A.PRIVATE: True, A.COPYABLE: False}
#: Every key is read-only (the DCC key and the journal key): nobody can switch on CKA_DERIVE
#: (ECDH with the key), rename it or change its usage later, not even with the user PIN. Rotation
#: therefore never modifies a key: it makes a new one and names the active key outside the token
#: (:mod:`appliance.devices.pkcs11_signer`).
READ_ONLY = {A.MODIFIABLE: False}
SECURITY_ATTRIBUTES = {"sensitive": A.SENSITIVE, "always_sensitive": A.ALWAYS_SENSITIVE,
                       "extractable": A.EXTRACTABLE, "never_extractable": A.NEVER_EXTRACTABLE,
                       "local": A.LOCAL, "sign": A.SIGN, "decrypt": A.DECRYPT, "derive": A.DERIVE,
                       "modifiable": A.MODIFIABLE, "copyable": A.COPYABLE}
_PIN_WRONG = (px.PinIncorrect, px.PinInvalid, px.PinLenRange)



def key_id_for(label: str) -> bytes:
    """The CKA_ID a key labelled ``label`` gets: 8 bytes of SHA-256 over the label."""
    return hashlib.sha256(label.encode()).digest()[:8]


_registry: dict[tuple[str, str], "Token"] = {}   # one session per (module, token) per process
_registry_lock = threading.Lock()


def _load_lib(module: str) -> Any:
    if not module:
        raise SignerUnavailable("[signer] module is not set: give the PKCS#11 module path, e.g. "
                                "/usr/lib/<arch>/pkcs11/libtpm2_pkcs11.so (package libtpm2-pkcs11-1)")
    if not Path(module).is_file():
        raise SignerUnavailable(f"PKCS#11 module {module} not found: install its Debian package "
                                "(libtpm2-pkcs11-1 for the TPM, softhsm2 for SoftHSM) or fix [signer] module")
    try:
        return pkcs11.lib(module)
    except px.PKCS11Error as exc:
        raise SignerUnavailable(f"cannot load PKCS#11 module {module} ({type(exc).__name__}); "
                                "check that it is a PKCS#11 library for this CPU") from None


class Token:
    """A logged-in session on one token; obtain with :meth:`open`, give back with :meth:`release`."""

    def __init__(self, module: str, label: str, session: Any):
        self.module, self.label = module, label
        self.lock = threading.RLock()
        self._session = session
        self._pid = os.getpid()
        self._refs = 0

    @classmethod
    def open(cls, module: str, label: str, pin: str, *, pin_source: str = "the PIN file") -> "Token":
        """The process's session on token ``label`` (logging in with ``pin`` on first use)."""
        key = (str(module), label)
        with _registry_lock:
            tok = _registry.get(key)
            if tok is None:
                tok = cls(module, label, cls._login(module, label, pin, pin_source))
                _registry[key] = tok
            tok._check_pid()
            tok._refs += 1
            return tok

    @staticmethod
    def _login(module: str, label: str, pin: str, pin_source: str) -> Any:
        lib = _load_lib(module)
        try:
            token = lib.get_token(token_label=label)
        except (px.NoSuchToken, px.MultipleTokensReturned):
            raise SignerUnavailable(f"no token labelled {label!r} in {module}: check the token is plugged in, or fix "
                                    f"[signer] token (list them: pkcs11-tool --module {module} --list-token-slots)") from None
        try:
            return token.open(user_pin=pin, rw=True)
        except _PIN_WRONG:
            raise SignerUnavailable(f"the PIN in {pin_source} is wrong for token {label!r}: put the token's user PIN "
                                    "there (repeated wrong PINs lock the token)") from None
        except px.PinLocked:
            raise SignerUnavailable(f"the user PIN of token {label!r} is locked: the security officer must reset it") from None
        except px.UserAlreadyLoggedIn:
            return token.open(rw=True)   # another session of this process logged in already
        except px.PKCS11Error as exc:
            raise SignerUnavailable(f"cannot log in to token {label!r} ({type(exc).__name__}); "
                                    "check the token and its resource manager") from None

    def _check_pid(self) -> None:
        if self._pid != os.getpid():
            raise SignerUnavailable("the PKCS#11 module was loaded before this process forked; "
                                    "start workers with multiprocessing 'spawn'")

    def release(self) -> None:
        """Drop one reference; the last one closes the session (and logs out)."""
        with _registry_lock:
            self._refs -= 1
            if self._refs > 0:
                return
            _registry.pop((str(self.module), self.label), None)
            with self.lock:
                try:
                    self._session.close()
                except px.PKCS11Error:
                    log.warning("closing the PKCS#11 session of token %r failed", self.label)

    @property
    def session(self) -> Any:
        """The python-pkcs11 session (diagnostics and tests; hold :attr:`lock` while using it)."""
        return self._session

    # -- keys ---------------------------------------------------------------------------------

    def _find(self, object_class: ObjectClass, label: str) -> Any | None:
        with self.lock:
            self._check_pid()
            found = list(self._session.get_objects({A.CLASS: object_class, A.LABEL: label}))
        if len(found) > 1:
            raise SignerUnavailable(f"token {self.label!r} holds {len(found)} keys labelled {label!r}; "
                                    "remove the extra ones with pkcs11-tool --delete-object")
        return found[0] if found else None

    def private_key(self, label: str) -> Any | None:
        return self._find(ObjectClass.PRIVATE_KEY, label)

    def has_key(self, label: str) -> bool:
        return self.private_key(label) is not None

    def public_key(self, label: str) -> ec.EllipticCurvePublicKey | None:
        """The key pair's public half as a ``cryptography`` key, or None if there is no such key."""
        obj = self._find(ObjectClass.PUBLIC_KEY, label)
        if obj is None:
            return None
        with self.lock:
            der = encode_ec_public_key(obj)
        key = serialization.load_der_public_key(der)
        if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
            raise SignerUnavailable(f"key {label!r} on token {self.label!r} is not an EC P-256 key")
        return key

    def generate(self, label: str) -> ec.EllipticCurvePublicKey:
        """A new P-256 key pair on the token: sensitive, never extractable, not copyable, sign
        only, and CKA_MODIFIABLE=false (no attribute of it can change afterwards)."""
        private = {**PRIVATE_TEMPLATE, **READ_ONLY}
        key_id = key_id_for(label)
        with self.lock:
            self._check_pid()
            try:
                params = self._session.create_domain_parameters(
                    KeyType.EC, {A.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True)
                params.generate_keypair(store=True, label=label, id=key_id,
                                        capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
                                        public_template=PUBLIC_TEMPLATE, private_template=private)
            except px.PKCS11Error as exc:
                raise SignerUnavailable(f"token {self.label!r} could not generate a P-256 key "
                                        f"({type(exc).__name__}); is it write-protected or full?") from None
        log.info("generated key %r on token %r", label, self.label)
        pub = self.public_key(label)
        assert pub is not None
        return pub

    def labels(self) -> list[str]:
        """The labels of every private key on the token."""
        with self.lock:
            self._check_pid()
            found = list(self._session.get_objects({A.CLASS: ObjectClass.PRIVATE_KEY}))
            out = []
            for obj in found:
                try:
                    out.append(str(obj[A.LABEL]))
                except px.PKCS11Error:
                    continue
        return sorted(out)

    def key_id(self, label: str) -> bytes | None:
        """CKA_ID of the private key ``label`` (None when there is no such key)."""
        obj = self.private_key(label)
        if obj is None:
            return None
        with self.lock:
            return bytes(obj[A.ID])

    def destroy(self, label: str) -> None:
        with self.lock:
            for cls in (ObjectClass.PRIVATE_KEY, ObjectClass.PUBLIC_KEY):
                obj = self._find(cls, label)
                if obj is not None:
                    obj.destroy()
        log.info("destroyed key %r on token %r", label, self.label)

    def security_attributes(self, label: str) -> dict[str, bool | None]:
        """CKA_SENSITIVE, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE ... of the private key (None = unknown)."""
        obj = self.private_key(label)
        if obj is None:
            return {}
        out: dict[str, bool | None] = {}
        with self.lock:
            for name, attr in SECURITY_ATTRIBUTES.items():
                try:
                    out[name] = bool(obj[attr])
                except px.PKCS11Error:
                    out[name] = None
        return out

    def sign_digest(self, key: Any, digest: bytes) -> bytes:
        """CKM_ECDSA over a SHA-256 ``digest`` with private key object ``key``: raw ``r || s``."""
        with self.lock:
            self._check_pid()
            try:
                raw = key.sign(digest, mechanism=Mechanism.ECDSA)
            except (px.DeviceRemoved, px.TokenNotPresent, px.SessionClosed, px.SessionHandleInvalid) as exc:
                raise SignerUnavailable(f"token {self.label!r} went away while signing ({type(exc).__name__}); "
                                        "plug it back in and restart the service") from None
            except px.PKCS11Error as exc:
                raise SigningError(f"token {self.label!r} refused to sign ({type(exc).__name__})") from None
        if len(raw) != 64:
            raise SigningError(f"token {self.label!r} returned a {len(raw)}-byte signature; expected 64 (P-256)")
        return bytes(raw)
