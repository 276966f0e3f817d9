"""``appliance provision``: key, CSR, lab CA, DSC import, status, staff accounts.

Destructive steps ask on a terminal; scripts pass ``--yes``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from appliance.util.atomic import write_atomic
from appliance.dcc import dsc
from appliance.keys import labca
from appliance.errors import ApplianceError, InvalidInput, UsageError
from appliance.config import load_config

HELP = "provision the signing key, the DSC and staff accounts"


def register(subparsers) -> None:
    parser = subparsers.add_parser("provision", help=HELP, description=HELP)
    sub = parser.add_subparsers(dest="step", metavar="STEP", parser_class=type(parser))
    sub.required = True

    p = sub.add_parser("keygen", help="make the P-256 signing key on the token")
    p.add_argument("--rotate", action="store_true", help="make a new (pending) key while the current one keeps signing")
    p.add_argument("--yes", action="store_true", help="do not ask before replacing a pending key")
    p.set_defaults(func=run_keygen)

    p = sub.add_parser("csr", help="make a PKCS#10 request signed by the token key")
    p.add_argument("--subject", required=True, help='e.g. "C=DE,O=Impfzentrum Musterstadt,CN=DSC appliance 0001"')
    p.add_argument("--out", required=True, type=Path, help="where to write the CSR (PEM)")
    p.set_defaults(func=run_csr)

    ca = sub.add_parser("lab-ca", help="a LAB/TEST CSCA for labs and demos (never for production)")
    casub = ca.add_subparsers(dest="ca_step", metavar="STEP", parser_class=type(parser))
    casub.required = True
    p = casub.add_parser("init", help="create the lab CSCA in <state>/lab-ca (idempotent)")
    p.set_defaults(func=run_ca_init)
    p = casub.add_parser("sign", help="issue a DSC for a CSR")
    p.add_argument("csr", type=Path, metavar="CSR")
    p.add_argument("--out", required=True, type=Path, help="where to write the DSC (PEM)")
    p.add_argument("--types", default="v,t,r", help="DCC types the DSC may sign (default v,t,r)")
    p.add_argument("--days", type=int, default=labca.DSC_DAYS, help="validity in days (default 730)")
    p.set_defaults(func=run_ca_sign)

    p = sub.add_parser("import-dsc", help="install the DSC the CA returned")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--yes", action="store_true", help="do not ask before switching to a rotated key")
    p.set_defaults(func=run_import)

    p = sub.add_parser("status", help="token, key, DSC and what blocks issuing")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=run_status)

    user = sub.add_parser("user", help="staff accounts")
    usub = user.add_subparsers(dest="user_step", metavar="STEP", parser_class=type(parser))
    usub.required = True
    p = usub.add_parser("add", help="add a staff or admin account")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=("staff", "admin"))
    p.add_argument("--password-stdin", action="store_true", required=True, help="read the password from stdin")
    p.set_defaults(func=run_user_add)


def _config():

    return load_config()


def _provision():
    """:mod:`appliance.keys.provision`, imported by the steps that use the token."""
    from appliance.keys import provision  # lazy: it loads python-pkcs11, ~13 ms on every command
    return provision


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _confirmer(yes: bool):
    def confirm(question: str) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            raise UsageError(f"{question} Rerun with --yes to confirm (nothing changed)")
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    return confirm


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput({what: f"cannot read {path}: {exc.strerror}"}) from None


def _write_out(path: Path, data: bytes) -> None:
    try:
        write_atomic(path, data)
    except OSError as exc:
        raise InvalidInput({"out": f"cannot write {path}: {exc.strerror}"}) from None


def _with_token(fn):
    config = _config()
    token, key_label = _provision().open_token(config)
    try:
        return fn(config, token, key_label)
    finally:
        token.release()


def _journal_key_and_counter(config, token, key_label) -> None:
    """The journal key beside the DCC key, and the TPM counter of ``[journal] tpm_counter``."""
    if _provision().ensure_journal_key(token, key_label):
        print(f"made the journal key {key_label + '-journal'!r} on token {token.label!r} "
              "(signs the journal's heads, never certificates)")
    if config.journal.tpm_counter:
        from appliance.devices.tpm_counter import TpmCounter  # lazy: only devices with a TPM counter

        if TpmCounter(config.journal.tpm_counter, tcti=config.journal.tpm_tcti).define():
            print(f"defined the TPM NV counter {config.journal.tpm_counter} for the journal")


def run_keygen(args: argparse.Namespace) -> int:
    if not args.rotate:
        _with_token(_journal_key_and_counter)   # a session of its own (see keys.provision.keygen)

    def step(config, token, key_label):
        result = _provision().keygen(token, key_label, rotate=args.rotate, confirm=_confirmer(args.yes),
                                      state_dir=config.state_dir)
        if not result["created"]:
            print(f"key {key_label!r} already exists on token {token.label!r}: nothing changed "
                  "(use --rotate to make a new key)")
        elif result["pending"]:
            print(f"made the new key {result['label']!r}; the current key keeps signing until you import its DSC. "
                  "Next: appliance provision csr --subject ... --out FILE")
        else:
            print(f"made key {key_label!r} on token {token.label!r} (P-256, never extractable). "
                  "Next: appliance provision csr --subject ... --out FILE")
        return 0
    return _with_token(step)


def run_csr(args: argparse.Namespace) -> int:
    def step(config, token, key_label):
        pem, label = _provision().make_csr(token, key_label, args.subject, state_dir=config.state_dir)
        _write_out(args.out, pem)
        print(f"wrote a CSR for key {label!r} to {args.out}; send it to the CA")
        return 0
    return _with_token(step)


def run_ca_init(args: argparse.Namespace) -> int:
    config = _config()
    ca, created = labca.init(config.state_dir, country=config.device.country, now=_now())
    verb = "created" if created else "exists already:"
    print(f"LAB/TEST CSCA {verb} {ca.folder / 'ca.pem'} (not for production)")
    return 0


def run_ca_sign(args: argparse.Namespace) -> int:
    config = _config()
    types = labca.parse_types(args.types)
    if args.days < 1:
        raise InvalidInput({"days": "must be at least 1"})
    csr = labca.load_csr(_read(args.csr, "csr"))
    ca = labca.load(config.state_dir)
    if ca is None:
        raise UsageError("no lab CA yet: run 'appliance provision lab-ca init' first")
    cert = labca.sign_csr(ca, csr, types=types, now=_now(), days=args.days)
    _write_out(args.out, cert.public_bytes(serialization.Encoding.PEM))
    print(f"wrote a LAB/TEST DSC to {args.out} (types {','.join(types)}, kid {dsc.kid_b64(cert)}); "
          f"import it with: appliance provision import-dsc {args.out}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    data = _read(args.file, "file")

    def step(config, token, key_label):
        result = _provision().import_dsc(token, key_label, config.state_dir, data, now=_now(),
                                      confirm=_confirmer(args.yes), name=str(args.file))
        if result["switched"]:
            note = "switched to the new key; running services follow with their next certificate"
        else:
            note = "installed" if result["changed"] else "already installed, nothing changed"
        print(f"kid {result['kid']} ({note})")
        return 0
    return _with_token(step)


def run_status(args: argparse.Namespace) -> int:
    report = _provision().status(_config(), now=_now())
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
        return 0 if report["ready"] else 1
    token = report["token"]
    print(f"signer:      {report['signer']}")
    if token:
        print(f"token:       {token['label']} (present)")
    else:
        print("token:       " + ("none (software key file)" if report["signer"] == "software" else "not available"))
    for field in ("key", "pending_key"):
        key = report[field]
        if key:
            print(f"{field.replace('_', ' ') + ':':<12} {key['label']} "
                  f"({'non-extractable' if key['non_extractable'] else 'EXTRACTABLE'})")
    d = report["dsc"]
    if d:
        print(f"DSC subject: {d['subject']}\nDSC issuer:  {d['issuer']}")
        print(f"validity:    {d['not_before']} .. {d['not_after']} ({d['days_left']} days left)")
        print(f"EKU:         {', '.join(d['eku'])}\nkid:         {d['kid']}")
    for w in report["warnings"]:
        print(f"warning:     {w}")
    for p in report["problems"]:
        print(f"problem:     {p}")
    print("ready to issue" if report["ready"] else "NOT ready to issue")
    return 0 if report["ready"] else 1


def run_user_add(args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise InvalidInput({"password": "no password on stdin"})
    config = _config()
    try:
        from appliance.settings import Settings  # lazy: loads werkzeug and tinydb, ~28 ms on every command
    except ImportError:
        raise ApplianceError("staff accounts are not available in this build (appliance.settings missing)") from None
    settings = Settings.open(config.state_dir)
    try:
        settings.add_user(args.name, password=password, role=args.role)
    finally:
        settings.close()
    print(f"added {args.role} account {args.name!r}")
    return 0
