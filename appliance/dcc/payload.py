"""IssueRequest -> DCC payload (schema 1.3.x), its checks before signing, and the CWT expiry.

Pure: ``now``/``iat`` and the configuration come in as arguments.

Plausibility rules (:func:`rule_errors`, used by both :func:`appliance.dcc.form.parse_input`
and :func:`validate_dcc`):

* no event in the future: dates (``dt``, ``fr``) may not be later than the
  calendar date anywhere on Earth at ``now`` (UTC+14, so a centre east of UTC is
  never refused); a sample time may be at most :data:`SAMPLE_TOLERANCE` (5 min)
  after ``now`` (tablet and appliance clocks differ a little);
* nothing before the product or test existed: vaccination dates not before the
  product's first authorisation anywhere (:data:`FIRST_AUTHORISED`) or
  :data:`VACCINATION_START` for other products; tests and first positive tests
  not before :data:`TEST_START`;
* birth date: a real date (or year / year-month), not before 1900, not in the
  future, not after the event;
* vaccination: the dn/sd pair must be one the dose assistant offers
  (:mod:`appliance.dcc.doses`);
* test: only a negative result gets a test certificate, as in the German
  test-centre portal (cwa-quick-test-frontend: DCC only for negative RAT/PCR) and
  what issuers asked of the EU reference (dgca-issuance-web #81); a positive NAAT
  leads to a recovery certificate instead. A rapid antigen test needs a device
  from the EU list, a NAAT names none;
* recovery: ``df >= fr + 11 days`` and ``du <= fr + 180 days`` (the EU recovery
  certificate rules: valid from day 11 after the first positive NAAT, for at most
  180 days, Regulation (EU) 2021/953 and the EU business rules; this brief's
  figures, the legal text was not available offline). German issuers used
  ``df = fr + 28`` (certification-apis ``Implementation.md``), which also passes;
  ``df < du`` and ``du`` not already past.
"""

from __future__ import annotations

import logging
import unicodedata
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any, Mapping

from appliance.dcc import doses, names, schema, valuesets
from appliance.dcc.model import DETECTED, DISEASE, EVENT_KEYS, NAAT, RAT, SECTIONS, IssueRequest, input_path, type_of
from appliance.errors import InvalidInput
from appliance.messages import Msg, join

if TYPE_CHECKING:  # pragma: no cover
    from appliance.config import IssueSection  # typing only: the engine takes the [issue] values as an argument

log = logging.getLogger(__name__)

SAMPLE_TOLERANCE = timedelta(minutes=5)
DATE_TOLERANCE = timedelta(hours=14)  # the earliest time zone is UTC+14
EARLIEST_BIRTH = date(1900, 1, 1)
VACCINATION_START = date(2020, 12, 1)
TEST_START = date(2020, 1, 1)
RECOVERY_VALID_FROM_DAYS = 11
RECOVERY_MAX_DAYS = 180

#: First authorisation anywhere (emergency or conditional) of the EU-authorised vaccines.
#: Sources: MHRA (UK), FDA EUA, EMA/EC and national announcements, as published at the time.
FIRST_AUTHORISED: dict[str, date] = {
    "EU/1/20/1528": date(2020, 12, 2),   # Comirnaty, MHRA temporary authorisation
    "EU/1/20/1507": date(2020, 12, 18),  # Spikevax, FDA EUA
    "EU/1/21/1529": date(2020, 12, 30),  # Vaxzevria, MHRA
    "EU/1/20/1525": date(2021, 2, 27),   # Jcovden, FDA EUA
    "EU/1/21/1618": date(2021, 11, 1),   # Nuvaxovid, Indonesia EUA
    "EU/1/21/1624": date(2022, 3, 1),    # COVID-19 Vaccine Valneva, Bahrain
    "EU/1/21/1580": date(2022, 11, 10),  # VidPrevtyn Beta, EC
    "EU/1/22/1709": date(2023, 3, 30),   # Bimervax, EC
}


def _nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


