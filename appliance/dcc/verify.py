"""The strict verifier: ``HC1:`` text -> :class:`VerifyResult`, the exact reverse of encode + sign.

Strict where the hcert spec says MUST (prefix ``HC1:``, strict Base45, zlib
required, COSE_Sign1, ES256 raw ``r||s`` / PS256, kid of 8 bytes that matches a
DSC, iat/exp inside the DSC validity, EKU matching the type, exactly one of
v/t/r) and tolerant of what real certificates do (untagged or ``61(18(...))``,
kid/alg in the unprotected header, empty protected header, float iat/exp,
tag-0 date-times).

Each stage is a function of its own (``unprefix``, ``b45``, ``decompress``,
``parse_cose``, ``parse_claims``, ``check_signature``, ``check_schema``,
``check_validity``, ``check_key_usage``) so the conformance test drives the
real code. Stages raise :class:`~appliance.errors.DecodeError` with a one-line
reason; :func:`verify` turns every failure into ``check = False`` plus an error
line and never raises on garbage. Pure: ``at`` and the DSCs come in as arguments.
"""

from __future__ import annotations

import base64
import logging
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Sequence

import cbor2
from cryptography import x509

from appliance.dcc import base45, dsc
from appliance.dcc.cose import ES256, PS256, CoseSign1, parse_cose, verify_signature
from appliance.dcc.encode import HC1_PREFIX
from appliance.dcc.model import SECTIONS, TYPES
from appliance.errors import DecodeError
from appliance.dcc.sign import sig_structure

log = logging.getLogger(__name__)

CHECKS = ("prefix", "base45", "zlib", "cose", "signature", "schema", "validity_period", "key_usage")
MAX_INFLATED = 256 * 1024  #: a DCC is under 2 KiB; refuse zlib bombs
CWT_ISS, CWT_EXP, CWT_IAT, CWT_HCERT = 1, 4, 6, -260

__all__ = ["verify", "VerifyResult", "Claims", "CoseSign1", "CHECKS",
           # the stages, in pipeline order (the conformance test drives these)
           "unprefix", "b45", "decompress", "parse_cose", "parse_claims", "check_signature",
           "check_schema", "schema_problems", "valueset_problems", "check_validity", "check_key_usage",
           "dcc_types_allowed", "dcc_type", "jsonable"]


def unprefix(text: str) -> str:
    """Strip the context identifier; only ``HC1:`` is accepted (not ``HC2:``, ``hc1:`` or none)."""
    if not isinstance(text, str) or not text.startswith(HC1_PREFIX):
        head = text[:4] if isinstance(text, str) else ""
        if len(head) == 4 and head[:2] == "HC" and head[3] == ":":
            raise DecodeError(f"prefix: {head!r} is a context this verifier does not support; only HC1: is")
        raise DecodeError("prefix: the text does not start with 'HC1:'; is this an EU DCC?")
    return text[len(HC1_PREFIX):]


def b45(text: str) -> bytes:
    """Strict Base45 (space is a Base45 character, never strip it)."""
    return base45.b45decode(text)


