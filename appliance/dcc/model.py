"""The one DCC vocabulary: types, sections, fields, DCC keys and the facts kept per type.

Every module that names a certificate type, an input section, a person or event field or
the DCC key a field becomes takes it from here: the form (input JSON), the payload builder
and its error paths, the verifier's and the DSC checks' messages, the tablet's forms and
read-back, the receipt and the issuer's journal facts.

* a *type* is ``"v"``, ``"t"`` or ``"r"``, the DCC's group key;
* a *section* is the type's name and its object in the input JSON (``"vaccination"``);
* a *field* is a key of the input JSON (``"product"``); its *path* names it in
  :class:`~appliance.errors.InvalidInput` (``"vaccination.product"``);
* a *key* is a DCC key (``"mp"``).

Pure data and tiny pure functions; imports nothing else of the appliance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

#: The certificate types, in the order of the DCC schema.
TYPES = ("v", "t", "r")
#: Type -> its section in the input JSON, and its name in messages.
SECTIONS = {"v": "vaccination", "t": "test", "r": "recovery"}

DISEASE = "840539006"  #: COVID-19, the only disease the appliance certifies (``tg``)
NAAT, RAT = "LP6464-4", "LP217198-3"  #: test types (``tt``)
NOT_DETECTED, DETECTED = "260415000", "260373001"  #: test results (``tr``)

#: The person's fields, in input order.
PERSON_FIELDS = ("family_name", "given_name", "date_of_birth", "family_name_standardised", "given_name_standardised")
#: The fields that say who a certificate is about (the ICAO names do not vary with spelling).
IDENTITY_FIELDS = ("family_name_standardised", "given_name_standardised", "date_of_birth")
#: Name field -> its key under the DCC's ``nam`` (the birth date is the DCC's top-level ``dob``).
NAME_KEYS = {"family_name": "fn", "family_name_standardised": "fnt", "given_name": "gn",
             "given_name_standardised": "gnt"}

#: Per type: the event section's fields, in input order -> the DCC key each becomes.
EVENT_KEYS: dict[str, dict[str, str]] = {
    "v": {"product": "mp", "dose_number": "dn", "total_doses": "sd", "date": "dt", "country": "co", "issuer": "is"},
    "t": {"test_type": "tt", "test_name": "nm", "test_device": "ma", "sample_time": "sc", "result": "tr",
          "centre": "tc", "country": "co", "issuer": "is"},
    "r": {"first_positive": "fr", "valid_from": "df", "valid_until": "du", "country": "co", "issuer": "is"},
}
#: Per type: the event section's fields, in input order.
EVENT_FIELDS = {t: tuple(keys) for t, keys in EVENT_KEYS.items()}
#: Per type: DCC keys derived from a field rather than typed in -> that field.
DERIVED: dict[str, dict[str, str]] = {
    "v": {"tg": "product", "vp": "product", "ma": "product"},
    "t": {"tg": "test_type"},
    "r": {"tg": "first_positive"},
}
#: The fields that describe the centre, its stock and its issuer rather than the person or the
#: event: the same for the next person, so the tablet keeps them as the next form's defaults.
CENTRE_FIELDS = ("product", "country", "issuer", "test_type", "test_name", "test_device", "centre")
#: Per type: the DCC keys of the non-personal facts an ``issued`` journal entry keeps
#: (the hub's statistics). Coded values only: free text (``tc``, ``nm``, ``is``) is never
#: synced; the issuer adds the test centre's configured id instead of ``tc``.
FACTS = {"v": ("tg", "vp", "mp", "ma", "dn", "sd", "co"),
         "t": ("tg", "tt", "ma", "tr", "co"),
         "r": ("tg", "co")}

_FIELD_OF_KEY = {t: {**{k: f for f, k in EVENT_KEYS[t].items()}, **DERIVED[t]} for t in TYPES}
_FIELD_OF_NAME_KEY = {k: f for f, k in NAME_KEYS.items()}


@dataclass(frozen=True)
class Person:
    family_name: str
    given_name: str
    date_of_birth: str       #: YYYY-MM-DD, YYYY-MM or YYYY
    family_name_std: str     #: ICAO 9303 (fnt)
    given_name_std: str      #: ICAO 9303 (gnt), "" if no given name


@dataclass(frozen=True)
class IssueRequest:
    """A checked request for one certificate (made by :func:`appliance.dcc.form.parse_input`)."""

    type: str                #: "v", "t" or "r"
    person: Person
    event: dict = field(default_factory=dict)  #: typed values, keys as in the input section


def field_path(type_: str, name: str) -> str:
    """A field's input path: ``("v", "date")`` -> ``vaccination.date``."""
    return f"{SECTIONS[type_]}.{name}"


def input_path(path: tuple) -> str:
    """A DCC path (``("v", 0, "dt")``) -> the input path (``vaccination.date``); ``input`` when no field matches."""
    if not path:
        return "input"
    head = path[0]
    if head in TYPES:
        key = next((p for p in path[1:] if isinstance(p, str)), None)
        name = _FIELD_OF_KEY[head].get(key) if key else None
        return field_path(head, name) if name else "input"
    if head == "nam":
        return _FIELD_OF_NAME_KEY.get(path[1], "family_name") if len(path) > 1 else "family_name"
    if head == "dob":
        return "date_of_birth"
    return "input"


def type_of(dcc: Mapping) -> str | None:
    """The DCC's type: the first of v, t, r that holds an entry (a DCC holds exactly one); None if none does."""
    return next((t for t in TYPES if isinstance(dcc.get(t), list) and dcc[t]), None)


def entry(dcc: Mapping, type_: str | None = None) -> dict:
    """The event entry ``dcc[type][0]`` (of the DCC's own type by default); ``{}`` if there is none."""
    type_ = type_ or type_of(dcc)
    entries = dcc.get(type_) if type_ else None
    first = entries[0] if isinstance(entries, list) and entries else None
    return first if isinstance(first, dict) else {}


def uvci_of(dcc: Mapping) -> str:
    """The certificate identifier (``ci``) of the DCC's event entry; "" if there is none."""
    return entry(dcc).get("ci", "")


def person_values(dcc: Mapping) -> dict[str, str]:
    """The person's fields of a DCC, in input order ("" where absent)."""
    nam = dcc.get("nam") or {}
    return {f: (dcc.get("dob") if f == "date_of_birth" else nam.get(NAME_KEYS[f])) or "" for f in PERSON_FIELDS}


def event_values(dcc: Mapping) -> dict[str, Any]:
    """The event's fields of a DCC, in input order, with the DCC's values as they are ("" where
    absent); ``{}`` when the DCC has no event."""
    type_ = type_of(dcc)
    if type_ is None:
        return {}
    found = entry(dcc, type_)
    return {f: found.get(k, "") for f, k in EVENT_KEYS[type_].items()}
