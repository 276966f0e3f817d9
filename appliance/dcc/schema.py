"""DCC payload validation: the EU JSON schema 1.3.3 and the EU value sets.

``validate(dcc)`` checks the combined schema (``appliance/data/schema``) with a
Draft 2020-12 validator and a format checker that *asserts* ``date`` and
``date-time``. ``date-time`` is RFC 3339 (via rfc3339-validator), widened to
the two ISO 8601 offset forms ``+hh`` and ``+hhmm`` that the schema's own valid
test cases use (T-rat-dates1/2). ``check_valuesets(dcc)`` checks every
value-set field of v/t/r; the schema itself does not.

Messages are ``"path: problem"``, with paths like ``v[0].dn`` (``(root)`` for
the top level). They never repeat the offending value, so no name or birth date
ends up in a log or on screen. CBOR tag-0 date-times (``datetime`` objects after
decoding) are validated as their RFC 3339 text.

RAT devices (``t[0].ma``): the packaged ``test-manf`` list is only upstream's
example of the JRC list, so a verifier must not fail a certificate for a newer
device id. ``check_valuesets(dcc)`` therefore ignores unknown ``t.ma`` unless
``strict_test_manf=True``, which the issuing side uses (staff pick from the
packaged list, so anything else is a data-entry error).
"""

from __future__ import annotations

import functools
import json
import logging
import re
from datetime import datetime
from importlib import resources
from typing import Any, Iterable

import fastjsonschema
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from rfc3339_validator import validate_rfc3339

from appliance.messages import Msg

from appliance.dcc import valuesets
from appliance.dcc.model import TYPES

log = logging.getLogger(__name__)

SCHEMA_FILE = "DCC.combined-schema.json"
_SHORT_OFFSET = re.compile(r"([+-]\d\d)(\d\d)?$")


def is_date_time(value: object) -> bool:
    """RFC 3339 date-time, also accepting ``+hh`` / ``+hhmm`` offsets (schema test cases)."""
    if not isinstance(value, str):
        return True  # formats only apply to strings
    if validate_rfc3339(value.upper()):
        return True
    m = _SHORT_OFFSET.search(value)
    if not m or "T" not in value.upper():
        return False
    fixed = value[: m.start()] + f"{m.group(1)}:{m.group(2) or '00'}"
    return bool(validate_rfc3339(fixed.upper()))


def format_checker() -> FormatChecker:
    checker = FormatChecker(formats=("date",))  # jsonschema's strict YYYY-MM-DD + real calendar date
    checker.checks("date-time")(is_date_time)
    return checker


@functools.cache
def _schema() -> dict:
    ref = resources.files("appliance.dcc") / "data" / "schema" / SCHEMA_FILE
    return json.loads(ref.read_text(encoding="utf-8"))


@functools.cache
def _validator() -> Draft202012Validator:
    schema = _schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=format_checker())


@functools.cache
def _fast():
    """The same schema compiled to Python by fastjsonschema (about 10x faster on a valid
    payload), with jsonschema's own format checks, so the two agree on every format.

    Only its *verdict* is used: a payload it accepts has no schema errors; for one it refuses,
    :func:`schema_errors` asks jsonschema for the full list of messages. The two validators
    are held to the same verdict by ``tests/dcc/test_schema_fast.py``."""
    checker = format_checker()
    formats = {name: functools.partial(checker.conforms, format=name) for name in ("date", "date-time")}
    return fastjsonschema.compile(_schema(), formats=formats, use_default=False)