def decompress(data: bytes) -> bytes:
    """zlib (RFC 1950) is required: uncompressed COSE and broken or truncated streams are rejected."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_INFLATED)
    except zlib.error as exc:
        hint = " (looks like an uncompressed COSE message)" if data[:1] in (b"\xd2", b"\x84", b"\xd8") else ""
        raise DecodeError(f"zlib: the data is not a zlib stream{hint}: {exc}") from None
    if inflater.unconsumed_tail:
        raise DecodeError(f"zlib: the data inflates to more than {MAX_INFLATED} bytes; not a DCC")
    if not inflater.eof:
        raise DecodeError("zlib: the compressed stream is truncated")
    return out


def check_signature(cose: CoseSign1, dscs: Sequence[x509.Certificate]) -> tuple[x509.Certificate | None, list[str]]:
    """Find every DSC with the kid and verify; returns ``(the DSC that verified, problems)``."""
    kid, alg = cose.kid, cose.alg
    if kid is None:
        return None, ["signature: the COSE headers carry no kid (4) byte string"]
    if len(kid) != 8:
        return None, [f"signature: the kid is {len(kid)} bytes long; a DCC kid has 8"]
    if alg not in (ES256, PS256):
        return None, [f"signature: algorithm {alg!r} is not supported (ES256 -7 or PS256 -37)"]
    candidates = [c for c in dscs if dsc.kid_of(c) == kid]
    kid_text = base64.b64encode(kid).decode()
    if not candidates:
        return None, [f"signature: no trusted DSC has kid {kid_text}; pass the issuer's DSC with --dsc"]
    tbs = sig_structure(cose.protected_bytes, cose.payload)
    for cert in candidates:
        if verify_signature(cert, alg, cose.signature, tbs):
            return cert, []
    return None, [f"signature: the signature does not verify with the DSC for kid {kid_text} "
                  f"({'ES256' if alg == ES256 else 'PS256'}); the certificate was altered or signed by another key"]


@dataclass(frozen=True)
class Claims:
    """The CWT claims that matter: issuer country, iat, exp and the DCC payload."""

    issuer_country: str | None
    issued_at: datetime | None
    expires_at: datetime | None
    dcc: Any


def _numeric_date(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DecodeError(f"cose: the CWT claim {name} is not a number")
    try:
        return datetime.fromtimestamp(value, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise DecodeError(f"cose: the CWT claim {name} is out of range") from None


def parse_claims(payload: bytes) -> Claims:
    """Decode the CWT payload ``{1: iss, 4: exp, 6: iat, -260: {1: dcc}}`` (floats and tag 0 tolerated)."""
    try:
        claims = cbor2.loads(payload)
    except Exception as exc:  # noqa: BLE001 - any garbage is a decode failure
        raise DecodeError(f"cose: the CWT payload is not valid CBOR ({type(exc).__name__})") from None
    if not isinstance(claims, Mapping):
        raise DecodeError("cose: the CWT payload is not a CBOR map")
    hcert = claims.get(CWT_HCERT)
    if not isinstance(hcert, Mapping) or 1 not in hcert:
        raise DecodeError("cose: the CWT has no hcert claim (-260) with an eu_dcc_v1 (1) entry")
    iss = claims.get(CWT_ISS)
    return Claims(issuer_country=iss if isinstance(iss, str) else None,
                  issued_at=_numeric_date(claims.get(CWT_IAT), "iat (6)"),
                  expires_at=_numeric_date(claims.get(CWT_EXP), "exp (4)"),
                  dcc=hcert[1])


def _iso(value: datetime) -> str:
    value = value.astimezone(timezone.utc)
    return value.isoformat(timespec="microseconds" if value.microsecond else "seconds").replace("+00:00", "Z")


def jsonable(value: Any) -> Any:
    """The DCC as JSON types: tag-0 date-times back to RFC 3339 text, bytes to base64."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return _iso(value) if value.tzinfo else value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    tag_value = getattr(value, "value", None)  # CBORTag and friends
    return jsonable(tag_value) if tag_value is not None else str(value)


def dcc_type(dcc: Any) -> str | None:
    """``"v"``, ``"t"`` or ``"r"`` when exactly one group is present, else ``None``."""
    if not isinstance(dcc, dict):
        return None
    present = [t for t in TYPES if t in dcc]
    return present[0] if len(present) == 1 else None


#: ``format: date`` fields where real issuers put a full date-time (SG, BG, PL); the date part is checked.
DATE_FIELDS = {"v": ("dt",), "r": ("fr", "df", "du")}


def _dates_tolerated(dcc: dict) -> dict:
    """A copy of the DCC whose date fields holding an RFC 3339 date-time keep only the date part."""
    out = dict(dcc)
    for group, fields in DATE_FIELDS.items():
        entries = dcc.get(group)
        if not isinstance(entries, list):
            continue
        out[group] = [{k: (v[:10] if k in fields and isinstance(v, str) and len(v) > 10 and v[10:11] in "Tt"
                           else v) for k, v in e.items()} if isinstance(e, dict) else e for e in entries]
    return out


def schema_problems(dcc: Any) -> list[str]:
    """The JSON schema 1.3.x (with format checks) and exactly one of v/t/r; empty = valid."""
    from appliance.dcc import schema  # lazy: jsonschema costs ~70 ms, and the cli imports this for every command

    if not isinstance(dcc, dict):
        return ["schema: the payload is not a JSON object"]
    problems = []
    groups = [t for t in TYPES if t in dcc]
    if len(groups) != 1:
        problems.append(f"schema: a DCC holds exactly one of v, t or r; this one has {len(groups)}")
    problems += [f"schema: {p}" for p in schema.validate(_dates_tolerated(dcc))]
    return list(dict.fromkeys(problems))


def valueset_problems(dcc: Any) -> list[str]:
    """Codes outside the EU value sets (the schema itself does not check them); empty = all known."""
    from appliance.dcc import schema  # lazy: jsonschema costs ~70 ms, and the cli imports this for every command

    return [f"schema: {p}" for p in schema.check_valuesets(dcc)] if isinstance(dcc, dict) else []


def check_schema(dcc: Any) -> list[str]:
    """Everything wrong with the payload: schema, exactly one group, value sets; empty = valid."""
    return schema_problems(dcc) + valueset_problems(dcc)


dcc_types_allowed = dsc.dcc_types_allowed


