"""Read a certificate back to staff as it will show: labels and values from the DCC JSON.

Also the mapping between the web form's fields and the input JSON of
:func:`appliance.form.parse_input`, and back from its error paths to form fields.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from appliance.dcc import valuesets
from appliance.errors import ApplianceError
from appliance.web import field_messages
from appliance.web.i18n import translate

log = logging.getLogger(__name__)

SECTION = {"v": "vaccination", "t": "test", "r": "recovery"}
PERSON_FIELDS = ("family_name", "given_name", "date_of_birth", "family_name_standardised", "given_name_standardised")
EVENT_FIELDS = {
    "v": ("product", "dose", "date", "country", "issuer"),
    "t": ("test_type", "test_name", "test_device", "sample_time", "result", "centre", "country", "issuer"),
    "r": ("first_positive", "valid_from", "valid_until", "country", "issuer"),
}
MAX_FIELD = 200


def form_fields(type_: str) -> tuple[str, ...]:
    return PERSON_FIELDS + EVENT_FIELDS[type_]


def to_input(type_: str, form: Mapping[str, str], *, tz: str) -> dict:
    """The web form -> ``parse_input``'s input JSON. Empty fields are left out."""
    values = {k: str(form.get(k, "")).strip()[:MAX_FIELD] for k in form_fields(type_)}
    data: dict = {k: values[k] for k in PERSON_FIELDS if values[k]}
    event: dict = {}
    for key in EVENT_FIELDS[type_]:
        value = values[key]
        if not value:
            continue
        if key == "dose":
            dn, _, sd = value.partition("/")
            event["dose_number"] = int(dn) if dn.isdigit() and len(dn) < 4 else dn
            event["total_doses"] = int(sd) if sd.isdigit() and len(sd) < 4 else sd
        elif key == "sample_time":
            event[key] = _local_to_iso(value, tz)
        else:
            event[key] = value
    data[SECTION[type_]] = event
    return data


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


def field_for(path: str) -> str:
    """An input path from :class:`InvalidInput` (``vaccination.total_doses``) -> the form field (``dose``)."""
    head, _, rest = path.partition(".")
    if head in SECTION.values() and rest:
        key = rest.split(".")[0]
        return "dose" if key in ("dose_number", "total_doses") else key
    return head if head in PERSON_FIELDS else "_form"


def errors_by_field(field_errors: Mapping[str, str], lang: str) -> dict[str, str]:
    """Form field -> its message(s) in ``lang`` (several input paths of one field joined by "; ")."""
    out: dict[str, str] = {}
    for path, raw in field_errors.items():
        field = field_for(path)
        message = field_messages.translate(str(raw), lang)
        out[field] = f"{out[field]}; {message}" if field in out else str(message)
    return out


def _vs(name: str, code, lang: str) -> str:
    try:
        return f"{valuesets.load().display(name, code, lang)} ({code})"
    except (ApplianceError, KeyError, ValueError, TypeError):  # an unknown code reads back as itself
        return str(code)


def _dose(v: dict, lang: str) -> str:
    """``2/2 – what that means`` for the product, or just ``2/2``."""
    from appliance.dcc import doses
    label = f"{v.get('dn')}/{v.get('sd')}"
    try:
        option = doses.find(v.get("mp", ""), int(v.get("dn")), int(v.get("sd")))
    except (ApplianceError, KeyError, ValueError, TypeError):
        option = None
    if option is None:
        return label
    return f"{label} – {option.meaning_de if lang == 'de' else option.meaning_en}"


def readback(dcc: dict, lang: str) -> list[tuple[str, str]]:
    """(label, value) rows for the review and result screens."""
    t = lambda key: translate(key, lang)
    nam = dcc.get("nam", {})
    rows = [(t("family_name"), nam.get("fn") or ""), (t("given_name"), nam.get("gn") or ""),
            (t("family_name_standardised"), nam.get("fnt") or ""), (t("given_name_standardised"), nam.get("gnt") or ""),
            (t("date_of_birth"), dcc.get("dob", ""))]
    if dcc.get("v"):
        v = dcc["v"][0]
        rows += [(t("type"), t("type_v")), (t("product"), _vs("vaccine-medicinal-product", v.get("mp"), lang)),
                 (t("dose"), _dose(v, lang)), (t("date_vaccination"), v.get("dt", "")),
                 (t("country"), _vs("country-2-codes", v.get("co"), lang)), (t("issuer"), v.get("is", "")),
                 (t("uvci"), v.get("ci", ""))]
    elif dcc.get("t"):
        x = dcc["t"][0]
        rows += [(t("type"), t("type_t")), (t("test_type"), _vs("test-type", x.get("tt"), lang))]
        if x.get("nm"):
            rows.append((t("test_name"), x["nm"]))
        if x.get("ma"):
            rows.append((t("test_device"), _vs("test-manf", x["ma"], lang)))
        rows += [(t("sample_time"), x.get("sc", "")), (t("result"), _vs("test-result", x.get("tr"), lang)),
                 (t("centre"), x.get("tc", "")), (t("country"), _vs("country-2-codes", x.get("co"), lang)),
                 (t("issuer"), x.get("is", "")), (t("uvci"), x.get("ci", ""))]
    elif dcc.get("r"):
        x = dcc["r"][0]
        rows += [(t("type"), t("type_r")), (t("first_positive"), x.get("fr", "")), (t("valid_from"), x.get("df", "")),
                 (t("valid_until"), x.get("du", "")), (t("country"), _vs("country-2-codes", x.get("co"), lang)),
                 (t("issuer"), x.get("is", "")), (t("uvci"), x.get("ci", ""))]
    return rows


def same_event(a: dict, b: dict) -> bool:
    """Whether two DCCs are the same person with the same dose, the same test day or the same recovery."""
    if (a.get("nam", {}).get("fnt"), a.get("nam", {}).get("gnt"), a.get("dob")) != \
       (b.get("nam", {}).get("fnt"), b.get("nam", {}).get("gnt"), b.get("dob")):
        return False
    for key, same in (("v", lambda x, y: x.get("dn") == y.get("dn") and x.get("mp") == y.get("mp")),
                      ("t", lambda x, y: str(x.get("sc", ""))[:10] == str(y.get("sc", ""))[:10]),
                      ("r", lambda x, y: x.get("fr") == y.get("fr"))):
        if a.get(key) and b.get(key):
            return same(a[key][0], b[key][0])
    return False
