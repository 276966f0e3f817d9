"""Business rules of the EU DCC gateway: parse them, pick those that apply, evaluate them.

A rule is the JSON object the EU DCC gateway distributes (``Identifier``, ``Type``,
``Country``, ``Version``, ``CertificateType``, ``ValidFrom``/``ValidTo``, ``Description``,
``Logic`` …). Its ``Logic`` is a CertLogic expression (:mod:`appliance.dcc.certlogic`)
evaluated over ``{"payload": <DCC JSON>, "external": {...}}``; it passes when it gives
``true``.

:func:`check` answers "would this certificate be accepted in country X at time T?": it
takes the country's acceptance rules valid at T (the newest version of each), those for the
certificate's type, and evaluates them. :func:`earliest_acceptance` finds the first of some
candidate times at which every rule passes ("accepted in AT from 15.12."). Time is always an
argument: nothing here reads the clock.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from appliance.dcc import certlogic
from appliance.errors import InvalidInput

log = logging.getLogger(__name__)

#: CertificateType -> the payload key it applies to (``None``: every certificate).
CERTIFICATE_TYPES: dict[str, str | None] = {
    "General": None, "Vaccination": "v", "Test": "t", "Recovery": "r"}
RULE_TYPES = ("Acceptance", "Invalidation")
REQUIRED_FIELDS = ("Identifier", "Type", "Country", "Version", "SchemaVersion", "Engine",
                   "EngineVersion", "CertificateType", "Description", "ValidFrom", "ValidTo",
                   "AffectedFields", "Logic")

_IDENTIFIER = re.compile(r"(GR|VR|TR|RR|IR)-([A-Z]{2})-\d{4}")
_ID_PREFIX = {"GR": "General", "VR": "Vaccination", "TR": "Test", "RR": "Recovery"}
_SEMVER = re.compile(r"\d+\.\d+\.\d+")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


class RuleError(InvalidInput):
    """A rule is malformed; the message names the rule and the problem."""

    def __init__(self, rule_id: str, problem: str):
        super().__init__({f"rule {rule_id}": problem}, f"rule {rule_id}: {problem}")
        self.rule_id = rule_id


@dataclass(frozen=True)
class Rule:
    """One version of one business rule, as the gateway distributes it."""

    identifier: str
    type: str
    country: str
    version: str
    schema_version: str
    engine: str
    engine_version: str
    certificate_type: str
    descriptions: tuple[tuple[str, str], ...]  # (lang, desc)
    valid_from: datetime
    valid_to: datetime
    affected_fields: tuple[str, ...]
    logic: Any

    @property
    def version_key(self) -> tuple[int, ...]:
        return tuple(int(part) for part in self.version.split("."))

    def description(self, lang: str = "en") -> str:
        """The description in ``lang``, else in English, else the first one."""
        texts = dict(reversed(self.descriptions))  # the first text of a language wins
        return texts.get(lang) or texts.get("en") or self.descriptions[0][1]

    def valid_at(self, at: datetime) -> bool:
        return self.valid_from <= at < self.valid_to

    def applies_to(self, certificate_type: str) -> bool:
        """Whether it applies to a certificate of payload key ``v``, ``t`` or ``r``."""
        return CERTIFICATE_TYPES[self.certificate_type] in (None, certificate_type)


@dataclass(frozen=True)
class RuleOutcome:
    """How one rule went: passed or not, its description in the language asked for."""

    rule_id: str
    version: str
    passed: bool
    description: str
    error: str | None = None  # why the Logic gave no boolean (an evaluation error, ...)


@dataclass(frozen=True)
class RuleReport:
    """The outcome of the rules of ``country`` for a certificate of type ``v``/``t``/``r`` at ``at``."""

    country: str
    at: datetime
    certificate_type: str
    outcomes: tuple[RuleOutcome, ...]

    @property
    def accepted(self) -> bool:
        """Every applicable rule passed. No applicable rule at all is not an acceptance."""
        return bool(self.outcomes) and all(o.passed for o in self.outcomes)

    @property
    def passed(self) -> tuple[RuleOutcome, ...]:
        return tuple(o for o in self.outcomes if o.passed)

    @property
    def failed(self) -> tuple[RuleOutcome, ...]:
        return tuple(o for o in self.outcomes if not o.passed)


# --- parsing -------------------------------------------------------------------------------

def parse_rule(obj: Any) -> Rule:
    """Check a rule's JSON object and turn it into a :class:`Rule`; fields not known are ignored.

    :raises RuleError: a required field is missing or malformed, or ``Logic`` is not valid CertLogic.
    """
    if not isinstance(obj, Mapping):
        raise RuleError("?", "a rule must be a JSON object")
    rule_id = obj["Identifier"] if isinstance(obj.get("Identifier"), str) else "?"
    missing = [name for name in REQUIRED_FIELDS if name not in obj]
    if missing:
        raise RuleError(rule_id, f"missing required field(s): {', '.join(missing)}")
    problems = _shape_problems(obj)
    if problems:
        raise RuleError(rule_id, "; ".join(problems))
    issues = certlogic.validation_issues(obj["Logic"])
    if issues:
        raise RuleError(rule_id, "Logic is not valid CertLogic: "
                        + "; ".join(issue.describe() for issue in issues))
    return Rule(obj["Identifier"], obj["Type"], obj["Country"], obj["Version"], obj["SchemaVersion"],
                obj["Engine"], obj["EngineVersion"], obj["CertificateType"],
                tuple((d["lang"], d["desc"]) for d in obj["Description"]),
                _timestamp(obj["ValidFrom"]), _timestamp(obj["ValidTo"]),
                tuple(obj["AffectedFields"]), obj["Logic"])


def parse_rules(objs: Iterable[Any]) -> list[Rule]:
    """:func:`parse_rule` on each, e.g. a gateway file holding a list of rule versions."""
    return [parse_rule(obj) for obj in objs]


def _shape_problems(obj: Mapping) -> list[str]:
    checks = [
        ("Identifier", _matches(_IDENTIFIER), "must look like VR-AT-0001"),
        ("Type", lambda v: v in RULE_TYPES, f"must be one of {', '.join(RULE_TYPES)}"),
        ("Country", _matches(re.compile(r"[A-Z]{2}")), "must be two capital letters"),
        ("Version", _matches(_SEMVER), "must be a version like 1.0.0"),
        ("SchemaVersion", _matches(_SEMVER), "must be a version like 1.0.0"),
        ("Engine", lambda v: v == "CERTLOGIC", "must be CERTLOGIC"),
        ("EngineVersion", _matches(_SEMVER), "must be a version like 1.0.0"),
        ("CertificateType", lambda v: v in CERTIFICATE_TYPES,
         f"must be one of {', '.join(CERTIFICATE_TYPES)}"),
        ("Description", _is_descriptions, "must be a non-empty list of {lang, desc} strings"),
        ("ValidFrom", _matches(_TIMESTAMP), "must be a date-time with offset, like 2021-06-01T00:00:00Z"),
        ("ValidTo", _matches(_TIMESTAMP), "must be a date-time with offset, like 2030-06-01T00:00:00Z"),
        ("AffectedFields", lambda v: isinstance(v, list) and all(isinstance(f, str) for f in v),
         "must be a list of strings"),
    ]
    problems = [f"{name} {expected}" for name, ok, expected in checks if not ok(obj[name])]
    return problems or _consistency_problems(obj)


def _consistency_problems(obj: Mapping) -> list[str]:
    kind, country = _IDENTIFIER.fullmatch(obj["Identifier"]).groups()
    problems = []
    if country != obj["Country"]:
        problems.append(f"Identifier names country {country}, but Country is {obj['Country']}")
    if kind in _ID_PREFIX and _ID_PREFIX[kind] != obj["CertificateType"]:
        problems.append(f"Identifier {kind}-… is for {_ID_PREFIX[kind]}, "
                        f"but CertificateType is {obj['CertificateType']}")
    try:
        if _timestamp(obj["ValidFrom"]) >= _timestamp(obj["ValidTo"]):
            problems.append("ValidFrom must be before ValidTo")
    except ValueError as exc:
        problems.append(f"ValidFrom/ValidTo is not a valid date-time: {exc}")
    return problems


def _matches(pattern: re.Pattern) -> Any:
    return lambda value: isinstance(value, str) and pattern.fullmatch(value) is not None


def _is_descriptions(value: Any) -> bool:
    return isinstance(value, list) and len(value) > 0 and all(
        isinstance(d, Mapping) and isinstance(d.get("lang"), str) and isinstance(d.get("desc"), str)
        for d in value)


def _timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


# --- evaluation ----------------------------------------------------------------------------

def evaluate_rule(rule: Rule, payload: Mapping, external: Mapping) -> bool:
    """Whether the rule passes: its Logic gives ``true``. An evaluation error, or a result
    that is not a boolean, is a fail (as the specification advises)."""
    return _evaluate(rule, payload, external)[0]


def _evaluate(rule: Rule, payload: Mapping, external: Mapping) -> tuple[bool, str | None]:
    """(passed, error): error says why the Logic gave no boolean, if it did not."""
    try:
        result = certlogic.evaluate(rule.logic, {"payload": payload, "external": external})
    except certlogic.CertLogicError as exc:
        log.debug("rule %s %s could not be evaluated: %s", rule.identifier, rule.version, exc)
        return False, f"evaluation error: {exc}"
    if isinstance(result, bool):
        return result, None
    return False, "the Logic gave a value that is not a boolean"


def certificate_type(payload: Mapping) -> str:
    """``v``, ``t`` or ``r``: which kind of entry the DCC payload holds."""
    kinds = [key for key in ("v", "t", "r") if payload.get(key)]
    if len(kinds) != 1:
        raise InvalidInput({"payload": "must hold exactly one non-empty v, t or r"})
    return kinds[0]


def select_rules(rules: Iterable[Rule], *, country: str, at: datetime, certificate_type: str,
                 rule_type: str = "Acceptance") -> list[Rule]:
    """The rules of ``country`` and ``rule_type`` valid at ``at`` for the certificate type
    (``v``/``t``/``r``): of each Identifier, the newest Version of those valid then."""
    _require_aware(at)
    newest: dict[str, Rule] = {}
    for rule in rules:
        if (rule.country == country.upper() and rule.type == rule_type and rule.valid_at(at)
                and rule.applies_to(certificate_type)):
            known = newest.get(rule.identifier)
            if known is None or rule.version_key > known.version_key:
                newest[rule.identifier] = rule
    return sorted(newest.values(), key=lambda r: r.identifier)


def external_parameters(base: Mapping[str, Any] | None, *, country: str, at: datetime) -> dict[str, Any]:
    """The ``external`` data of the rules: ``base`` (``valueSets``, ``exp``, ``iat``, …) plus
    ``validationClock`` (``at``) and ``countryCode``. Datetimes, and ``exp``/``iat`` given as
    CWT seconds, become ISO strings."""
    external = {key: _external_value(key, value) for key, value in (base or {}).items()}
    external.setdefault("valueSets", {})
    external["validationClock"] = _iso(at)
    external["countryCode"] = country.upper()
    return external


def _external_value(key: str, value: Any) -> Any:
    if key in ("exp", "iat") and type(value) is int:
        value = datetime.fromtimestamp(value, timezone.utc)
    return _iso(value) if isinstance(value, datetime) else value


def _iso(moment: datetime) -> str:
    _require_aware(moment)
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None:
        raise ValueError("a time for the business rules must carry its timezone")


def check(rules: Iterable[Rule], payload: Mapping, *, country: str, at: datetime,
          external_base: Mapping[str, Any] | None = None, lang: str = "en") -> RuleReport:
    """Evaluate the rules of ``country`` that apply to this DCC payload at ``at``."""
    kind = certificate_type(payload)
    external = external_parameters(external_base, country=country, at=at)
    outcomes = []
    for rule in select_rules(rules, country=country, at=at, certificate_type=kind):
        passed, error = _evaluate(rule, payload, external)
        outcomes.append(RuleOutcome(rule.identifier, rule.version, passed, rule.description(lang), error))
    return RuleReport(country.upper(), at, kind, tuple(outcomes))


def earliest_acceptance(rules: Iterable[Rule], payload: Mapping, *, country: str,
                        candidates: Iterable[datetime],
                        external_base: Mapping[str, Any] | None = None) -> datetime | None:
    """The earliest of ``candidates`` at which the certificate is accepted; None if none is."""
    rules = list(rules)
    for at in sorted(candidates):
        if check(rules, payload, country=country, at=at, external_base=external_base).accepted:
            return at
    return None


def days_ahead(start: datetime, days: int) -> list[datetime]:
    """``start`` and the same time on each of the next ``days`` days: candidates for
    :func:`earliest_acceptance`."""
    return [start + timedelta(days=n) for n in range(days + 1)]
