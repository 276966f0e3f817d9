"""The four content types of a bundle: their JSON shape, their checks, and reading them from files.

==============  ===================================================================================
``valuesets``   ``{"<valueSetId>": <EU value-set document: valueSetId, valueSetDate, valueSetValues>}``
``trustlist``   ``[{"kid": b64, "country": "AT", "types": ["v", "t", "r"], "certificate": b64 DER}]``
``revocations`` ``[<gateway revocation batch: country, kid, hashType, expires, entries[{hash}]>]``
                 (the hub's ``/api/v1/revocations`` export feeds it as it is)
``rules``       ``[<gateway rule JSON>]``: checked against the gateway's rule schema
                 (``data/validation-rule.schema.json``) and as CertLogic
==============  ===================================================================================

:func:`check_parts` decodes and checks every part of a bundle; a problem is a
:class:`ReferenceDataError` naming the part, the item and what is wrong. Nothing here
writes to disk.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from appliance.dcc import dsc, revocation, rules
from appliance.errors import ApplianceError, InvalidInput
from appliance.reference.bundle import Part, refuse

log = logging.getLogger(__name__)

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_COUNTRY = re.compile(r"[A-Z]{2}")
TYPES = ("v", "t", "r")
ENCODING_ID = "vaccines-covid-19-encoding-instructions"


def to_part(content: Any, *, version: int, created: str) -> Part:
    """Canonical JSON bytes of checked content as a bundle part."""
    data = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return Part(version, created, data, len(content))


def check_parts(parts: Mapping[str, Part]) -> dict[str, Any]:
    """Decode every part's JSON and check it; returns content type -> decoded content."""
    out = {}
    for name, part in parts.items():
        try:
            content = json.loads(part.data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise refuse(name, f"not valid UTF-8 JSON ({type(exc).__name__})") from None
        CHECKS[name](content)
        out[name] = content
    return out


# ------------------------------------------------------------------------------------ checks
def check_valuesets(content: Any) -> None:
    if not isinstance(content, Mapping) or not content:
        raise refuse("valuesets", "must be a non-empty object of valueSetId -> value-set document")
    for set_id, doc in content.items():
        where = f"valuesets.{set_id}"
        if not isinstance(doc, Mapping) or doc.get("valueSetId") != set_id:
            raise refuse(where, "must be a value-set document whose valueSetId is its key")
        if not isinstance(doc.get("valueSetDate"), str) or not _DATE.fullmatch(doc["valueSetDate"]):
            raise refuse(where, "valueSetDate must be a date YYYY-MM-DD")
        values = doc.get("valueSetValues")
        if not isinstance(values, Mapping) or not values:
            raise refuse(where, "valueSetValues must be a non-empty object")
        for code, value in values.items():
            if not isinstance(value, Mapping):
                raise refuse(f"{where}.{code}", "must be an object")
            if set_id != ENCODING_ID and (not isinstance(value.get("display"), str)
                                          or not isinstance(value.get("active"), bool)):
                raise refuse(f"{where}.{code}", "needs a display text and active true/false")


def _b64(value: Any) -> bytes | None:
    try:
        return base64.b64decode(value, validate=True) if isinstance(value, str) else None
    except (binascii.Error, ValueError):
        return None


def check_trustlist(content: Any) -> None:
    if not isinstance(content, list):
        raise refuse("trustlist", "must be a list of {kid, country, types, certificate}")
    for i, entry in enumerate(content):
        where = f"trustlist[{i}]"
        if not isinstance(entry, Mapping):
            raise refuse(where, "must be an object")
        der = _b64(entry.get("certificate"))
        try:  # DER as it is (dsc.load_certificate strips whitespace bytes, which can end a DER)
            cert = x509.load_der_x509_certificate(der) if der else None
        except ValueError:
            cert = None
        if cert is None:
            raise refuse(f"{where}.certificate", "must be the base64 of a DER X.509 certificate")
        if _b64(entry.get("kid")) != dsc.kid_of(cert):
            raise refuse(f"{where}.kid", f"does not match the certificate (its kid is {dsc.kid_b64(cert)})")
        if not isinstance(entry.get("country"), str) or not _COUNTRY.fullmatch(entry["country"]):
            raise refuse(f"{where}.country", "must be two capital letters")
        types = entry.get("types")
        if not isinstance(types, list) or not types or any(t not in TYPES for t in types):
            raise refuse(f"{where}.types", "must be a non-empty list of v, t and r")


def check_revocations(content: Any) -> None:
    if not isinstance(content, list):
        raise refuse("revocations", "must be a list of gateway revocation batches")
    for i, batch in enumerate(content):
        problems = revocation.batch_problems(batch, f"revocations[{i}]")
        if problems:
            part, _, problem = problems[0].partition(": ")
            raise refuse(part, problem)


@functools.cache
def _rule_validator():
    from jsonschema import Draft202012Validator  # lazy: jsonschema costs ~70 ms on every command

    ref = resources.files("appliance.reference") / "data" / "validation-rule.schema.json"
    return Draft202012Validator(json.loads(ref.read_text(encoding="utf-8")))


def check_rules(content: Any) -> None:
    if not isinstance(content, list):
        raise refuse("rules", "must be a list of gateway rule objects")
    for i, obj in enumerate(content):
        name = obj.get("Identifier") if isinstance(obj, Mapping) and isinstance(obj.get("Identifier"), str) else "?"
        where = f"rules[{i}] ({name})"
        errors = sorted(_rule_validator().iter_errors(obj), key=lambda e: list(map(str, e.path)))
        if errors:
            path = ".".join(map(str, errors[0].path)) or "(rule)"
            raise refuse(where, f"fails the gateway's rule schema at {path}: {errors[0].message[:200]}")
        try:
            rules.parse_rule(obj)
        except InvalidInput as exc:
            raise refuse(where, str(exc).removeprefix(f"rule {name}: ")) from None


CHECKS = {"valuesets": check_valuesets, "trustlist": check_trustlist, "revocations": check_revocations,
          "rules": check_rules}


# ------------------------------------------------------------------- reading input files
def _load_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise refuse(what, f"{path}: cannot read ({exc.strerror})") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise refuse(what, f"{path}: not valid JSON ({exc})") from None


def _files(folder: Path, what: str) -> list[Path]:
    if not folder.is_dir():
        raise refuse(what, f"{folder} is not a folder")
    return sorted(p for p in folder.rglob("*.json") if "tests" not in p.relative_to(folder).parts[:-1])


def read_valuesets(folder: Path) -> dict:
    """Every ``*.json`` value-set document of a folder, keyed by its valueSetId."""
    docs = {}
    for path in _files(folder, "valuesets"):
        doc = _load_json(path, "valuesets")
        if not isinstance(doc, Mapping) or not isinstance(doc.get("valueSetId"), str):
            raise refuse("valuesets", f"{path.name}: not a value-set document (no valueSetId)")
        docs[doc["valueSetId"]] = doc
    check_valuesets(docs)
    return docs


def read_trustlist(path: Path) -> list:
    """A JSON list of ``{certificate (base64 DER or PEM), country, types[, kid]}``; kid is filled in."""
    out = []
    for i, entry in enumerate(_list(_load_json(path, "trustlist"), "trustlist")):
        entry = dict(entry) if isinstance(entry, Mapping) else {}
        text = entry.get("certificate")
        if isinstance(text, str) and "BEGIN CERTIFICATE" in text:
            try:
                cert = dsc.load_certificate(text.encode())
                entry["certificate"] = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
            except ApplianceError as exc:
                raise refuse(f"trustlist[{i}].certificate", str(exc)) from None
        der = _b64(entry.get("certificate"))
        if der and "kid" not in entry:
            try:
                entry["kid"] = dsc.kid_b64(x509.load_der_x509_certificate(der))
            except ValueError:
                pass  # check_trustlist names it
        out.append(entry)
    check_trustlist(out)
    return out


def read_revocations(path: Path) -> list:
    """Gateway revocation batches: a list, or the hub's export ``{"batches": [...]}``."""
    data = _load_json(path, "revocations")
    batches = data.get("batches") if isinstance(data, Mapping) else data
    check_revocations(_list(batches, "revocations"))
    return batches


def read_rules(folder: Path) -> list:
    """Every rule of ``*.json`` files under a folder (a file holds a rule or a list of rule
    versions; ``tests/`` folders, as in the gateway's test data, are skipped)."""
    found: list = []
    for path in _files(folder, "rules"):
        data = _load_json(path, "rules")
        found += data if isinstance(data, list) else [data]
    check_rules(found)
    return found


def _list(value: Any, what: str) -> list:
    if not isinstance(value, list):
        raise refuse(what, "must be a JSON list")
    return value
