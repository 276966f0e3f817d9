"""Business rules: every rule test of ``tests/vectors/rules/testdata``, and rule selection,
parsing and the earliest-acceptance helper on rules made up here."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path

import pytest

from appliance.dcc import certlogic
from appliance.dcc.rules import (Rule, RuleError, certificate_type, check, days_ahead,
                                 earliest_acceptance, evaluate_rule, external_parameters,
                                 parse_rule, parse_rules, select_rules)
from appliance.errors import InvalidInput

TESTDATA = Path(__file__).resolve().parent.parent / "vectors" / "rules" / "testdata"

#: Rule tests per country upstream (MT ships rules in another layout, without tests).
TESTS_PER_COUNTRY = {"CY": 122, "CZ": 62, "ES": 87, "EU": 101, "FI": 145, "HR": 68, "IE": 135,
                     "LU": 88, "MT": 0, "PL": 93, "RO": 46}


def _rule_tests() -> list:
    return [pytest.param(rule_path, test_path,
                         id=f"{rule_path.parent.parent.name}/{rule_path.parent.name}/{test_path.stem}")
            for rule_path in sorted(TESTDATA.glob("*/*/rule.json"))
            for test_path in sorted((rule_path.parent / "tests").glob("*.json"))]


RULE_TESTS = _rule_tests()


@cache
def _rule(path: Path) -> Rule:
    return parse_rule(json.loads(path.read_text(encoding="utf-8")))


def _test(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_rule_tests_are_all_there():
    found = {country: 0 for country in TESTS_PER_COUNTRY}
    for param in RULE_TESTS:
        found[param.id.split("/")[0]] += 1
    assert found == TESTS_PER_COUNTRY


@pytest.mark.parametrize("rule_path, test_path", RULE_TESTS)
def test_rule_testdata(rule_path, test_path):
    rule, test = _rule(rule_path), _test(test_path)
    data = {"payload": test["payload"], "external": test["external"]}
    assert certlogic.evaluate(rule.logic, data) is test["expected"]  # no error, exactly true/false
    assert evaluate_rule(rule, test["payload"], test["external"]) is test["expected"]


def _clocked_single_type_tests() -> list:
    """The rule tests with a validationClock and a payload of one type: ``check`` can run them."""
    params = []
    for param in RULE_TESTS:
        test = _test(param.values[1])
        kinds = [k for k in "vtr" if test["payload"].get(k)]
        if "validationClock" in test["external"] and len(kinds) == 1:
            params.append(param)
    return params


@pytest.mark.parametrize("rule_path, test_path", _clocked_single_type_tests())
def test_check_agrees_with_rule_testdata(rule_path, test_path):
    rule, test = _rule(rule_path), _test(test_path)
    at = certlogic.parse_datetime(test["external"]["validationClock"])
    base = {k: v for k, v in test["external"].items() if k != "validationClock"}
    report = check([rule], test["payload"], country=rule.country, at=at, external_base=base)
    assert [(o.rule_id, o.passed) for o in report.outcomes] == [(rule.identifier, test["expected"])]


def test_mt_rules_parse_except_the_two_broken_upstream():
    """MT's files are not checked upstream: one is not JSON, VR-MT-0005 has an ``if`` with 4 operands."""
    refused = {}
    for path in sorted((TESTDATA / "MT").glob("*/*.json")):
        try:
            assert parse_rule(json.loads(path.read_text(encoding="utf-8"))).country == "MT"
        except json.JSONDecodeError:
            refused[path.name] = "not JSON"
        except RuleError as exc:
            refused[path.name] = str(exc)
    assert refused.pop("TR-MT-0001.json") == "not JSON"
    assert refused.pop("VR-MT-0005.json").startswith(
        'rule VR-MT-0005: Logic is not valid CertLogic: an operation with operator "if" must have '
        "3 operands, but it has 4")
    assert refused == {}


# --- rules made up here ----------------------------------------------------------------------

UTC = timezone.utc
VACCINATED = {"ver": "1.3.0", "dob": "1990-01-01",
              "v": [{"tg": "840539006", "mp": "EU/1/20/1528", "dn": 2, "sd": 2, "dt": "2021-12-01"}]}
TESTED = {"ver": "1.3.0", "dob": "1990-01-01", "t": [{"tt": "LP6464-4", "sc": "2021-12-01T08:00:00Z"}]}
KIND = {"GR": "General", "VR": "Vaccination", "TR": "Test", "RR": "Recovery", "IR": "Vaccination"}


