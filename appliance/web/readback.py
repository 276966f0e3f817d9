"""Read a certificate back to staff as it will show: labels and values from the DCC JSON.

Also the mapping between the web form's fields and the input JSON of
:func:`appliance.dcc.form.parse_input`, back from its error paths to form fields, and from
an issued DCC to the form's values (to correct it). The names come from :mod:`appliance.dcc.model`;
the tablet asks a vaccination's dose number and total as one choice, ``dose`` (``"dn/sd"``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from appliance.dcc import doses, model, valuesets
from appliance.dcc import form as form_mod
from appliance.dcc.model import NAAT, PERSON_FIELDS, SECTIONS
from appliance.errors import ApplianceError
from appliance.util import timefmt
from appliance import messages
from appliance.web.i18n import translate

log = logging.getLogger(__name__)

#: The form's one field for the input's two dose fields.
DOSE, DOSE_PARTS = "dose", ("dose_number", "total_doses")
#: Per type: the form's event fields (the input's, with the dose as one).
EVENT_FIELDS = {t: tuple(DOSE if f == DOSE_PARTS[0] else f for f in fields if f != DOSE_PARTS[1])
                for t, fields in model.EVENT_FIELDS.items()}
MAX_FIELD = 200


def form_fields(type_: str) -> tuple[str, ...]:
    return PERSON_FIELDS + EVENT_FIELDS[type_]


def complete(type_: str, values: Mapping[str, str]) -> dict:
    """The submitted form values with what the case implies: a PCR/NAAT test names no device
    (a default device left in the hidden field is dropped), and an empty recovery valid-from /
    valid-until is the widest the rules allow from the first positive test (``DD.MM.YYYY``)."""
    out = dict(values)
    if type_ == "t" and form_mod.TEST_TYPES.get(str(out.get("test_type", "")).strip().lower(),
                                                str(out.get("test_type", "")).strip()) == NAAT:
        out["test_device"] = ""
    if type_ == "r":
        first = form_mod.parse_day(out.get("first_positive", ""))
        if first is not None:
            try:
                window = form_mod.recovery_window(first)
            except OverflowError:          # 9999-12-31: the form names the field
                window = None
            for key, day in zip(("valid_from", "valid_until"), window or ()):
                if not str(out.get(key, "")).strip():
                    out[key] = day.strftime("%d.%m.%Y")
    return out


def to_input(type_: str, form: Mapping[str, str], *, tz: str) -> dict:
    """The web form -> ``parse_input``'s input JSON. Empty fields are left out."""
    values = {k: str(form.get(k, "")).strip()[:MAX_FIELD] for k in form_fields(type_)}
    data: dict = {k: values[k] for k in PERSON_FIELDS if values[k]}
    event: dict = {}
    for key in EVENT_FIELDS[type_]:
        value = values[key]
        if not value:
            continue
        if key == DOSE:
            dn, _, sd = value.partition("/")
            event["dose_number"] = int(dn) if dn.isdigit() and len(dn) < 4 else dn
            event["total_doses"] = int(sd) if sd.isdigit() and len(sd) < 4 else sd
        elif key == "sample_time":
            event[key] = _local_to_iso(value, tz)
        else:
            event[key] = value
    data[SECTIONS[type_]] = event
    return data


def form_values(dcc: dict, *, tz: str) -> dict:
    """The form's values for an issued DCC (to correct it); the sample time in ``tz``, as typed."""
    values = {**model.person_values(dcc), **model.event_values(dcc)}
    if "dose_number" in values:
        values[DOSE] = f"{values.pop('dose_number')}/{values.pop('total_doses')}"
    if "sample_time" in values:
        values["sample_time"] = _iso_to_local(values["sample_time"], tz)
    return values


def _local_to_iso(value: str, tz: str) -> str:
    """``2026-11-28T09:30`` typed on the tablet (centre's local time) -> ISO 8601 in UTC.

    A value that is no date and time, or lies outside the calendar once in UTC, is passed on
    unchanged or as an unparseable text, so that ``parse_input`` names the field.
    """
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    try:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(tz))
        return moment.astimezone(UTC).isoformat(timespec="seconds")
    except (OverflowError, ValueError):
        return "out of range"


def _iso_to_local(iso: str, tz: str) -> str:
    """A DCC timestamp -> the centre's local time for a datetime-local input ("" if unreadable)."""
    try:
        moment = datetime.fromisoformat(str(iso))
    except ValueError:
        return ""
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M")


