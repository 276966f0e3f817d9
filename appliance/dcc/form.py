"""Input JSON (as staff or a script write it) -> a typed, checked :class:`IssueRequest`.

``parse_input`` collects every problem, not just the first, into
``InvalidInput.field_errors`` keyed by the input path (``family_name``,
``vaccination.date``; ``input`` for the structure itself). Messages say what to
enter and never repeat the value (it may be personal data). The input format is
documented in the README ("Certificate input") and shown by
``appliance/dcc/examples/*.json``.
"""

from __future__ import annotations

import logging
import unicodedata
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Mapping

from appliance.dcc import names, payload, valuesets
from appliance.dcc.dates import parse_birth_date, parse_day, recovery_window, two_digit_year  # noqa: F401 (re-exported)
from appliance.dcc.model import (DETECTED, EVENT_FIELDS, NAAT, NOT_DETECTED, PERSON_FIELDS, RAT, SECTIONS,
                                 IssueRequest, Person, field_path)
from appliance.errors import InvalidInput
from appliance.messages import Msg

if TYPE_CHECKING:  # pragma: no cover
    from appliance.config import DeviceSection  # typing only: the engine takes [device] as an argument

log = logging.getLogger(__name__)

MAX_TEXT = 80
#: The input JSON's keys: the person's at the top, the event's in the type's section.
PERSON_KEYS, EVENT_KEYS = PERSON_FIELDS, EVENT_FIELDS
TEST_TYPES = {"pcr": NAAT, "naat": NAAT, "rapid": RAT, "rat": RAT}
RESULTS = {"not_detected": NOT_DETECTED, "negative": NOT_DETECTED, "detected": DETECTED, "positive": DETECTED}
class _Collector:
    """Collects field errors; each helper returns the typed value or None."""

    def __init__(self, vs: "valuesets.ValueSets | None" = None) -> None:
        self.errors: dict[str, str] = {}
        self.vs = vs or valuesets.load()  #: the value sets in force (installed reference data or packaged)

    def fail(self, path: str, message: str) -> None:
        self.errors.setdefault(path, message)

    def text(self, raw: Mapping, key: str, path: str, *, required: bool, default: str | None = None) -> str | None:
        value = raw.get(key)
        if value in (None, "") and default:
            value = default
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(path, Msg("input.required"))
            return None
        if not isinstance(value, str):
            self.fail(path, Msg("input.not_text"))
            return None
        value = " ".join(unicodedata.normalize("NFC", value).split())
        if names.has_unsafe_characters(value):
            self.fail(path, Msg("input.control_chars"))
            return None
        if len(value) > MAX_TEXT:
            self.fail(path, Msg("input.too_long", n=MAX_TEXT))
            return None
        return value

    def day(self, raw: Mapping, key: str, path: str, *, required: bool = True) -> date | None:
        value = raw.get(key)
        if value is None or value == "":
            if required:
                self.fail(path, Msg("date.required"))
            return None
        day = parse_day(value)
        if day is None:
            self.fail(path, Msg("date.invalid", example=date(2026, 11, 27)))
        return day

    def count(self, raw: Mapping, key: str, path: str) -> int | None:
        value = raw.get(key)
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) <= 2:
            value = int(value.strip())
        if value is None:
            self.fail(path, Msg("count.required"))
        elif isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 99:
            self.fail(path, Msg("count.range", low=1, high=99))
        else:
            return value
        return None

    def code(self, raw: Mapping, key: str, path: str, valueset: str, hint: str, *,
             required: bool = True, aliases: Mapping[str, str] | None = None) -> str | None:
        value = raw.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if value is None or value == "":
            if required:
                self.fail(path, Msg("code.required", hint=hint))
            return None
        if not isinstance(value, str):
            self.fail(path, Msg("code.not_text", hint=hint))
            return None
        value = value.strip()
        if aliases and value.lower() in aliases:
            return aliases[value.lower()]
        vs = self.vs
        if vs.is_active(valueset, value):
            return value
        if vs.is_valid(valueset, value):
            self.fail(path, Msg("code.deprecated", hint=hint))
        else:
            self.fail(path, Msg("code.not_in_rat_list", date=vs.dates.get(valueset, "?"), hint=hint)
                      if valueset == "test-manf" else Msg("code.not_allowed", hint=hint))
        return None


def _names(c: _Collector, data: Mapping) -> tuple[str | None, str | None, str | None, str | None]:
    out: list[str | None] = []
    for key, required in (("family_name", True), ("given_name", False)):
        name = c.text(data, key, key, required=required)
        std_key = f"{key}_standardised"
        std_raw = data.get(std_key)
        std: str | None = None
        if name is not None and (any(ch.isdigit() for ch in name) or not any(ch.isalpha() for ch in name)):
            c.fail(key, Msg("name.letters_only"))
            name = None
        if std_raw not in (None, ""):
            try:
                std = names.check_standardised(std_raw)
            except InvalidInput as exc:
                c.fail(std_key, exc.field_errors["input"])
        elif name is not None:
            try:
                std = names.transliterate(name)
            except InvalidInput as exc:
                c.fail(std_key, exc.field_errors["input"])
        out += [name, std]
    return out[0], out[1], out[2], out[3]


def _dob(c: _Collector, data: Mapping) -> str | None:
    value = data.get("date_of_birth")
    if value is None or value == "":
        c.fail("date_of_birth", Msg("dob.required"))
        return None
    dob = parse_birth_date(value)
    if dob is None:
        c.fail("date_of_birth", Msg("dob.year_digits") if two_digit_year(value) else Msg("dob.invalid"))
    return dob


