"""One row of the list -> the form's input JSON (for :func:`appliance.dcc.form.parse_input`), its
address, and its identity.

Values as centres have them:

* dates ``TT.MM.JJJJ`` (also ``T.M.JJJJ``), ISO ``JJJJ-MM-TT``, and ``TT.MM.JJ`` with this century
  rule: event dates (vaccination, test, recovery) are always 20JJ; a birth date is 20JJ unless
  that is after today, then 19JJ (so ``01.02.15`` is 2015, ``01.02.64`` is 1964). A map file's
  ``[dates] century_pivot = P`` replaces the rule for birth dates: JJ <= P is 20JJ, else 19JJ.
  A birth date may be ``JJJJ`` or ``JJJJ-MM`` when the day is not known, as on the form;
* products by EU number (any case), by common or maker's name (``Comirnaty``, ``BioNTech``,
  ``Spikevax``, ``Moderna`` ...), or by the centre's own codes from the map's ``[products]``;
* the dose as ``2/2`` (``2 von 2``, ``2 of 2``) in one column, or a number with or without a
  total column; a number alone gets the usual total: 1 and 2 of a two-dose vaccine are 1/2 and
  2/2, later doses n/n; of a single-dose vaccine 1/1, later doses n/1;
* test times ``TT.MM.JJJJ HH:MM`` in the centre's time zone, or ISO 8601 with offset.

Cells that start like a spreadsheet formula (``=``, ``+``, ``-``, ``@``) are refused.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from appliance.batch.columns import ADDRESS_FIELDS, EVENT, PERSON, ColumnMap, Mapping
from appliance.dcc import doses, valuesets
from appliance.dcc.model import SECTIONS

#: common and makers' names -> EU product number
PRODUCT_NAMES = {
    "comirnaty": "EU/1/20/1528", "biontech": "EU/1/20/1528", "pfizer": "EU/1/20/1528", "biontech/pfizer":
    "EU/1/20/1528", "pfizer/biontech": "EU/1/20/1528", "pfizer-biontech": "EU/1/20/1528", "bnt162b2": "EU/1/20/1528",
    "spikevax": "EU/1/20/1507", "moderna": "EU/1/20/1507", "mrna-1273": "EU/1/20/1507",
    "vaxzevria": "EU/1/21/1529", "astrazeneca": "EU/1/21/1529", "astra zeneca": "EU/1/21/1529", "az": "EU/1/21/1529",
    "jcovden": "EU/1/20/1525", "janssen": "EU/1/20/1525", "johnson & johnson": "EU/1/20/1525", "j&j": "EU/1/20/1525",
    "nuvaxovid": "EU/1/21/1618", "novavax": "EU/1/21/1618", "valneva": "EU/1/21/1624",
    "vidprevtyn beta": "EU/1/21/1580", "sanofi": "EU/1/21/1580", "bimervax": "EU/1/22/1709", "hipra": "EU/1/22/1709",
}
#: German spellings of test types and results -> the form's aliases
TEST_WORDS = {"pcr": "pcr", "pcr-test": "pcr", "naat": "naat", "schnelltest": "rapid", "antigen": "rapid",
              "antigentest": "rapid", "antigen-schnelltest": "rapid", "rat": "rapid", "rapid": "rapid",
              "negativ": "negative", "negative": "negative", "nicht nachgewiesen": "negative",
              "positiv": "positive", "positive": "positive"}
FORMULA_START = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_DMY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{2}|\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_PARTIAL = re.compile(r"\d{4}(-\d{2})?")
_DOSE = re.compile(r"(\d{1,2})\s*(?:/|von|of|v\.)\s*(\d{1,2})", re.I)
_DMY_TIME = re.compile(r"(\d{1,2}\.\d{1,2}\.\d{4})[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?")


class CellError(ValueError):
    """A cell that cannot be read: ``field``, and the message in English and German."""

    def __init__(self, field: str, en: str, de: str):
        super().__init__(en)
        self.field, self.en, self.de = field, en, de


def parse_date(text: str, *, birth: bool, today: date, pivot: int | None = None) -> str:
    """A date cell -> ISO text (a birth date may stay ``JJJJ``/``JJJJ-MM``); ValueError if unreadable."""
    text = text.strip()
    if birth and _PARTIAL.fullmatch(text):
        return text
    m = _ISO.fullmatch(text) or (_ISO.fullmatch(text[:10]) if re.fullmatch(r"[T ]00:00(:00)?", text[10:]) else None)
    if m:
        return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    m = _DMY.fullmatch(text)
    if not m:
        raise ValueError(text)
    day, month, year = int(m[1]), int(m[2]), m[3]
    if len(year) == 2:
        yy = int(year)
        if not birth:
            full = 2000 + yy
        elif pivot is not None:
            full = 2000 + yy if yy <= pivot else 1900 + yy
        else:
            full = 2000 + yy
            try:
                if date(full, month, day) > today:
                    full -= 100
            except ValueError:
                pass
    else:
        full = int(year)
    return date(full, month, day).isoformat()


def parse_product(text: str, mapping: Mapping) -> str:
    """A product cell -> an EU product code (unknown text is returned as typed, for the form to refuse)."""
    raw = " ".join(text.split())
    low = raw.lower()
    if low in mapping.products:
        return mapping.products[low]
    if low in PRODUCT_NAMES:
        return PRODUCT_NAMES[low]
    vs = valuesets.load()
    for code in vs.codes("vaccine-medicinal-product"):
        if code.lower() == low or vs.display("vaccine-medicinal-product", code).lower() == low:
            return code
    first = re.split(r"[\s(,]", low, maxsplit=1)[0]
    return PRODUCT_NAMES.get(first, raw)


def parse_dose(text: str, total: str, product: str | None) -> tuple[int, int]:
    """``2/2`` (or ``2`` with ``total``, or ``2`` alone by the usual rule) -> (dose number, total)."""
    text, total = text.strip(), total.strip()
    m = _DOSE.fullmatch(text)
    if m:
        return int(m[1]), int(m[2])
    if not text.isdigit():
        raise ValueError(text)
    n = int(text)
    if total:
        if not total.isdigit():
            raise ValueError(total)
        return n, int(total)
    if product in doses.SINGLE_DOSE_PRODUCTS:
        return n, 1
    return n, (2 if n <= 2 else n)


def parse_time(text: str, tz: ZoneInfo) -> str:
    """``TT.MM.JJJJ HH:MM`` (centre's time zone) or ISO with offset -> ISO 8601 with offset."""
    text = text.strip()
    m = _DMY_TIME.fullmatch(text)
    if m:
        day = date.fromisoformat(parse_date(m[1], birth=False, today=date.max))
        moment = datetime(day.year, day.month, day.day, int(m[2]), int(m[3]), int(m[4] or 0), tzinfo=tz)
        return moment.isoformat()
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.isoformat()


def check_formula(name: str, value: str) -> None:
    if value.lstrip().startswith(FORMULA_START) and not re.fullmatch(r"[-+]?\d+([.,]\d+)?", value.strip()):
        raise CellError(name, "starts like a spreadsheet formula (=, +, -, @); type the plain value",
                        "beginnt wie eine Tabellenformel (=, +, -, @); bitte den reinen Wert eintragen")


def to_input(cells: dict[str, str], type_: str, mapping: Mapping, *, today: date, tz: ZoneInfo
             ) -> tuple[dict, dict[str, str], list[CellError]]:
    """The mapped cells of one row (field -> text) -> (form input, address, cell errors)."""
    errors: list[CellError] = []
    for name, value in cells.items():
        try:
            check_formula(name, value)
        except CellError as exc:
            errors.append(exc)
    bad = {e.field for e in errors}
    get = lambda name: "" if name in bad else cells.get(name, "").strip()  # noqa: E731
    data: dict = {k: get(k) for k in PERSON if get(k)}
    if get("date_of_birth"):
        try:
            data["date_of_birth"] = parse_date(get("date_of_birth"), birth=True, today=today, pivot=mapping.century_pivot)
        except ValueError:
            errors.append(CellError("date_of_birth", "is not a date; write TT.MM.JJJJ (or JJJJ-MM-TT)",
                                    "ist kein Datum; bitte TT.MM.JJJJ (oder JJJJ-MM-TT) schreiben"))
            data.pop("date_of_birth")
    section: dict = {}
    for name in EVENT[type_]:
        value = get(name)
        if not value or name in ("dose", "dose_number", "total_doses"):
            continue
        try:
            if name in ("date", "first_positive", "valid_from", "valid_until"):
                value = parse_date(value, birth=False, today=today)
            elif name == "product":
                value = parse_product(value, mapping)
            elif name == "sample_time":
                value = parse_time(value, tz)
            elif name in ("test_type", "result"):
                value = TEST_WORDS.get(value.lower(), value)
        except ValueError:
            hint = ("TT.MM.JJJJ HH:MM", "TT.MM.JJJJ HH:MM") if name == "sample_time" else ("TT.MM.JJJJ", "TT.MM.JJJJ")
            errors.append(CellError(name, f"is not a date; write {hint[0]} (or ISO 8601)",
                                    f"ist kein Datum; bitte {hint[1]} (oder ISO 8601) schreiben"))
            continue
        section[name] = value
    if type_ == "v" and (get("dose") or get("dose_number")):
        field = "dose" if get("dose") else "dose_number"
        try:
            section["dose_number"], section["total_doses"] = parse_dose(
                get(field), get("total_doses"), section.get("product"))
        except ValueError:
            errors.append(CellError(field, "is not a dose; write e.g. 2/2 (dose/total)",
                                    "ist keine Dosisangabe; bitte z. B. 2/2 (Dosis/Gesamt) schreiben"))
    elif type_ == "v" and "dose" not in bad and "dose_number" not in bad:
        errors.append(CellError("dose", "is required; write e.g. 2/2 (dose/total)",
                                "fehlt; bitte z. B. 2/2 (Dosis/Gesamt) eintragen"))
    data[SECTIONS[type_]] = section
    address = {k: " ".join(get(k).split()) for k in ADDRESS_FIELDS if get(k)}
    return data, address, errors


def cells_of(row: list[str], columns: ColumnMap) -> dict[str, str]:
    """A row's cells by field."""
    return {name: row[i] for name, i in columns.index.items() if i < len(row)}


def row_key(batch_id: str, req, address: dict) -> str:
    """The row's identity: a hash of its normalised content and the batch id (the journal's idempotency key)."""
    person = req.person
    content = {"type": req.type, "person": [person.family_name, person.given_name, person.date_of_birth,
                                            person.family_name_std, person.given_name_std],
               "event": {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in sorted(req.event.items())},
               "address": dict(sorted(address.items()))}
    digest = hashlib.sha256(json.dumps([batch_id, content], sort_keys=True, ensure_ascii=False,
                                       separators=(",", ":")).encode("utf-8")).hexdigest()
    return f"batch:{batch_id}:{digest[:32]}"