def format_sc(moment: datetime) -> str:
    """Sample time as ``YYYY-MM-DDThh:mm:ssZ`` (UTC, no fractions)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_dcc(req: IssueRequest, *, uvci: str, schema_version: str,
              vs: "valuesets.ValueSets | None" = None) -> dict:
    """The DCC payload for ``req``: ``ver``, ``nam``, ``dob`` and exactly one of v/t/r
    (``vs``: the value sets in force, default the packaged ones)."""
    p, e = req.person, req.event
    nam = {k: _nfc(v) for k, v in (("fn", p.family_name), ("fnt", p.family_name_std),
                                   ("gn", p.given_name), ("gnt", p.given_name_std)) if v}
    common = {"co": e["country"], "is": _nfc(e["issuer"]), "ci": uvci}
    if req.type == "v":
        vp, ma = (vs or valuesets.load()).vaccine_encoding(e["product"])
        entry = {"tg": DISEASE, "vp": vp, "mp": e["product"], "ma": ma, "dn": e["dose_number"],
                 "sd": e["total_doses"], "dt": e["date"].isoformat(), **common}
    elif req.type == "t":
        entry = {"tg": DISEASE, "tt": e["test_type"]}
        if e.get("test_name"):
            entry["nm"] = _nfc(e["test_name"])
        if e.get("test_device"):
            entry["ma"] = e["test_device"]
        entry.update(sc=format_sc(e["sample_time"]), tr=e["result"])
        if e.get("centre"):
            entry["tc"] = _nfc(e["centre"])
        entry.update(common)
    elif req.type == "r":
        entry = {"tg": DISEASE, "fr": e["first_positive"].isoformat(), "co": e["country"], "is": common["is"],
                 "df": e["valid_from"].isoformat(), "du": e["valid_until"].isoformat(), "ci": uvci}
    else:
        raise InvalidInput({"input": Msg("type.invalid_short")})
    return {"ver": schema_version, "nam": nam, "dob": p.date_of_birth, req.type: [entry]}


# ---------------------------------------------------------------- plausibility

def earliest_birth(dob: str) -> date | None:
    """The first day a (possibly partial) birth date can mean; None if empty or malformed."""
    parts = dob.split("-") if dob else []
    try:
        nums = [int(x) for x in parts]
        return date(nums[0], nums[1] if len(nums) > 1 else 1, nums[2] if len(nums) > 2 else 1)
    except (ValueError, IndexError):
        return None


def rule_errors(kind: str, dob: str | None, event: Mapping[str, Any], *, now: datetime) -> dict[str, str]:
    """Plausibility problems keyed by input path. ``event`` holds typed values as in
    :class:`appliance.dcc.model.IssueRequest` (missing or malformed ones are skipped)."""
    sec = SECTIONS[kind]
    errors: dict[str, str] = {}
    latest_day = (now.astimezone(timezone.utc) + DATE_TOLERANCE).date()
    born = earliest_birth(dob) if dob else None
    if born is not None:
        if born < EARLIEST_BIRTH:
            errors["date_of_birth"] = Msg("dob.before", year=EARLIEST_BIRTH.year)
        elif born > now.astimezone(timezone.utc).date():
            errors["date_of_birth"] = Msg("dob.future")

    def event_day(key: str, start: date, what: str) -> None:
        day = event.get(key)
        if not isinstance(day, date):
            return
        if isinstance(day, datetime):
            day = day.astimezone(timezone.utc).date()
        if day > latest_day:
            errors[f"{sec}.{key}"] = Msg(f"{what}.future")
        elif day < start:
            errors[f"{sec}.{key}"] = Msg(f"{what}.too_early", date=start)
        if born is not None and "date_of_birth" not in errors and born > day:
            errors["date_of_birth"] = Msg(f"dob.after_{what}")

    if kind == "v":
        product = event.get("product")
        event_day("date", FIRST_AUTHORISED.get(product, VACCINATION_START), "vaccination")
        dn, sd = event.get("dose_number"), event.get("total_doses")
        if isinstance(product, str) and isinstance(dn, int) and isinstance(sd, int) \
                and doses.find(product, dn, sd) is None:
            allowed = ", ".join(o.label for o in doses.options(product))
            errors[f"{sec}.dose_number"] = Msg("dose.invalid", dose=f"{dn}/{sd}", allowed=allowed)
    elif kind == "t":
        sample = event.get("sample_time")
        if isinstance(sample, datetime):
            if sample > now + SAMPLE_TOLERANCE:
                errors[f"{sec}.sample_time"] = Msg("sample.future")
            elif sample.astimezone(timezone.utc).date() < TEST_START:
                errors[f"{sec}.sample_time"] = Msg("sample.before", date=TEST_START)
            if born is not None and "date_of_birth" not in errors and born > sample.date():
                errors["date_of_birth"] = Msg("dob.after_sample")
        if event.get("result") == DETECTED:
            errors[f"{sec}.result"] = Msg("test.positive", day=RECOVERY_VALID_FROM_DAYS)
        if event.get("test_type") == RAT and not event.get("test_device"):
            errors[f"{sec}.test_device"] = Msg("test.rat_needs_device")
        if event.get("test_type") == NAAT and event.get("test_device"):
            errors[f"{sec}.test_device"] = Msg("test.naat_no_device")
    elif kind == "r":
        fr, df, du = event.get("first_positive"), event.get("valid_from"), event.get("valid_until")
        event_day("first_positive", TEST_START, "first_positive")
        if isinstance(fr, date):
            earliest, latest = _days_after(fr, RECOVERY_VALID_FROM_DAYS), _days_after(fr, RECOVERY_MAX_DAYS)
            if isinstance(df, date) and df < earliest:
                errors[f"{sec}.valid_from"] = Msg("recovery.from_too_early", days=RECOVERY_VALID_FROM_DAYS, date=earliest)
            if isinstance(du, date) and du > latest:
                errors[f"{sec}.valid_until"] = Msg("recovery.until_too_late", days=RECOVERY_MAX_DAYS, date=latest)
        if isinstance(df, date) and isinstance(du, date) and df >= du and f"{sec}.valid_until" not in errors:
            errors[f"{sec}.valid_until"] = Msg("recovery.until_before_from")
        if isinstance(du, date) and du < now.astimezone(timezone.utc).date() and f"{sec}.valid_until" not in errors:
            errors[f"{sec}.valid_until"] = Msg("recovery.until_past")
    return errors


# ---------------------------------------------------------------- validate a built DCC

def _days_after(day: date, days: int) -> date:
    """``day + days``, at most ``date.max`` (a first positive test of 9999-12-31 is a field error
    for being in the future, not an OverflowError)."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max


