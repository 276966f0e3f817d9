"""Key and DSC lifecycle on the token: keygen, CSR, import of the DSC, status, rotation.

Keys on the token (``L`` = ``[signer] key_label``) are read-only (CKA_MODIFIABLE=false), so
rotation never renames or changes one. Each rotation makes a key of a new *generation*:

* ``L`` is generation 1 (the first key), ``L-gen2``, ``L-gen3`` ... the later ones
  (``L-prev``/``L-next`` of older software count as generations 0 and 2);
* the **active** key, the one that signs, is the one ``<state>/signing-key.json`` names (label
  and CKA_ID); without that record it is ``L``. The installed DSC (``dsc.pem``) vouches for it;
* ``keygen --rotate`` makes the **pending** key (the next generation); the CSR is made from it
  while the active key keeps signing;
* ``import-dsc`` of a DSC for the pending key switches: it writes the record, then the DSC (the
  previous DSC stays as ``dsc.pem.prev``). The replaced key stays, unchanged, as the previous
  key until the next switch, which destroys it.

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
from appliance.devices.pkcs11_signer import DSC_FILE, JOURNAL_SUFFIX, load_dsc, read_pin, same_key, signer_target
from appliance.devices.signing_keys import active_label, generation, generation_label, key_family, write_active_record
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
    token.generate(label)
    return True


def active_key(token: Token, key_label: str, state_dir: Path) -> str:
    """The label of the key that signs (see the module docstring)."""
    return active_label(token, key_label, state_dir)


def pending_key(token: Token, key_label: str, state_dir: Path) -> str | None:
    """The newest key of a later generation than the active one (made by ``keygen --rotate``), or None."""
    current = generation(key_label, active_key(token, key_label, state_dir))
    later = [label for n, label in key_family(token, key_label) if current is not None and n > current]
    return later[-1] if later else None


def keygen(token: Token, key_label: str, *, rotate: bool, confirm: Confirm, state_dir: Path) -> dict[str, Any]:
    """Make the first key, or with ``rotate`` the pending key (the next generation). Idempotent
    without ``rotate``. No existing key is changed; a pending key is replaced only after ``confirm``.

    The journal key is made by :func:`ensure_journal_key`, in a session of its own: tpm2-pkcs11
    keeps each new key loaded for the session, and a TPM without a resource manager (swtpm
    direct) runs out of object slots when one session makes two keys.
    """
    active = active_key(token, key_label, state_dir)
    if not token.has_key(active):
        if key_family(token, key_label):
            raise SignerUnavailable(f"the active key {active!r} is missing on token {token.label!r}, but other keys "
                                    f"of {key_label!r} are there: import the DSC of the key to use "
                                    "('appliance provision import-dsc FILE')")
        token.generate(key_label)
        return {"label": key_label, "created": True, "pending": False}
    if not rotate:
        return {"label": active, "created": False, "pending": False}
    pending = pending_key(token, key_label, state_dir)
    if pending is not None:
        if not confirm(f"a pending key {pending!r} exists already (its CSR may be at the CA); replace it?"):
            raise UsageError("cancelled: nothing changed")
        token.destroy(pending)
    newest = max(n for n, _ in key_family(token, key_label))
    label = generation_label(key_label, max(newest + 1, 2))
    token.generate(label)
    return {"label": label, "created": True, "pending": True}


def make_csr(token: Token, key_label: str, subject: str, *, state_dir: Path) -> tuple[bytes, str]:
    """A PEM CSR for the pending key if there is one, else the active key; ``(pem, key label)``."""
    name = csrmod.parse_subject(subject)
    for label in (pending_key(token, key_label, state_dir), active_key(token, key_label, state_dir)):
        key = token.private_key(label) if label else None
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
    """Install a DSC for the active key, or for another key of the family (the pending one after
    ``keygen --rotate``), which switches signing to it. No key object is changed."""
    cert = check_dsc_file(data, now=now, name=name)
    family = key_family(token, key_label)
    if not family:
        raise SignerUnavailable(f"token {token.label!r} has no key {key_label!r}: run 'appliance provision keygen', "
                                "then make a CSR for the CA")
    active = active_key(token, key_label, state_dir)
    target = next((label for _, label in reversed(family) if same_key(cert, token.public_key(label))), None)
    if target is None:
        raise DscError(f"{name} is for another key: it does not carry the public key of {active!r} "
                       f"(or of a newer key of {key_label!r}) on token {token.label!r}; import the DSC made from "
                       "this device's CSR")
    switch = target != active
    pem = cert.public_bytes(serialization.Encoding.PEM)
    path = Path(state_dir) / DSC_FILE
    current = load_dsc(state_dir)
    if current is not None and current == cert and not switch:
        return {"kid": dsc.kid_b64(cert), "changed": False, "switched": False}
    if switch:
        if not confirm(f"this DSC is for the new key {target!r}: switch signing to it now? "
                       f"(the current key {active!r} is kept as the previous one)"):
            raise UsageError("cancelled: nothing changed")
    Path(state_dir).mkdir(parents=True, exist_ok=True)
    if switch:  # the record first: a crash before the DSC is written leaves a state import-dsc repairs
        write_active_record(state_dir, target, token.key_id(target) or b"")
    if path.exists():
        write_atomic(path.with_name(DSC_FILE + ".prev"), path.read_bytes())
    write_atomic(path, pem)
    if switch:
        for _, label in family:   # keep the new key and the one it replaces; older ones go
            if label not in (target, active):
                token.destroy(label)
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
                _token_status(out, token, key_label, cert, config.state_dir)
            finally:
                token.release()
    if cert is not None:
        out["dsc"] = describe_dsc(cert, now)
    problems, warnings = dsc_problems(cert, now)
    out["problems"] += problems
    out["warnings"] += warnings
    out["ready"] = not out["problems"]
    return out


def _token_status(out: dict, token: Token, key_label: str, cert: x509.Certificate | None, state_dir: Path) -> None:
    out["token"] = {"label": token.label, "module": token.module, "present": True}
    for field, label in (("key", active_key(token, key_label, state_dir)),
                         ("pending_key", pending_key(token, key_label, state_dir))):
        pub = token.public_key(label) if label else None
        if pub is None or not token.has_key(label):
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
        out["problems"].append(f"token {token.label!r} has no key {active_key(token, key_label, state_dir)!r}: "
                               "run 'appliance provision keygen'")
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
        keygen(token, key_label, rotate=False, confirm=lambda q: False, state_dir=config.state_dir)
        current = load_dsc(config.state_dir)
        if current is not None and same_key(current, token.public_key(active_key(token, key_label, config.state_dir))):
            return dsc.kid_b64(current)
        pem, _ = make_csr(token, key_label, subject, state_dir=config.state_dir)
        ca, _ = labca.init(config.state_dir, country=config.device.country, now=now)
        cert = labca.sign_csr(ca, labca.load_csr(pem), types="".join(TYPES), now=now)
        result = import_dsc(token, key_label, config.state_dir, cert.public_bytes(serialization.Encoding.PEM),
                            now=now, confirm=lambda q: False)
    finally:
        token.release()
    return result["kid"]
