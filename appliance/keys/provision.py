"""Key and DSC lifecycle on the token: keygen, CSR, import of the DSC, status, rotation.

Key labels on the token (``L`` = ``[signer] key_label``):

* ``L``       the current key; the installed DSC (``<state>/dsc.pem``) vouches for it.
* ``L-next``  made by ``keygen --rotate``; the CSR is made from it while ``L`` keeps signing.
* ``L-prev``  after ``import-dsc`` of a DSC for ``L-next``: the old key, renamed, kept until the
  next rotation (the switch happens at import; the previous DSC stays as ``dsc.pem.prev``).

Every step validates everything first and changes nothing on bad input; destructive
steps ask ``confirm(question)`` first. Time comes in as ``now``.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from appliance.util.atomic import write_atomic
from appliance.keys import csr as csrmod
from appliance.keys import labca
from appliance.dcc import dsc
from appliance.dcc.model import SECTIONS, TYPES
from appliance.devices.pkcs11_signer import (DSC_FILE, JOURNAL_SUFFIX, PENDING_SUFFIX, PREVIOUS_SUFFIX, load_dsc,
                                             read_pin, same_key, signer_target)
from appliance.devices.pkcs11_token import Token
from appliance.devices.signer import SoftwareSigner
from appliance.errors import DscError, SignerUnavailable, UsageError

log = logging.getLogger(__name__)

Confirm = Callable[[str], bool]


def open_token(config) -> tuple[Token, str]:
    """The configured token (logged in) and the current key label; release the token when done."""
    if config.signer.kind != "pkcs11":
        raise UsageError(f"[signer] kind is {config.signer.kind!r}: key provisioning needs kind = \"pkcs11\" "
                         "with module, token, key_label and pin_file")
    module, token_label, key_label = signer_target(config.signer)
    pin, source = read_pin(config.signer)
    return Token.open(module, token_label, pin, pin_source=source), key_label


def ensure_journal_key(token: Token, key_label: str) -> bool:
    """Make the journal key ``L-journal`` (read-only, never rotated) if missing; True when made.

    A device provisioned before signed journal heads gets it on its next ``keygen``."""
    label = key_label + JOURNAL_SUFFIX
    if token.has_key(label):
        return False
    token.generate(label, read_only=True)
    return True


def keygen(token: Token, key_label: str, *, rotate: bool, confirm: Confirm) -> dict[str, Any]:
    """Make the current key, or with ``rotate`` the pending key ``L-next``. Idempotent without ``rotate``.

    The journal key is made by :func:`ensure_journal_key`, in a session of its own: tpm2-pkcs11
    keeps each new key loaded for the session, and a TPM without a resource manager (swtpm
    direct) runs out of object slots when one session makes two keys.
    """
    if not token.has_key(key_label):
        token.generate(key_label)
        return {"label": key_label, "created": True, "pending": False}
    if not rotate:
        return {"label": key_label, "created": False, "pending": False}
    pending = key_label + PENDING_SUFFIX
    if token.has_key(pending):
        if not confirm(f"a pending key {pending!r} exists already (its CSR may be at the CA); replace it?"):
            raise UsageError("cancelled: nothing changed")
        token.destroy(pending)
    token.generate(pending)
    return {"label": pending, "created": True, "pending": True}


def make_csr(token: Token, key_label: str, subject: str) -> tuple[bytes, str]:
    """A PEM CSR for the pending key if there is one, else the current key; ``(pem, key label)``."""
    name = csrmod.parse_subject(subject)
    for label in (key_label + PENDING_SUFFIX, key_label):
        key = token.private_key(label)
        if key is not None:
            pub = token.public_key(label)
            return csrmod.build_csr(name, csrmod.TokenKey(lambda d, k=key: _sign(token, k, d), pub)), label
    raise SignerUnavailable(f"token {token.label!r} has no key {key_label!r}: run 'appliance provision keygen' first")


def _sign(token: Token, key: Any, data: bytes) -> bytes:
    return token.sign_digest(key, hashlib.sha256(data).digest())


def check_dsc_file(data: bytes, *, now: datetime, name: str) -> x509.Certificate:
    """Load a DSC and check it is an end-entity certificate valid now with digitalSignature."""
    try:
        cert = dsc.load_certificate(data)
    except DscError:
        raise DscError(f"{name} is not a certificate (expected PEM, DER or base64 DER); "
                       "give the DSC file the CA returned") from None
    if dsc.is_ca(cert):
        raise DscError(f"{name} is a CA certificate, not a DSC: import the certificate the CA issued to this device")
    if not dsc.has_digital_signature(cert):
        raise DscError(f"{name} lacks keyUsage digitalSignature: ask the CA for a DSC with it")
    if not dsc.dcc_types_allowed(cert):
        raise DscError(f"{name} allows no DCC type (its extended key usage names none of test, vaccination, "
                       "recovery, or cannot be read): ask the CA for a proper DSC")
    if now < dsc.not_before(cert):
        raise DscError(f"{name} is not valid before {dsc.not_before(cert):%Y-%m-%d %H:%M} UTC: check the clock")
    if now > dsc.not_after(cert):
        raise DscError(f"{name} expired on {dsc.not_after(cert):%Y-%m-%d}: make a new CSR and get a new DSC")
    return cert


def import_dsc(token: Token, key_label: str, state_dir: Path, data: bytes, *, now: datetime,
               confirm: Confirm, name: str = "the file") -> dict[str, Any]:
    """Install a DSC for the current or the pending key (the latter switches keys)."""
    cert = check_dsc_file(data, now=now, name=name)
    pending = key_label + PENDING_SUFFIX
    if not token.has_key(key_label) and not token.has_key(pending):
        raise SignerUnavailable(f"token {token.label!r} has no key {key_label!r}: run 'appliance provision keygen', "
                                "then make a CSR for the CA")
    if same_key(cert, token.public_key(key_label)):
        switch = False
    elif same_key(cert, token.public_key(pending)):
        switch = True
    else:
        raise DscError(f"{name} is for another key: it does not carry the public key of {key_label!r} "
                       f"(or {pending!r}) on token {token.label!r}; import the DSC made from this device's CSR")
    pem = cert.public_bytes(serialization.Encoding.PEM)
    path = Path(state_dir) / DSC_FILE
    current = load_dsc(state_dir)
    if current is not None and current == cert and not switch:
        return {"kid": dsc.kid_b64(cert), "changed": False, "switched": False}
    if switch:
        if not confirm(f"this DSC is for the new key {pending!r}: switch signing to it now? "
                       f"(the current key becomes {key_label + PREVIOUS_SUFFIX!r})"):
            raise UsageError("cancelled: nothing changed")
        previous = key_label + PREVIOUS_SUFFIX
        if token.has_key(previous):
            token.destroy(previous)
        token.relabel(key_label, previous)
        token.relabel(pending, key_label)
    Path(state_dir).mkdir(parents=True, exist_ok=True)
    if path.exists():
        write_atomic(path.with_name(DSC_FILE + ".prev"), path.read_bytes())
    write_atomic(path, pem)
    log.info("installed DSC kid=%s (key switch: %s)", dsc.kid_b64(cert), switch)
    return {"kid": dsc.kid_b64(cert), "changed": True, "switched": switch}



def describe_dsc(cert: x509.Certificate, now: datetime) -> dict[str, Any]:
    return {"subject": cert.subject.rfc4514_string(), "issuer": cert.issuer.rfc4514_string(),
            "serial": format(cert.serial_number, "x"),
            "not_before": dsc.not_before(cert).isoformat(), "not_after": dsc.not_after(cert).isoformat(),
            "days_left": dsc.days_left(cert, now),
            "eku": [SECTIONS[t] for t in TYPES if t in (dsc.dcc_types_allowed(cert) or set())],
            "kid": dsc.kid_b64(cert)}


def dsc_problems(cert: x509.Certificate | None, now: datetime) -> tuple[list[str], list[str]]:
    """``(problems, warnings)`` of an installed DSC at ``now``."""
    if cert is None:
        return ["no DSC installed: make a CSR, get it signed, then 'appliance provision import-dsc FILE'"], []
    problems = []
    for t in sorted(dsc.dcc_types_allowed(cert) or "v"):  # unreadable EKU: check_dsc_for_issuing says so
        try:
            dsc.check_dsc_for_issuing(cert, t, now)
        except DscError as exc:
            problems.append(str(exc))
            break

    warnings = []
    left = dsc.days_left(cert, now)
    if not problems and left < dsc.WARN_DAYS:
        warnings.append(f"the DSC expires in {left} days ({dsc.not_after(cert):%Y-%m-%d}): "
                        "run 'appliance provision keygen --rotate' and 'csr' now")
    return problems, warnings


def status(config, *, now: datetime) -> dict[str, Any]:
    """Everything a technician checks: token, key, pending key, DSC, problems and warnings."""
    out: dict[str, Any] = {"signer": config.signer.kind, "token": None, "key": None, "pending_key": None,
                           "dsc": None, "problems": [], "warnings": []}
    try:
        cert = load_dsc(config.state_dir)
    except DscError as exc:
        cert = None
        out["problems"].append(str(exc))
    if config.signer.kind == "software":
        out["warnings"].append("software signer: the key is a file (demo only, not hardware-protected)")
        out["key"] = {"label": "software", "present": True, "non_extractable": False}
        try:
            cert = SoftwareSigner.open(config.state_dir, create=False).certificate
        except SignerUnavailable as exc:
            out["problems"].append(str(exc))
    else:
        try:
            token, key_label = open_token(config)
        except SignerUnavailable as exc:
            out["problems"].append(str(exc))
        else:
            try:
                _token_status(out, token, key_label, cert)
            finally:
                token.release()
    if cert is not None:
        out["dsc"] = describe_dsc(cert, now)
    problems, warnings = dsc_problems(cert, now)
    out["problems"] += problems
    out["warnings"] += warnings
    out["ready"] = not out["problems"]
    return out


def _token_status(out: dict, token: Token, key_label: str, cert: x509.Certificate | None) -> None:
    out["token"] = {"label": token.label, "module": token.module, "present": True}
    for field, label in (("key", key_label), ("pending_key", key_label + PENDING_SUFFIX)):
        pub = token.public_key(label)
        if not token.has_key(label) or pub is None:
            continue
        attrs = token.security_attributes(label)
        out[field] = {"label": label, "present": True, "attributes": attrs,
                      "non_extractable": bool(attrs.get("never_extractable") and attrs.get("always_sensitive")
                                              and attrs.get("sensitive")),
                      "matches_dsc": bool(cert is not None and same_key(cert, pub))}
    journal_label = key_label + JOURNAL_SUFFIX
    if token.has_key(journal_label):
        attrs = token.security_attributes(journal_label)
        out["journal_key"] = {"label": journal_label, "present": True, "attributes": attrs}
    else:
        out["warnings"].append(f"token {token.label!r} has no journal key {journal_label!r}: the journal's heads "
                               "are not signed; run 'appliance provision keygen' to add it")
    if out["key"] is None:
        out["problems"].append(f"token {token.label!r} has no key {key_label!r}: run 'appliance provision keygen'")
    elif not out["key"]["non_extractable"]:
        out["problems"].append(f"key {key_label!r} is not marked never-extractable/always-sensitive: "
                               "make a new key on the token ('keygen --rotate')")
    elif cert is not None and not out["key"]["matches_dsc"]:
        out["problems"].append("the installed DSC is for another key: import the DSC made from this key's CSR")


def lab_provision(config, *, now: datetime, subject: str = "C=DE,O=Demo,CN=DSC demo") -> str:
    """Demo/bench/test shortcut: key (if none), CSR, LAB/TEST CSCA, DSC imported. Returns the kid.

    Idempotent: a device that already has a DSC for its key is left as it is.
    """
    token, key_label = open_token(config)
    try:
        ensure_journal_key(token, key_label)
    finally:
        token.release()
    token, key_label = open_token(config)
    try:
        keygen(token, key_label, rotate=False, confirm=lambda q: False)
        current = load_dsc(config.state_dir)
        if current is not None and same_key(current, token.public_key(key_label)):
            return dsc.kid_b64(current)
        pem, _ = make_csr(token, key_label, subject)
        ca, _ = labca.init(config.state_dir, country=config.device.country, now=now)
        cert = labca.sign_csr(ca, labca.load_csr(pem), types="".join(TYPES), now=now)
        result = import_dsc(token, key_label, config.state_dir, cert.public_bytes(serialization.Encoding.PEM),
                            now=now, confirm=lambda q: False)
    finally:
        token.release()
    return result["kid"]
