"""``appliance verify [--json] [--dsc FILE]... [--at ISO-8601] HC1|-``: check a certificate.

Prints the DESIGN.md JSON object with ``--json``, else a short summary. Exit 0
valid, 1 invalid, 2 usage error (no argument, bad ``--at``, unreadable ``--dsc``).
Without ``--dsc`` the device's own DSCs are trusted (``<state>/dsc.pem`` and
``<state>/software-signer/dsc.pem``, when present) and the DSCs of the installed trust list
(``appliance reference import``). The installed value sets, revocations and business rules
are used in either case: ``valuesets`` is its own check, ``revoked`` is true for a
certificate on the revocation list or revoked in this device's journal (then it is invalid),
and ``rules`` holds per country whether every business rule passed.
"""

from __future__ import annotations

import base64
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

from appliance.dcc import dsc
from appliance.dcc.model import SECTIONS
from appliance.errors import ApplianceError, JournalError, UsageError
from appliance.dcc.verify import verify
from appliance.config import load_config
from appliance.reference import installed

DEVICE_DSCS = ("dsc.pem", "software-signer/dsc.pem")


def register(subparsers) -> None:
    parser = subparsers.add_parser("verify", help="verify an HC1 certificate (strict)",
                                   description="Verify an HC1: text against trusted DSCs.")
    parser.add_argument("hc1", metavar="HC1|-", help="the HC1: text, or - to read it from stdin")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--dsc", action="append", default=[], metavar="FILE",
                        help="a trusted DSC (PEM or DER); repeatable; default: this device's DSCs")
    parser.add_argument("--at", metavar="ISO-8601", help="verification time (default: now)")
    parser.set_defaults(func=run)


def parse_at(text: str | None) -> datetime:
    if text is None:
        return datetime.now(timezone.utc)
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--at: {text!r} is not an ISO 8601 time, e.g. 2026-11-28T10:00:00Z") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def load_dscs(files: list[str]) -> list:
    certs = []
    for name in files:
        try:
            certs.append(dsc.load_certificate(Path(name).read_bytes()))
        except OSError as exc:
            raise UsageError(f"--dsc {name}: cannot read the file ({exc.strerror})") from None
        except ApplianceError as exc:
            raise UsageError(f"--dsc {name}: {exc}") from None
    return certs


def device_dscs() -> list:
    state = Path(load_config().state_dir)
    certs = []
    for rel in DEVICE_DSCS:
        path = state / rel
        if path.is_file():
            try:
                certs.append(dsc.load_certificate(path.read_bytes()))
            except ApplianceError:
                pass  # a broken device DSC just does not count as trusted
    return certs


def revoked_here(config, result) -> bool:
    """Revoked in this device's journal (a certificate it issued with the key that signed it)."""
    from appliance.journal.journal import Journal  # lazy: loads sqlite3 and uuid, ~10 ms on every command

    section = (result.payload or {}).get(result.type) if result.type else None
    uvci = section[0].get("ci") if isinstance(section, list) and section and isinstance(section[0], dict) else None
    if not isinstance(uvci, str) or result.kid is None:
        return False
    try:
        with Journal.open(Path(config.state_dir) / "journal.sqlite", create=False) as journal:
            return journal.revocation(uvci, kid=base64.b64encode(result.kid).decode()) is not None
    except JournalError:    # no journal here (a verifier's machine) or unreadable: the list decides
        return False


def read_text(arg: str) -> str:
    if arg != "-":
        return arg
    text = sys.stdin.read()
    if text.endswith("\n"):  # a trailing newline only: spaces are Base45 characters
        text = text[:-2] if text.endswith("\r\n") else text[:-1]
    return text


def run(args) -> int:
    at = parse_at(args.at)
    config = load_config()
    ref = installed.load(config.state_dir)
    dscs = load_dscs(args.dsc) if args.dsc else device_dscs() + ref.dscs()
    countries = [config.device.country, *config.reference.destination_list(), *ref.rule_countries()]
    result = verify(read_text(args.hc1), dscs=dscs, at=at, valuesets=ref.valuesets,
                    revocations=ref.revocations if ref.folder else None,
                    rules=ref.rules if ref.has_rules else None, rule_countries=countries,
                    type_limits=None if args.dsc else ref.type_limits())
    if result.revoked is not True and result.checks.get("signature") and revoked_here(config, result):
        result.revoked = True
        result.errors.append("revoked: this device revoked the certificate (its journal)")
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        print(f"{'VALID' if result.valid else 'INVALID'}: {SECTIONS.get(result.type, 'unknown type')} certificate"
              + (f" from {result.issuer_country}" if result.issuer_country else ""))
        for problem in result.errors:
            print(f"  - {problem}")
        for country, outcome in (result.rules or {}).items():
            print(f"  rules {country}: {'passed' if outcome['passed'] else 'failed ' + ', '.join(outcome['failed'])}")
        if not dscs:
            print("  (no trusted DSC: pass --dsc FILE)")
    return 0 if result.valid else 1
