"""``appliance rules eval --rule RULE.json --payload DCC.json [--external EXT.json]`` and
``appliance rules check HC1|- --country CC [--at ISO]``: business rules for technicians.

``eval`` evaluates one gateway rule (or a bare CertLogic expression) over
``{"payload": DCC, "external": EXT}`` and prints ``true`` or ``false`` (exit 0); an invalid
rule is a usage error (exit 2) naming the problem. ``--payload`` may also be a rule test
file of the gateway's test data (``{"payload", "external", "expected"}``).

``check`` decodes a certificate (trusting the device's and the installed trust list's DSCs,
as ``appliance verify`` does) and prints each installed rule of the country with its result;
exit 0 when every rule passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from appliance.commands.verify import device_dscs, parse_at, read_text
from appliance.config import load_config
from appliance.dcc import acceptance, certlogic, rules
from appliance.dcc.verify import verify
from appliance.errors import InvalidInput, ReferenceDataError, UsageError
from appliance.reference import installed

HELP = "business rules (CertLogic): eval | check"


def register(subparsers) -> None:
    parser = subparsers.add_parser("rules", help=HELP, description=HELP)
    sub = parser.add_subparsers(dest="rules_step", metavar="STEP", parser_class=type(parser))
    sub.required = True
    p = sub.add_parser("eval", help="evaluate one rule over a DCC payload; prints true or false")
    p.add_argument("--rule", required=True, type=Path, metavar="RULE.json")
    p.add_argument("--payload", required=True, type=Path, metavar="DCC.json")
    p.add_argument("--external", type=Path, metavar="EXT.json",
                   help="external parameters (valueSets, validationClock, countryCode, iat, exp)")
    p.set_defaults(func=run_eval)
    p = sub.add_parser("check", help="the installed rules of a country over a certificate, one line per rule")
    p.add_argument("hc1", metavar="HC1|-")
    p.add_argument("--country", required=True, help="two-letter country whose rules apply")
    p.add_argument("--at", metavar="ISO-8601", help="validation time (default: now)")
    p.add_argument("--lang", default="en", help="language of the rule descriptions (en, de, …)")
    p.set_defaults(func=run_check)


def _json(path: Path, option: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot read ({exc.strerror})") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{option} {path}: not valid JSON ({exc})") from None


def _logic(obj: Any, path: Path) -> Any:
    """The rule's Logic (checked as a gateway rule), or a bare expression (checked as CertLogic)."""
    try:
        if isinstance(obj, dict) and "Logic" in obj:
            return rules.parse_rule(obj).logic
        issues = certlogic.validation_issues(obj)
    except InvalidInput as exc:
        raise UsageError(f"--rule {path}: {exc}") from None
    if issues:
        raise UsageError(f"--rule {path}: not valid CertLogic: " + "; ".join(i.describe() for i in issues))
    return obj


def run_eval(args: argparse.Namespace) -> int:
    logic = _logic(_json(args.rule, "--rule"), args.rule)
    payload = _json(args.payload, "--payload")
    external: Any = {}
    if isinstance(payload, dict) and "payload" in payload and "nam" not in payload:  # a rule test file
        external, payload = payload.get("external", {}), payload["payload"]
    if args.external is not None:
        external = _json(args.external, "--external")
    try:
        result = certlogic.evaluate(logic, {"payload": payload, "external": external})
    except certlogic.CertLogicError as exc:
        print(f"appliance: note: evaluation error, counted as a fail: {exc}", file=sys.stderr)
        result = False
    print("true" if result is True else "false")
    return 0


def run_check(args: argparse.Namespace) -> int:
    country = args.country.strip().upper()
    if len(country) != 2 or not country.isalpha():
        raise UsageError(f"--country {args.country!r}: give a two-letter country code, e.g. AT")
    at = parse_at(args.at)
    config = load_config()
    ref = installed.load(config.state_dir)
    if not ref.has_rules:
        raise ReferenceDataError("no business rules are installed; import a bundle with rules "
                                 "(appliance reference import FILE)")
    result = verify(read_text(args.hc1), dscs=device_dscs() + ref.dscs(), at=at, valuesets=ref.valuesets)
    if result.payload is None or result.type is None:
        raise UsageError("the certificate cannot be decoded: " + "; ".join(result.errors[:2]))
    if result.checks["signature"] is not True:
        print("warning: the signature could not be checked (" + result.errors[0] + ")")
    base = acceptance.external_base(ref.valuesets, iat=result.issued_at, exp=result.expires_at)
    report = rules.check(ref.rules, result.payload, country=country, at=at, external_base=base, lang=args.lang)
    if not report.outcomes:
        print(f"{country}: no rule of {country} applies to this certificate at {at.isoformat()}")
        return 1
    for o in report.outcomes:
        print(f"{'PASS' if o.passed else 'FAIL'} {o.rule_id} {o.version}: {o.description}"
              + (f" ({o.error})" if o.error else ""))
    print(f"{country}: {'accepted' if report.accepted else 'not accepted'} "
          f"({len(report.passed)} passed, {len(report.failed)} failed)")
    return 0 if report.accepted else 1