def _parse_day(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None


def _parse_time(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else None


def _event_from_dcc(kind: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    """The typed event :func:`rule_errors` checks, read back from a DCC entry (unreadable values: None)."""
    event = {name: entry.get(key) for name, key in EVENT_KEYS[kind].items()}
    for name in ("date", "first_positive", "valid_from", "valid_until"):
        if name in event:
            event[name] = _parse_day(event[name])
    if "sample_time" in event:
        event["sample_time"] = _parse_time(event["sample_time"])
    return event


def validate_dcc(dcc: dict, *, now: datetime, vs: "valuesets.ValueSets | None" = None) -> None:
    """Schema + value sets ``vs`` (default the packaged ones; RAT devices strictly) + plausibility +
    standardised names that can come from the names (:func:`appliance.dcc.names.fits`: a typed
    ``fnt``/``gnt`` of another name is refused); raises InvalidInput keyed by input path."""
    errors: dict[str, str] = {}

    def add(path: str, message: str) -> None:
        errors[path] = join(errors[path], message) if path in errors else message

    for path, message in schema.schema_errors(dcc) + schema.valueset_errors(dcc, strict_test_manf=True, vs=vs):
        add(input_path(path), message)
    if isinstance(dcc, dict):
        kind = type_of(dcc)
        if kind and isinstance(dcc[kind][0], dict):
            dob = dcc.get("dob") if isinstance(dcc.get("dob"), str) else None
            for path, message in rule_errors(kind, dob, _event_from_dcc(kind, dcc[kind][0]), now=now).items():
                if path not in errors:
                    add(path, message)
        for key in names.misfits(dcc.get("nam")):   # a typed override that contradicts its name
            add(input_path(("nam", key)), Msg(f"name.std_misfit_{key}"))
    if errors:
        log.info("DCC refused before signing: %s", ", ".join(sorted(errors)))
        raise InvalidInput(errors)


# ---------------------------------------------------------------- expiry

def expiry(req: IssueRequest, *, iat: datetime, issue: "IssueSection") -> datetime:
    """CWT ``exp``: v: iat + validity_days_v; t: sample time + validity_hours_t;
    r: end of ``valid_until`` (23:59:59 UTC), at most iat + validity_days_r.

    Raises InvalidInput when the certificate would already be expired at ``iat``.
    """
    e = req.event
    if req.type == "v":
        return iat + timedelta(days=issue.validity_days_v)
    if req.type == "t":
        exp = e["sample_time"].astimezone(timezone.utc) + timedelta(hours=issue.validity_hours_t)
        if exp <= iat:
            raise InvalidInput({"test.sample_time": Msg("sample.too_old", hours=issue.validity_hours_t)})
        return exp
    end_of_du = datetime.combine(e["valid_until"], time(23, 59, 59), tzinfo=timezone.utc)
    exp = min(end_of_du, iat + timedelta(days=issue.validity_days_r))
    if exp <= iat:
        raise InvalidInput({"recovery.valid_until": Msg("recovery.until_past")})
    return exp