def rule_obj(identifier: str = "VR-AT-0001", **changes) -> dict:
    obj = {"Identifier": identifier, "Type": "Invalidation" if identifier[:2] == "IR" else "Acceptance",
           "Country": identifier[3:5], "Version": "1.0.0", "SchemaVersion": "1.0.0",
           "Engine": "CERTLOGIC", "EngineVersion": "1.0.0", "CertificateType": KIND[identifier[:2]],
           "Description": [{"lang": "en", "desc": f"{identifier} in English"},
                           {"lang": "de", "desc": f"{identifier} auf Deutsch"}],
           "ValidFrom": "2021-06-01T00:00:00Z", "ValidTo": "2030-06-01T00:00:00Z",
           "AffectedFields": ["v.0"], "Logic": True}
    obj.update(changes)
    return obj


def make(identifier: str = "VR-AT-0001", **changes) -> Rule:
    return parse_rule(rule_obj(identifier, **changes))


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def ids(rules) -> list[tuple[str, str]]:
    return [(r.identifier, r.version) for r in rules]


def test_select_by_valid_from_and_valid_to():
    rule = make(ValidFrom="2022-01-01T00:00:00Z", ValidTo="2022-02-01T00:00:00+01:00")
    chosen = lambda moment: ids(select_rules([rule], country="AT", at=moment, certificate_type="v"))
    assert chosen(at(2021, 12, 31, 23, 59, 59)) == []
    assert chosen(at(2022, 1, 1)) == [("VR-AT-0001", "1.0.0")]  # ValidFrom <= at
    assert chosen(at(2022, 1, 31, 22, 59, 59)) == [("VR-AT-0001", "1.0.0")]
    assert chosen(at(2022, 1, 31, 23)) == []  # at < ValidTo (= 23:00 UTC)


def test_select_newest_version_among_those_valid_then():
    rules = [make(Version="1.0.0"), make(Version="1.9.0", ValidFrom="2021-09-01T00:00:00Z"),
             make(Version="1.10.0", ValidFrom="2022-01-01T00:00:00Z")]
    chosen = lambda moment: ids(select_rules(rules, country="AT", at=moment, certificate_type="v"))
    assert chosen(at(2021, 8, 1)) == [("VR-AT-0001", "1.0.0")]
    assert chosen(at(2021, 12, 1)) == [("VR-AT-0001", "1.9.0")]
    assert chosen(at(2022, 1, 1)) == [("VR-AT-0001", "1.10.0")]  # 1.10 is newer than 1.9


def test_select_by_certificate_type():
    rules = [make("GR-AT-0001"), make("VR-AT-0001"), make("TR-AT-0001"), make("RR-AT-0001")]
    for kind, expected in (("v", "VR"), ("t", "TR"), ("r", "RR")):
        chosen = select_rules(rules, country="AT", at=at(2022, 1, 1), certificate_type=kind)
        assert [r.identifier for r in chosen] == ["GR-AT-0001", f"{expected}-AT-0001"]


def test_select_by_country_and_rule_type():
    rules = [make("VR-AT-0001"), make("VR-DE-0001"), make("IR-AT-0001")]
    assert ids(select_rules(rules, country="at", at=at(2022, 1, 1), certificate_type="v")) == [
        ("VR-AT-0001", "1.0.0")]
    assert ids(select_rules(rules, country="AT", at=at(2022, 1, 1), certificate_type="v",
                            rule_type="Invalidation")) == [("IR-AT-0001", "1.0.0")]


def test_select_needs_an_aware_time():
    with pytest.raises(ValueError, match="timezone"):
        select_rules([make()], country="AT", at=datetime(2022, 1, 1), certificate_type="v")


@pytest.mark.parametrize("logic, problem", [
    ({"var": 1}, 'not of the form { "var": "<path>" }'),
    ({"some": [{"var": "payload.v"}, True]}, 'unrecognised operator: "some"'),
    ({"plusTime": [{"var": "payload.v.0.dt"}, "14", "day"]}, '"amount" argument (#2) of "plusTime"'),
    ({"if": [True, 3.5, False]}, "3.5 is a non-integer number"),
    (None, "invalid CertLogic expression"),
])
def test_parse_rule_refuses_bad_logic(logic, problem):
    with pytest.raises(RuleError) as caught:
        parse_rule(rule_obj("VR-AT-0007", Logic=logic))
    message = str(caught.value)
    assert message.startswith("rule VR-AT-0007: Logic is not valid CertLogic: ") and problem in message
    assert isinstance(caught.value, InvalidInput) and caught.value.rule_id == "VR-AT-0007"


