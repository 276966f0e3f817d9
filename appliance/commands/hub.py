"""``appliance hub``: run the central hub, register devices, import USB bundles.

The hub has its own ``APPLIANCE_CONFIG``/``APPLIANCE_STATE_DIR`` pair; its store is
``<state>/hub.sqlite`` and its read-API token ``<state>/hub-token``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

from appliance.sync import batches
from appliance.dcc import dsc
from appliance.errors import DecodeError, HubError, UsageError
from appliance.config import load_config

HELP = "the central hub: serve | register-device | import"


def register(subparsers) -> None:
    parser = subparsers.add_parser("hub", help=HELP, description=HELP)
    sub = parser.add_subparsers(dest="hub_step", metavar="STEP", parser_class=type(parser))
    sub.required = True

    p = sub.add_parser("serve", help="run the hub (HTTPS with [hub] tls_cert/tls_key; plain HTTP on loopback)")
    p.add_argument("--host", help="address to listen on (default [hub] host)")
    p.add_argument("--port", type=int, help="port (default [hub] port)")
    p.set_defaults(func=run_serve)

    p = sub.add_parser("register-device", help="register a device and the DSC its batches are signed with")
    p.add_argument("--device-id", required=True, help="the device's [device] id")
    p.add_argument("--dsc", required=True, type=Path, help="the device's DSC (PEM, DER or base64)")
    p.add_argument("--centre", help="centre name for the statistics (default: the device id)")
    p.add_argument("--yes", action="store_true", help="replace a different registered DSC (key rotation)")
    p.set_defaults(func=run_register)

    p = sub.add_parser("import", help="import a USB bundle made by 'appliance journal export'")
    p.add_argument("file", type=Path, metavar="FILE")
    p.set_defaults(func=run_import)


def _config():

    return load_config()


def run_serve(args: argparse.Namespace) -> int:
    from appliance.hub import create_hub_app  # lazy: the hub app loads Flask, ~70 ms on every command
    from appliance.hub.server import check_listen, serve  # lazy: via appliance.hub, loads Flask (~70 ms)

    config = _config()
    host = args.host or config.hub.host
    port = config.hub.port if args.port is None else args.port
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port} is not a TCP port")
    tls = check_listen(host, config.hub.tls_cert, config.hub.tls_key)
    app = create_hub_app(config)
    print(f"hub: serving {'https' if tls else 'http'}://{host}:{port} (state {config.state_dir})", flush=True)
    serve(app, host=host, port=port, tls_cert=config.hub.tls_cert, tls_key=config.hub.tls_key)
    return 0


def run_register(args: argparse.Namespace) -> int:
    from appliance.hub import open_store  # lazy: appliance.hub loads Flask, ~70 ms on every command

    try:
        cert = dsc.load_certificate(args.dsc.read_bytes())
    except OSError as exc:
        raise UsageError(f"--dsc {args.dsc}: cannot read ({exc.strerror})") from None
    if dsc.is_ca(cert):
        raise HubError(f"--dsc {args.dsc} is a CA certificate; give the device's own DSC")
    if not args.device_id.strip() or len(args.device_id) > 64:
        raise UsageError("--device-id must be 1 to 64 characters")
    store = open_store(_config())
    try:
        outcome = store.register_device(args.device_id, cert, now=datetime.now(timezone.utc),
                                        replace=args.yes, centre=args.centre)
    finally:
        store.close()
    print(f"device {args.device_id}: {outcome} (kid {dsc.kid_b64(cert)})")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from appliance.hub import open_store  # lazy: appliance.hub loads Flask, ~70 ms on every command
    from appliance.hub.intake import accept  # lazy: via appliance.hub, loads Flask (~70 ms)

    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise UsageError(f"{args.file}: cannot read ({exc.strerror})") from None
    try:
        parts = batches.split_bundle(data)
    except DecodeError as exc:
        raise HubError(f"{args.file}: {exc}; nothing imported") from None
    config = _config()
    store = open_store(config)
    try:
        for i, part in enumerate(parts, 1):
            result = accept(store, part, now=datetime.now(timezone.utc), max_entries=sys.maxsize,
                            max_bytes=len(part), source=f"usb:{args.file.name}")
            print(f"{args.file.name} part {i}/{len(parts)}: device {result.device_id}, "
                  f"{result.stored} new entries, hub has up to seq {result.acknowledged_seq}")
    finally:
        store.close()
    return 0
