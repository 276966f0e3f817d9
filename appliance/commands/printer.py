"""``appliance printer status [--json]`` and ``appliance printer test``: the receipt printer for technicians."""

from __future__ import annotations

import json
import sys
from appliance.config import load_config



def register(sub) -> None:
    p = sub.add_parser("printer", help="receipt printer status and test print",
                       description="Check the receipt printer ([printer] section) and its print queue.")
    actions = p.add_subparsers(dest="printer_action", metavar="ACTION")
    actions.required = True
    status = actions.add_parser("status", help="is the printer online, is there paper, what is queued")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(func=run_status)
    test = actions.add_parser("test", help="print a test page (no certificate) straight to the printer")
    test.set_defaults(func=run_test)


def _service():
    from appliance.printing.service import PrintService  # lazy: escpos, PIL and qrcode, ~180 ms on every command
    from appliance.settings import effective_for  # lazy: tinydb and werkzeug, ~60 ms on every command

    return PrintService(effective_for(load_config()))   # the printer an admin set on the tablet


def run_status(args) -> int:
    """Exit 0 when the printer answers and has paper (or cannot tell), 1 otherwise."""
    service = _service()
    try:
        status = service.status()
    finally:
        service.close()
    if args.json:
        print(json.dumps(status, indent=1, sort_keys=True))
    else:
        queue = status["queue"]
        online = {True: "online", False: "OFFLINE", None: "unknown"}[status["online"]]
        print(f"printer:  {status['kind']} ({status['profile']}, {status['paper_width_mm']} mm): {online}, "
              f"paper {status['paper']}")
        print(f"detail:   {status['detail']}")
        if status.get("config_error"):
            print(f"settings: {status['config_error']}")
        print(f"queue:    {queue['queued']} waiting, {queue['sending']} sending, {queue['done']} printed")
        if queue["last_error"]:
            print(f"last error: {queue['last_error']}")
    healthy = status["online"] is not False and status["paper"] != "out" and not status.get("config_error")
    return 0 if healthy else 1


def run_test(args) -> int:
    from appliance.printing.receipt import build_test_page  # lazy: escpos, PIL and qrcode, ~175 ms on every command

    service = _service()
    try:
        section = service.config.printer
        data = build_test_page(centre=service.config.device.issuer, profile=section.profile,
                               paper_width_mm=section.paper_width_mm, native_qr=section.native_qr,
                               ecc=getattr(section, "qr_ecc", "") or None)
        service.printer.send(data, name="test-page")
    finally:
        service.close()
    print("test page sent; check that the QR scans and the ruler line is not cut off", file=sys.stderr)
    return 0