def test_parse_rule_refuses_missing_fields():
    obj = rule_obj("TR-AT-0002")
    del obj["ValidTo"], obj["Logic"]
    with pytest.raises(RuleError, match=r"^rule TR-AT-0002: missing required field\(s\): ValidTo, Logic$"):
        parse_rule(obj)
    with pytest.raises(RuleError, match=r"^rule \?: missing required field\(s\): Identifier$"):
        parse_rule({k: v for k, v in rule_obj().items() if k != "Identifier"})
    with pytest.raises(RuleError, match="must be a JSON object"):
        parse_rule([rule_obj()])


@pytest.mark.parametrize("changes, problem", [
    ({"CertificateType": "Vax"}, "CertificateType must be one of General, Vaccination, Test, Recovery"),
    ({"ValidFrom": "22022-01-15T00:00:00Z"}, "ValidFrom must be a date-time with offset"),
    ({"ValidTo": "2030-06-01"}, "ValidTo must be a date-time with offset"),
    ({"ValidFrom": "2031-01-01T00:00:00Z"}, "ValidFrom must be before ValidTo"),
    ({"ValidFrom": "2021-13-01T00:00:00Z"}, "not a valid date-time"),
    ({"Country": "DE"}, "Identifier names country AT, but Country is DE"),
    ({"CertificateType": "Test"}, "Identifier VR-… is for Vaccination, but CertificateType is Test"),
    ({"Version": "1.0"}, "Version must be a version like 1.0.0"),
    ({"Engine": "JSONLOGIC"}, "Engine must be CERTLOGIC"),
    ({"Type": "acceptance"}, "Type must be one of Acceptance, Invalidation"),
    ({"Description": []}, "Description must be a non-empty list"),
    ({"AffectedFields": "v.0"}, "AffectedFields must be a list of strings"),
])
def test_parse_rule_refuses_malformed_fields(changes, problem):
    with pytest.raises(RuleError, match="^rule VR-AT-0001: ") as caught:
        parse_rule(rule_obj(**changes))
    assert problem in str(caught.value)


def test_parse_rules_of_a_gateway_file_ignores_extra_fields():
    rules = parse_rules([rule_obj(**{"expr-as-text": "true"}), rule_obj(Version="1.0.1")])
    assert ids(rules) == [("VR-AT-0001", "1.0.0"), ("VR-AT-0001", "1.0.1")]
    assert rules[0].valid_from == at(2021, 6, 1) and rules[0].descriptions[1] == ("de", "VR-AT-0001 auf Deutsch")


def test_description_in_a_language_falls_back_to_english():
    rule = make(Description=[{"lang": "fr", "desc": "français"}, {"lang": "en", "desc": "English"}])
    assert (rule.description("fr"), rule.description("de"), rule.description()) == ("français", "English", "English")
    assert make(Description=[{"lang": "fr", "desc": "français"}]).description("de") == "français"


PRODUCT_ALLOWED = {"in": [{"var": "payload.v.0.mp"}, ["EU/1/20/1507"]]}
IN_AT = {"===": [{"var": "external.countryCode"}, "AT"]}


def test_check_reports_passed_and_failed_rules_with_descriptions():
    rules = [make("GR-AT-0000"), make("VR-AT-0001", Logic=PRODUCT_ALLOWED),
             make("VR-AT-0002", Logic=IN_AT, Description=[{"lang": "en", "desc": "only English"}]),
             make("TR-AT-0001", Logic=False)]
    report = check(rules, VACCINATED, country="AT", at=at(2022, 1, 1), external_base={}, lang="de")
    assert (report.country, report.certificate_type, report.accepted) == ("AT", "v", False)
    assert [(o.rule_id, o.description) for o in report.passed] == [
        ("GR-AT-0000", "GR-AT-0000 auf Deutsch"), ("VR-AT-0002", "only English")]
    assert [(o.rule_id, o.passed, o.error) for o in report.failed] == [("VR-AT-0001", False, None)]


def test_check_with_no_applicable_rule_is_not_an_acceptance():
    report = check([make("TR-AT-0001")], VACCINATED, country="AT", at=at(2022, 1, 1))
    assert report.outcomes == () and not report.accepted