def check_validity(claims: Claims, cert: x509.Certificate | None, at: datetime) -> list[str]:
    """``DSC.notBefore <= iat <= at <= exp <= DSC.notAfter`` (the dgc-testdata harness rule)."""
    at = at.astimezone(timezone.utc)
    iat, exp = claims.issued_at, claims.expires_at
    problems = []
    if iat is None or exp is None:
        return ["validity_period: the CWT lacks iat (6) or exp (4)"]
    if at < iat:
        problems.append(f"validity_period: issued at {_iso(iat)}, after the verification time {_iso(at)}; check the clock")
    if at > exp:
        problems.append(f"validity_period: expired at {_iso(exp)}")
    if cert is not None:
        if iat < dsc.not_before(cert):
            problems.append(f"validity_period: issued at {_iso(iat)}, before the DSC became valid "
                            f"({_iso(dsc.not_before(cert))})")
        if exp > dsc.not_after(cert):
            problems.append(f"validity_period: expires at {_iso(exp)}, after the DSC expires ({_iso(dsc.not_after(cert))})")
    return problems


def check_key_usage(type_: str | None, cert: x509.Certificate) -> list[str]:
    """The DSC's DCC extended key usage (either OID form) must allow the type; none = any type."""
    if type_ is None:
        return ["key_usage: the certificate type is unknown (needs exactly one of v, t, r)"]
    allowed = dcc_types_allowed(cert)
    if allowed is None:
        return ["key_usage: the DSC's extensions cannot be read; ask the issuer for a well-formed DSC"]
    if type_ not in allowed:
        names = ", ".join(SECTIONS[t] for t in sorted(allowed)) or "no DCC"
        return [f"key_usage: the DSC may sign {names} certificates, not {SECTIONS[type_]}"]
    return []


@dataclass
class VerifyResult:
    """What :func:`verify` found; ``to_json()`` is the ``appliance verify --json`` object."""

    checks: dict[str, bool | None] = field(default_factory=lambda: dict.fromkeys(CHECKS))
    type: str | None = None
    payload: dict | None = None
    kid: bytes | None = None
    issuer_country: str | None = None
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    errors: list[str] = field(default_factory=list)
    certificate: x509.Certificate | None = None  #: the DSC whose key verified the signature

    @property
    def valid(self) -> bool:
        return all(v is True for v in self.checks.values())

    def to_json(self) -> dict:
        return {"valid": self.valid,
                "checks": {k: self.checks.get(k) for k in CHECKS},
                "type": self.type,
                "payload": self.payload,
                "kid": base64.b64encode(self.kid).decode() if self.kid is not None else None,
                "issuer_country": self.issuer_country,
                "issued_at": _iso(self.issued_at) if self.issued_at else None,
                "expires_at": _iso(self.expires_at) if self.expires_at else None,
                "errors": list(self.errors)}

    def _set(self, name: str, problems: list[str]) -> bool:
        self.checks[name] = not problems
        self.errors += problems
        return not problems


def _stage(result: VerifyResult, name: str, fn, *args):
    """Run one stage; a DecodeError (or a bug below us) becomes ``check = False`` + one error line."""
    try:
        value = fn(*args)
    except DecodeError as exc:
        result._set(name, [str(exc)])
        return None
    except Exception as exc:  # noqa: BLE001 - the verifier never raises on input
        log.error("verifier stage %s failed unexpectedly: %s", name, type(exc).__name__)
        log.debug("verifier stage %s traceback", name, exc_info=True)
        result._set(name, [f"{name}: internal error ({type(exc).__name__}); please report this certificate"])
        return None
    result.checks[name] = True
    return value


def _decode(cose_bytes: bytes) -> tuple[CoseSign1, Claims]:
    cose = parse_cose(cose_bytes)
    return cose, parse_claims(cose.payload)


def verify(hc1: str, *, dscs: Sequence[x509.Certificate], at: datetime) -> VerifyResult:
    """Verify an ``HC1:`` text against trusted DSCs at the instant ``at``. Never raises on bad input."""
    result = VerifyResult()
    text = _stage(result, "prefix", unprefix, hc1)
    data = None if text is None else _stage(result, "base45", b45, text)
    cose_bytes = None if data is None else _stage(result, "zlib", decompress, data)
    decoded = None if cose_bytes is None else _stage(result, "cose", _decode, cose_bytes)
    if decoded is None:
        return result
    cose, claims = decoded
    result.kid = cose.kid
    result.issuer_country = claims.issuer_country
    result.issued_at, result.expires_at = claims.issued_at, claims.expires_at
    result.payload = jsonable(claims.dcc) if isinstance(claims.dcc, Mapping) else None
    result.type = dcc_type(result.payload)

    def signature():
        cert, problems = check_signature(cose, dscs)
        result.certificate = cert
        if problems:
            raise DecodeError(problems[0])

    def payload_check(fn, *args):
        problems = fn(*args)
        if problems:
            result.errors.extend(problems[1:])
            raise DecodeError(problems[0])

    _stage(result, "signature", signature)
    _stage(result, "schema", payload_check, check_schema, result.payload if result.payload is not None else claims.dcc)
    if result.certificate is not None:
        _stage(result, "validity_period", payload_check, check_validity, claims, result.certificate, at)
        _stage(result, "key_usage", payload_check, check_key_usage, result.type, result.certificate)
    log.debug("verified: valid=%s checks=%s", result.valid, result.checks)
    return result
