"""``appliance issue --type v|t|r --input FILE.json [--json] [--qr OUT.png|OUT.svg] [--print]``.

Reads the input (the form's JSON shape), issues one certificate through
:class:`appliance.issue.Issuer` (journaled before anything is shown), then
prints it, writes the QR and/or hands it to the receipt printer. Bad input
stops before the journal is touched: one line, exit 1, nothing written.
"""

from __future__ import annotations

import base64
import getpass
import json
import logging
import sys
from pathlib import Path

from appliance.util.atomic import write_atomic
from appliance.devices.clock import SystemClock
from appliance.devices.signer import build_signer
from appliance.errors import InvalidInput, UsageError
from appliance.config import load_config
from appliance.reference import installed
from appliance.dcc import model

log = logging.getLogger(__name__)

QR_KINDS = {".png": "png", ".svg": "svg"}


def register(sub) -> None:
    p = sub.add_parser("issue", help="issue one certificate from a JSON input file",
                       description="Issue one certificate. The input is the form's JSON (see appliance/dcc/examples).")
    p.add_argument("--type", required=True, choices=model.TYPES, help="v vaccination, t test, r recovery")
    p.add_argument("--input", required=True, metavar="FILE.json", help="the person and event data")
    p.add_argument("--json", action="store_true", help='print {"uvci","hc1","type","kid","expires_at"}')
    p.add_argument("--qr", metavar="OUT.png|OUT.svg", help="also write the QR code (format by extension)")
    p.add_argument("--print", action="store_true", dest="print_receipt",
                   help="print a receipt and wait up to [printer] timeout_s for the printer to take it")
    p.set_defaults(func=run)


def operator_name() -> str:
    try:
        return "cli:" + getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def read_input(path: str) -> dict:
    """The input file as a JSON object; InvalidInput naming the problem otherwise."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput({"--input": f"file not found: {path}"}) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput({"--input": f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}"}) from None
    try:
        data = json.loads(text, object_pairs_hook=_pairs)
    except json.JSONDecodeError as exc:
        raise InvalidInput({"--input": f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"}) from None
    except RecursionError:
        raise InvalidInput({"--input": "is nested too deeply to be certificate input; "
                                       "give one object with the person's fields and one event section"}) from None
    twice = _first_duplicate(data)
    if twice is not None:
        where, key = twice
        raise InvalidInput({"--input": f'the key "{key[:40]}" appears twice{where}; keep only one of them'})
    if not isinstance(data, dict):
        raise InvalidInput({"--input": "must hold one JSON object with the person and event fields"})
    return data



class _Duplicated(dict):
    """A JSON object that had a key twice (:func:`read_input` refuses it, naming the key)."""

    duplicate = ""


def _pairs(pairs: list) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out and not isinstance(out, _Duplicated):
            out = _Duplicated(out)
            out.duplicate = key
        out[key] = value
    return out


def _first_duplicate(data) -> tuple[str, str] | None:
    """``(" in \"section\"", key)`` of the first object with a key twice, breadth first; else None."""
    todo = [("", data)]
    while todo:
        path, node = todo.pop(0)
        if isinstance(node, _Duplicated):
            return (f' in "{path[:60]}"' if path else " at the top level"), node.duplicate
        children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        todo += [(f"{path}.{k}" if path else str(k), v) for k, v in children]
    return None


def run(args) -> int:
    from appliance.dcc import form  # lazy: form loads jsonschema, ~50 ms on every command
    from appliance.issue import Issuer  # lazy: loads jsonschema and sqlite3, ~57 ms on every command
    from appliance.journal.journal import Journal  # lazy: loads sqlite3 and uuid, ~10 ms on every command

    qr_path = Path(args.qr) if args.qr else None
    if qr_path is not None:  # checked before issuing: an unknown format must not cost a certificate
        if qr_path.suffix.lower() not in QR_KINDS:
            raise UsageError(f"--qr {args.qr}: unknown extension; use .png or .svg")
        if not qr_path.parent.is_dir():
            raise UsageError(f"--qr {args.qr}: folder {qr_path.parent} does not exist")
    from appliance.settings import effective_for  # lazy: tinydb and werkzeug, ~60 ms on every command

    data = read_input(args.input)
    config = effective_for(load_config())   # the centre, validity and printer an admin set on the tablet win
    clock = SystemClock()
    req = form.parse_input(data, type=args.type, device=config.device, now=clock.now(),
                           valuesets=installed.current_valuesets(config.state_dir))  # installed reference data
    signer = build_signer(config)
    with Journal.open(config.state_dir / "journal.sqlite") as journal:
        issuer = Issuer(config=config, signer=signer, journal=journal, clock=clock)
        issued = issuer.issue(req, operator=operator_name())
        if qr_path is not None:
            write_qr(qr_path, issued.hc1, ecc=config.issue.qr_ecc)
        if args.json:
            print(json.dumps({"uvci": issued.uvci, "hc1": issued.hc1, "type": issued.type,
                              "kid": base64.b64encode(issued.kid).decode(),
                              "expires_at": issued.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")}))
        else:
            print(f"issued {issued.uvci} (type {issued.type}, expires {issued.expires_at:%Y-%m-%d %H:%M} UTC)")
            print(issued.hc1)
        sys.stdout.flush()
        if args.print_receipt:
            return print_receipt(config, journal, issued, signer)
    return 0


def write_qr(path: Path, hc1: str, *, ecc: str) -> None:
    from appliance.dcc import qr  # lazy: qr loads PIL and zxingcpp, ~11 ms on every command

    if QR_KINDS[path.suffix.lower()] == "svg":
        write_atomic(path, qr.qr_svg(hc1, ecc=ecc).encode("utf-8"))
    else:
        write_atomic(path, qr.qr_png(hc1, ecc=ecc))


def print_receipt(config, journal, issued, signer=None) -> int:
    """Submit to the print queue and wait; a printer that does not take it is reported, not fatal."""
    from appliance.printing.service import PrintService  # lazy: escpos, PIL and qrcode, ~180 ms on every command

    service = PrintService(config, journal=journal, signer=signer)   # its DSC: LAB/TEST on the receipt
    service.start()
    try:
        job = service.submit(uvci=issued.uvci, hc1=issued.hc1, dcc=issued.dcc, issued_at=issued.issued_at,
                             operator=operator_name())
        taken = service.wait(job, config.printer.timeout_s)
    finally:
        service.stop()
    if not taken:
        print(f"appliance: the printer did not take receipt job {job} within {config.printer.timeout_s:g} s; "
              "it stays queued and 'appliance serve' will retry it (the certificate is issued)", file=sys.stderr)
    return 0