def test_an_evaluation_error_fails_the_rule_with_its_reason():
    rule = make(Logic={"<": [{"var": "payload.v.0.xx"}, 2]})
    report = check([rule], VACCINATED, country="AT", at=at(2022, 1, 1))
    assert not report.accepted and report.outcomes[0].error.startswith("evaluation error: ")
    assert evaluate_rule(rule, VACCINATED, {}) is False
    assert evaluate_rule(make(Logic="yes"), VACCINATED, {}) is False  # truthy is not true


def test_external_parameters():
    base = {"valueSets": {"x": ["1"]}, "exp": 1640995200, "iat": at(2021, 12, 1, 1, 2, 3, 456789),
            "countryCode": "DE", "issuerCountryCode": "DE"}
    external = external_parameters(base, country="at", at=datetime(2022, 1, 1, 11, tzinfo=timezone(timedelta(hours=1))))
    assert external == {"valueSets": {"x": ["1"]}, "exp": "2022-01-01T00:00:00.000Z",
                        "iat": "2021-12-01T01:02:03.456Z", "countryCode": "AT",
                        "issuerCountryCode": "DE", "validationClock": "2022-01-01T10:00:00.000Z"}
    assert external_parameters(None, country="AT", at=at(2022, 1, 1))["valueSets"] == {}


def test_check_gives_the_rules_clock_exp_and_value_sets():
    logic = {"and": [
        {"not-before": [{"plusTime": [{"var": "external.exp"}, 0, "day"]},
                        {"plusTime": [{"var": "external.validationClock"}, 0, "day"]}]},
        {"in": [{"var": "payload.v.0.mp"}, {"var": "external.valueSets.vaccines-covid-19-names"}]}]}
    base = {"valueSets": {"vaccines-covid-19-names": ["EU/1/20/1528"]}, "exp": at(2022, 3, 1)}
    accepted = lambda moment: check([make(Logic=logic)], VACCINATED, country="AT", at=moment,
                                    external_base=base).accepted
    assert accepted(at(2022, 2, 28, 23, 59)) and accepted(at(2022, 3, 1))
    assert not accepted(at(2022, 3, 1, 0, 0, 1))


def test_certificate_type_of_a_payload():
    assert (certificate_type(VACCINATED), certificate_type(TESTED)) == ("v", "t")
    for payload in ({"dob": "1990"}, {"v": []}, {**VACCINATED, **TESTED}):
        with pytest.raises(InvalidInput):
            certificate_type(payload)


FOURTEEN_DAYS_AFTER = make("VR-AT-0003", Logic={"not-before": [
    {"plusTime": [{"var": "external.validationClock"}, 0, "day"]},
    {"plusTime": [{"var": "payload.v.0.dt"}, 14, "day"]}]})


def test_earliest_acceptance_day_by_day():
    now = at(2021, 12, 3, 10)
    found = earliest_acceptance([FOURTEEN_DAYS_AFTER], VACCINATED, country="AT",
                                candidates=days_ahead(now, 30))
    assert found == at(2021, 12, 15, 10)
    assert earliest_acceptance([FOURTEEN_DAYS_AFTER], VACCINATED, country="AT",
                               candidates=days_ahead(at(2021, 12, 20, 10), 30)) == at(2021, 12, 20, 10)


def test_earliest_acceptance_uses_the_rules_valid_then():
    stricter = make("VR-AT-0003", Version="2.0.0", ValidFrom="2021-12-10T00:00:00Z",
                    Logic={"!": [{"in": [{"var": "payload.v.0.mp"}, ["EU/1/20/1528"]]}]})
    candidates = days_ahead(at(2021, 12, 3, 10), 60)
    assert earliest_acceptance([FOURTEEN_DAYS_AFTER, stricter], VACCINATED, country="AT",
                               candidates=candidates) is None
    other = copy.deepcopy(VACCINATED)
    other["v"][0]["mp"] = "EU/1/20/1507"
    assert earliest_acceptance([FOURTEEN_DAYS_AFTER, stricter], other, country="AT",
                               candidates=candidates) == at(2021, 12, 10, 10)


def test_days_ahead():
    assert days_ahead(at(2021, 12, 31, 10), 2) == [at(2021, 12, 31, 10), at(2022, 1, 1, 10), at(2022, 1, 2, 10)]
