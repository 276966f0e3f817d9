"""The strict verifier: ``HC1:`` text -> :class:`VerifyResult`, the exact reverse of encode + sign.

Strict where the hcert spec says MUST (prefix ``HC1:``, strict Base45, zlib
required, COSE_Sign1, ES256 raw ``r||s`` / PS256, kid of 8 bytes that matches a
DSC, iat/exp inside the DSC validity, EKU matching the type, exactly one of
v/t/r, standardised names that can come from Latin-script names) and tolerant
of what real certificates do (untagged or ``61(18(...))``, kid/alg in the
unprotected header, empty protected header, float iat/exp, tag-0 date-times,
the standardised-name forms issuers use: see :func:`appliance.dcc.names.fits`).

Each stage is a function of its own (``unprefix``, ``b45``, ``decompress``,
``parse_cose``, ``parse_claims``, ``check_signature``, ``check_schema``,
``name_problems``, ``check_validity``, ``check_key_usage``) so the conformance test drives the
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
from typing import Sequence

from cryptography import x509

from appliance.dcc import base45, dsc
from appliance.dcc.cose import ES256, PS256, CoseSign1, parse_cose, verify_signature
from appliance.dcc.encode import HC1_PREFIX
from appliance.dcc.claims import CWT_EXP, CWT_HCERT, CWT_IAT, CWT_ISS, Claims, _iso, dcc_type, jsonable, parse_claims
from appliance.dcc.model import SECTIONS
from appliance.dcc.payload_checks import check_schema, name_problems, schema_problems, valueset_problems
from appliance.errors import DecodeError
from appliance.dcc.sign import sig_structure

log = logging.getLogger(__name__)

CHECKS = ("prefix", "base45", "zlib", "cose", "signature", "schema", "valuesets", "names", "validity_period",
          "key_usage")
MAX_INFLATED = 256 * 1024  #: a DCC is under 2 KiB; refuse zlib bombs

__all__ = ["verify", "VerifyResult", "Claims", "CoseSign1", "CHECKS",
           # the stages, in pipeline order (the conformance test drives these)
           "unprefix", "b45", "decompress", "parse_cose", "parse_claims", "check_signature",
           "check_schema", "schema_problems", "valueset_problems", "name_problems", "check_validity", "check_key_usage",
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


def check_key_usage(type_: str | None, cert: x509.Certificate,
                    limits: Mapping[bytes, frozenset] | None = None) -> list[str]:
    """The DSC's DCC extended key usage (either OID form) must allow the type; none = any type.
    ``limits`` (kid -> types, from an installed trust list) may narrow it further."""
    if type_ is None:
        return ["key_usage: the certificate type is unknown (needs exactly one of v, t, r)"]
    allowed = dcc_types_allowed(cert)
    if allowed is None:
        return ["key_usage: the DSC's extensions cannot be read; ask the issuer for a well-formed DSC"]
    if type_ not in allowed:
        names = ", ".join(SECTIONS[t] for t in sorted(allowed)) or "no DCC"
        return [f"key_usage: the DSC may sign {names} certificates, not {SECTIONS[type_]}"]
    listed = (limits or {}).get(dsc.kid_of(cert))
    if listed is not None and type_ not in listed:
        names = ", ".join(SECTIONS[t] for t in sorted(listed))
        return [f"key_usage: the trust list allows this DSC for {names} certificates, not {SECTIONS[type_]}"]
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
    revoked: bool | None = None   #: None: no revocation list was given, or not reached
    rules: dict | None = None     #: country -> {"passed", "failed"}; None: no rules given
    reports: dict = field(default_factory=dict)  #: country -> RuleReport (per rule, with descriptions)

    @property
    def valid(self) -> bool:
        return all(v is True for v in self.checks.values()) and self.revoked is not True

    def to_json(self) -> dict:
        return {"valid": self.valid,
                "checks": {k: self.checks.get(k) for k in CHECKS},
                "type": self.type,
                "payload": self.payload,
                "kid": base64.b64encode(self.kid).decode() if self.kid is not None else None,
                "issuer_country": self.issuer_country,
                "issued_at": _iso(self.issued_at) if self.issued_at else None,
                "expires_at": _iso(self.expires_at) if self.expires_at else None,
                "revoked": self.revoked, "rules": self.rules,
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


def verify(hc1: str, *, dscs: Sequence[x509.Certificate], at: datetime, valuesets=None, revocations=None,
           rules: Sequence | None = None, rule_countries: Sequence[str] = (),
           type_limits: Mapping[bytes, frozenset] | None = None,
           prevalidated: bytes | None = None) -> VerifyResult:
    """Verify an ``HC1:`` text against trusted DSCs at the instant ``at``. Never raises on bad input.

    Optional reference data: ``valuesets`` (a :class:`~appliance.dcc.valuesets.ValueSets`, default
    the packaged ones), ``revocations`` (a :class:`~appliance.dcc.revocation.RevocationList`: sets
    ``revoked``), ``rules`` (business rules of ``rule_countries``, or of every country they cover:
    sets ``rules``) and ``type_limits`` (kid -> types an installed trust list allows).
    ``prevalidated`` (the issuer's self-check): the canonical JSON of the payload it has just
    validated against the schema; the schema pass is skipped only when the decoded payload is
    exactly those bytes (see :func:`~appliance.dcc.payload_checks.schema_problems`)."""
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

    body = result.payload if result.payload is not None else claims.dcc
    _stage(result, "signature", signature)
    _stage(result, "schema", payload_check, schema_problems, body, prevalidated)
    _stage(result, "valuesets", payload_check, valueset_problems, body, valuesets)
    _stage(result, "names", payload_check, name_problems, body)
    if result.certificate is not None:
        _stage(result, "validity_period", payload_check, check_validity, claims, result.certificate, at)
        _stage(result, "key_usage", payload_check, check_key_usage, result.type, result.certificate, type_limits)
    if revocations is not None and result.type is not None:
        result.revoked = _revoked(result, revocations, cose.signature)
    if rules is not None and result.type is not None:
        from appliance.dcc import acceptance  # lazy: the rules engine is needed only with installed rules

        result.reports = acceptance.for_verifier(rules, result.payload, countries=rule_countries, at=at,
                                                 valuesets=valuesets, iat=result.issued_at, exp=result.expires_at)
        result.rules = {cc: acceptance.summary(r) for cc, r in result.reports.items()} \
            if result.reports is not None else None
    log.debug("verified: valid=%s checks=%s", result.valid, result.checks)
    return result


def _revoked(result: VerifyResult, revocations, signature: bytes) -> bool:
    entry = (result.payload.get(result.type) or [{}])[0]
    matched = revocations.matches_entry(entry, result.issuer_country, signature)
    if matched:
        result.errors.append(f"revoked: the certificate is on the revocation list ({', '.join(matched)})")
    return bool(matched)