def _sample_time(c: _Collector, raw: Mapping, path: str) -> datetime | None:
    value = raw.get("sample_time")
    hint = Msg("hint.sample_time")
    if value is None or value == "":
        c.fail(path, Msg("time.required", hint=hint))
        return None
    try:
        moment = datetime.fromisoformat(value.strip()) if isinstance(value, str) and "T" in value.upper() else None
    except ValueError:
        moment = None
    if moment is None:
        c.fail(path, Msg("time.invalid", hint=hint))
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        c.fail(path, Msg("time.no_zone", hint=hint))
        return None
    try:
        return moment.astimezone(timezone.utc).replace(microsecond=0)
    except (OverflowError, ValueError):  # e.g. 0001-01-01T00:30+01:00 has no UTC time
        c.fail(path, Msg("time.impossible", hint=hint))
        return None


def _centre(c: _Collector, raw: Mapping, path: str, device: "DeviceSection") -> str | None:
    """The test centre, picked by its id (or name) from ``[device] centres``: its name (the DCC's tc)."""
    value = c.text(raw, "centre", path, required=False)
    if value is None:
        return None
    centres = device.centre_map()
    if value in centres:
        return centres[value]
    if value in centres.values():
        return value
    c.fail(path, Msg("centre.pick", ids=", ".join(centres)) if centres else Msg("centre.none"))
    return None


def _event(c: _Collector, kind: str, raw: Mapping, device: "DeviceSection") -> dict[str, Any]:
    p: Callable[[str], str] = lambda key: field_path(kind, key)  # noqa: E731
    event: dict[str, Any] = {}
    if kind == "v":
        event["product"] = c.code(raw, "product", p("product"), "vaccine-medicinal-product",
                                  Msg("hint.product"))
        event["dose_number"] = c.count(raw, "dose_number", p("dose_number"))
        event["total_doses"] = c.count(raw, "total_doses", p("total_doses"))
        event["date"] = c.day(raw, "date", p("date"))
    elif kind == "t":
        event["test_type"] = c.code(raw, "test_type", p("test_type"), "test-type",
                                    Msg("hint.test_type"), aliases=TEST_TYPES)
        event["test_name"] = c.text(raw, "test_name", p("test_name"), required=False)
        event["test_device"] = c.code(raw, "test_device", p("test_device"), "test-manf",
                                      Msg("hint.test_device"), required=False)
        event["sample_time"] = _sample_time(c, raw, p("sample_time"))
        event["result"] = c.code(raw, "result", p("result"), "test-result",
                                 Msg("hint.result"), aliases=RESULTS)
        event["centre"] = _centre(c, raw, p("centre"), device)
    else:
        event["first_positive"] = c.day(raw, "first_positive", p("first_positive"))
        event["valid_from"] = c.day(raw, "valid_from", p("valid_from"))
        event["valid_until"] = c.day(raw, "valid_until", p("valid_until"))
    country = raw.get("country") or device.country
    event["country"] = c.code({"country": country.upper() if isinstance(country, str) else country}, "country",
                              p("country"), "country-2-codes", Msg("hint.country"))
    event["issuer"] = c.text(raw, "issuer", p("issuer"), required=True, default=device.issuer)
    return event


def _structure(c: _Collector, data: Any, kind: str) -> Mapping | None:
    """The type section, after checking the top-level shape; None if unusable."""
    section = SECTIONS[kind]
    if not isinstance(data, Mapping):
        c.fail("input", Msg("input.not_object", section=section))
        return None
    unknown = sorted(str(k)[:40] for k in data if k not in PERSON_KEYS and k != section)
    others = [k for k in unknown if k in SECTIONS.values()]
    if others:
        c.fail("input", Msg("input.wrong_section", other=others[0], section=section))
    elif unknown:
        c.fail("input", Msg("input.unknown_fields", fields=", ".join(unknown), allowed=", ".join([*PERSON_KEYS, section])))
    raw = data.get(section)
    if raw is None:
        c.fail("input", Msg("input.section_missing", section=section))
        return None
    if not isinstance(raw, Mapping):
        c.fail(section, Msg("input.section_not_object"))
        return None
    extra = sorted(str(k)[:40] for k in raw if k not in EVENT_KEYS[kind])
    if extra:
        c.fail(section, Msg("input.unknown_fields", fields=", ".join(extra), allowed=", ".join(EVENT_KEYS[kind])))
    return raw


def parse_input(data: Mapping, *, type: str, device: "DeviceSection", now: datetime,
                valuesets: "valuesets.ValueSets | None" = None) -> IssueRequest:
    """Check and type the input JSON for a certificate of ``type`` ("v", "t" or "r").

    Country and issuer default to ``[device]``; codes are checked against ``valuesets``
    (the installed reference data's, default the packaged ones). Raises :class:`InvalidInput`
    with every problem found, keyed by input path.
    """
    if type not in SECTIONS:
        raise InvalidInput({"type": Msg("type.invalid")})
    c = _Collector(valuesets)
    raw = _structure(c, data, type)
    if raw is None:
        raise InvalidInput(c.errors)
    fn, fnt, gn, gnt = _names(c, data)
    dob = _dob(c, data)
    event = _event(c, type, raw, device)
    for path, message in payload.rule_errors(type, dob, event, now=now).items():
        c.fail(path, message)
    if c.errors:
        log.info("input refused: %s", ", ".join(sorted(c.errors)))
        raise InvalidInput(c.errors)
    person = Person(family_name=fn or "", given_name=gn or "", date_of_birth=dob or "",
                    family_name_std=fnt or "", given_name_std=gnt or "")
    return IssueRequest(type=type, person=person, event=event)