def _local(iso, tz: str | None) -> str:
    """A DCC timestamp in ``tz`` with its offset (as it is without ``tz`` or if unreadable)."""
    try:
        return timefmt.fmt_local(datetime.fromisoformat(str(iso)), tz) if tz else str(iso)
    except ValueError:
        return str(iso)


def field_for(path: str) -> str:
    """An input path from :class:`InvalidInput` (``vaccination.total_doses``) -> the form field (``dose``)."""
    head, _, rest = path.partition(".")
    if head in SECTIONS.values() and rest:
        key = rest.split(".")[0]
        return DOSE if key in DOSE_PARTS else key
    return head if head in PERSON_FIELDS else "_form"


#: form field -> its label key, where they differ
LABEL_KEYS = {"date": "date_vaccination"}


def wrong_fields(type_: str, errors: Mapping[str, str]) -> list[tuple[str, str]]:
    """(field, label key) of the fields with an error, in the form's order: the banner names them
    and the first one gets the focus."""
    order = (*PERSON_FIELDS, *EVENT_FIELDS.get(type_, ()))
    return [(f, LABEL_KEYS.get(f, f)) for f in order if f in errors]


def errors_by_field(field_errors: Mapping[str, str], lang: str) -> dict[str, str]:
    """Form field -> its message(s) in ``lang`` (several input paths of one field joined by "; ")."""
    out: dict[str, str] = {}
    for path, raw in field_errors.items():
        field = field_for(path)
        message = messages.render(raw, lang)
        out[field] = f"{out[field]}; {message}" if field in out else str(message)
    return out


def _vs(name: str, code, lang: str) -> str:
    try:
        return f"{valuesets.load().display(name, code, lang)} ({code})"
    except (ApplianceError, KeyError, ValueError, TypeError):  # an unknown code reads back as itself
        return str(code)


def _dose(e: dict, lang: str) -> str:
    """``2/2 – what that means`` for the product, or just ``2/2``."""
    label = f"{e['dose_number']}/{e['total_doses']}"
    try:
        option = doses.find(e["product"], int(e["dose_number"]), int(e["total_doses"]))
    except (ApplianceError, KeyError, ValueError, TypeError):
        option = None
    if option is None:
        return label
    return f"{label} – {option.meaning_de if lang == 'de' else option.meaning_en}"


#: The person's rows, in read-back order.
PERSON_ROWS = ("family_name", "given_name", "family_name_standardised", "given_name_standardised", "date_of_birth")


def readback(dcc: dict, lang: str, tz: str | None = None) -> list[tuple[str, str]]:
    """(label, value) rows for the review and result screens (with ``tz``, the sample time in
    that time zone with its offset; the certificate keeps UTC)."""
    t = lambda key: translate(key, lang)
    vs = lambda name, code: _vs(name, code, lang)
    person = model.person_values(dcc)
    rows = [(t(f), person[f]) for f in PERSON_ROWS]
    kind = model.type_of(dcc)
    if kind is None:
        return rows
    e = model.event_values(dcc)
    rows.append((t("type"), t(f"type_{kind}")))
    if kind == "v":
        rows += [(t("product"), vs("vaccine-medicinal-product", e["product"])), (t("dose"), _dose(e, lang)),
                 (t("date_vaccination"), e["date"])]
    elif kind == "t":
        rows.append((t("test_type"), vs("test-type", e["test_type"])))
        if e["test_name"]:
            rows.append((t("test_name"), e["test_name"]))
        if e["test_device"]:
            rows.append((t("test_device"), vs("test-manf", e["test_device"])))
        rows += [(t("sample_time"), _local(e["sample_time"], tz)), (t("result"), vs("test-result", e["result"])),
                 (t("centre"), e["centre"])]
    else:
        rows += [(t(f), e[f]) for f in ("first_positive", "valid_from", "valid_until")]
    return rows + [(t("country"), vs("country-2-codes", e["country"])), (t("issuer"), e["issuer"]),
                   (t("uvci"), model.uvci_of(dcc))]


#: Per type: the fields that make two certificates of one person the same event.
_SAME_EVENT = {"v": lambda e: (e["dose_number"], e["product"]), "t": lambda e: str(e["sample_time"])[:10],
               "r": lambda e: e["first_positive"]}


def same_event(a: dict, b: dict) -> bool:
    """Whether two DCCs are the same person with the same dose, the same test day or the same recovery."""
    who = lambda dcc: [model.person_values(dcc)[f] for f in model.IDENTITY_FIELDS]
    kind = model.type_of(a)
    if kind is None or kind != model.type_of(b) or who(a) != who(b):
        return False
    return _SAME_EVENT[kind](model.event_values(a)) == _SAME_EVENT[kind](model.event_values(b))