def fast_verdict(instance: object) -> bool:
    """True when ``instance`` (JSON form, see :func:`as_json`) satisfies the schema."""
    try:
        _fast()(instance)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def path_text(path: Iterable[Any]) -> str:
    """``("v", 0, "dn")`` -> ``"v[0].dn"``; empty -> ``"(root)"``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def _group_message(dcc: object) -> str:
    if isinstance(dcc, dict):
        missing = [k for k in ("ver", "nam", "dob") if k not in dcc]
        if missing:
            return Msg("schema.required", keys=", ".join(missing))
        groups = [k for k in TYPES if k in dcc]
        if len(groups) > 1:
            return Msg("schema.groups", groups=groups)
    return Msg("schema.one_group")


def _message(e: ValidationError) -> str:
    v, arg = e.validator, e.validator_value
    if v == "required":
        # "x is a required property" (names the key, not data)
        return Msg("schema.required", keys=e.message.replace("'", "").removesuffix(" is a required property"))
    if v == "oneOf" and not e.path:
        return _group_message(e.instance)
    if v == "anyOf" and list(e.path) == ["nam"]:
        return Msg("schema.fnt_or_gnt")
    if v == "pattern":
        return Msg("schema.pattern", pattern=arg)
    if v == "maxLength":
        return Msg("input.too_long", n=arg)
    if v == "minLength":
        return Msg("input.too_short", n=arg)
    if v == "format":
        return Msg("schema.date") if arg == "date" else Msg("schema.format", format=arg)
    if v == "type":
        return Msg("schema.type", type=arg)
    if v in ("minimum", "maximum"):
        return Msg("schema.minimum" if v == "minimum" else "schema.maximum", n=arg)
    if v in ("minItems", "maxItems"):
        return Msg("schema.min_items" if v == "minItems" else "schema.max_items", n=arg)
    return Msg("schema.rule", rule=repr(v))


def as_json(value: object) -> object:
    """A copy with CBOR tag-0 date-times (decoded by cbor2 as ``datetime``) turned back into
    RFC 3339 text, as the CBOR rules require validators to accept both forms."""
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z") if value.tzinfo else value.isoformat()
    return value


def schema_errors(dcc: object) -> list[tuple[tuple, str]]:
    """``[(path tuple, message)]`` for every schema violation (sorted by path)."""
    instance = as_json(dcc)
    if fast_verdict(instance):
        return []
    errors = sorted(_validator().iter_errors(instance), key=lambda e: [str(p) for p in e.path])
    return [(tuple(e.path), _message(e)) for e in errors]


_JSON_LEAVES = (str, int, float, bool, type(None))


def canonical_json(instance: object) -> bytes | None:
    """``instance`` as sorted-key JSON bytes, or None when it holds anything but (exactly) dict
    with str keys, list, str, int, float, bool or None, or a NaN/infinity.

    Two instances with the same bytes are the same JSON value with the same Python types (key
    order aside, which no schema rule looks at), so the schema's verdict on one is its verdict on
    the other: the issuer's self-check uses this to skip a second schema pass over a payload it
    validated moments earlier (:func:`appliance.dcc.verify.verify`, ``prevalidated``)."""

    def plain(value: object) -> bool:
        kind = type(value)
        if kind is dict:
            return all(type(k) is str and plain(v) for k, v in value.items())
        if kind is list:
            return all(plain(v) for v in value)
        return kind in _JSON_LEAVES

    if not plain(instance):
        return None
    try:
        return json.dumps(instance, sort_keys=True, ensure_ascii=False, allow_nan=False,
                          separators=(",", ":")).encode("utf-8")
    except ValueError:
        return None


def validate(dcc: object) -> list[str]:
    """Schema violations as ``"path: message"`` strings; empty means valid."""
    return [f"{path_text(p)}: {m}" for p, m in schema_errors(dcc)]


#: group -> field -> value set
VALUESET_FIELDS: dict[str, dict[str, str]] = {
    "v": {"tg": "disease-agent-targeted", "vp": "vaccine-prophylaxis",
          "mp": "vaccine-medicinal-product", "ma": "vaccine-mah-manf", "co": "country-2-codes"},
    "t": {"tg": "disease-agent-targeted", "tt": "test-type", "tr": "test-result",
          "ma": "test-manf", "co": "country-2-codes"},
    "r": {"tg": "disease-agent-targeted", "co": "country-2-codes"},
}


def valueset_errors(dcc: object, *, strict_test_manf: bool = False,
                    vs: "valuesets.ValueSets | None" = None) -> list[tuple[tuple, str]]:
    """``[(path tuple, message)]`` for codes that are not in their value set (``vs``: e.g. the
    installed reference data's value sets; default the packaged ones)."""
    if not isinstance(dcc, dict):
        return []
    vs = vs or valuesets.load()
    out: list[tuple[tuple, str]] = []
    for group, fields in VALUESET_FIELDS.items():
        entries = dcc.get(group)
        if not isinstance(entries, list):
            continue
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                continue
            for key, name in fields.items():
                if key not in entry:
                    continue
                if group == "t" and key == "ma" and not strict_test_manf:
                    continue
                if not vs.is_valid(name, entry[key]):
                    out.append(((group, i, key), Msg("schema.valueset", name=name)))
    return out


def check_valuesets(dcc: object, *, strict_test_manf: bool = False,
                    vs: "valuesets.ValueSets | None" = None) -> list[str]:
    """Value-set violations as ``"path: message"`` strings; empty means every code is known."""
    return [f"{path_text(p)}: {m}" for p, m in valueset_errors(dcc, strict_test_manf=strict_test_manf, vs=vs)]


__all__ = ["validate", "check_valuesets", "schema_errors", "valueset_errors", "path_text",
           "is_date_time", "format_checker", "canonical_json", "as_json"]
