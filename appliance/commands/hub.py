"""``appliance hub``: run the central hub, migrate its store, register devices, import USB
bundles, and the central office's view: ``devices``, ``device show ID``, ``clear-fork ID``
(those and ``purge`` run in :mod:`appliance.commands._hub_office`; the parser is here).

The hub has its own ``APPLIANCE_CONFIG``/``APPLIANCE_STATE_DIR`` pair; its store is
``[hub] database`` (default ``<state>/hub.sqlite``) and its read-API token ``<state>/hub-token``.
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
from appliance.commands import reference as reference_cmd
from appliance.commands._hub_office import run_clear_fork, run_device_show, run_devices, run_purge

HELP = "the central hub: serve | migrate | register-device | import | devices | device show | clear-fork | purge"


def register(subparsers) -> None:
    parser = subparsers.add_parser("hub", help=HELP, description=HELP)
    sub = parser.add_subparsers(dest="hub_step", metavar="STEP", parser_class=type(parser))
    sub.required = True

    p = sub.add_parser("serve", help="run the hub (HTTPS with [hub] tls_cert/tls_key; plain HTTP on loopback)")
    p.add_argument("--host", help="address to listen on (default [hub] host)")
    p.add_argument("--port", type=int, help="port (default [hub] port)")
    p.add_argument("--workers", type=int, help="hub processes on the port (default [hub] workers; "
                                              "more than one needs PostgreSQL)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # a child of --workers N
    p.set_defaults(func=run_serve)

    p = sub.add_parser("migrate", help="apply the store's missing schema migrations (forward only)")
    p.set_defaults(func=run_migrate)

    p = sub.add_parser("register-device", help="register a device and the DSC its batches are signed with")
    p.add_argument("--device-id", required=True, help="the device's [device] id")
    p.add_argument("--dsc", required=True, type=Path, help="the device's DSC (PEM, DER or base64)")
    p.add_argument("--centre", help="centre name for the statistics (default: the device id)")
    p.add_argument("--region", help="region, for the status page's filter")
    p.add_argument("--yes", action="store_true", help="replace a different registered DSC (key rotation)")
    p.set_defaults(func=run_register)

    p = sub.add_parser("import", help="import a USB bundle made by 'appliance journal export'")
    p.add_argument("file", type=Path, metavar="FILE")
    p.set_defaults(func=run_import)

    p = sub.add_parser("devices", help="every device: last seen, backlog, chain and fork state")
    p.add_argument("--region", help="only this region")
    p.add_argument("--centre", help="only this centre")
    p.add_argument("--software-below", metavar="VERSION",
                   help="only devices on an older software version (or that never reported one)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run_devices)

    p = sub.add_parser("device", help="one device: 'device show ID' (re-verifies its stored chain)")
    p.add_argument("action", choices=["show"])
    p.add_argument("device_id", metavar="ID")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run_device_show)

    p = sub.add_parser("clear-fork", help="take a flagged (fork, rollback) device's entries again; journaled")
    p.add_argument("device_id", metavar="ID")
    p.add_argument("--reason", required=True, help="why (recorded with your user name at the hub)")
    p.set_defaults(func=run_clear_fork)

    p = sub.add_parser("purge", help="retention: drop the entries of whole months older than --keep-months "
                                     "(revocations stay until the certificate expires)")
    p.add_argument("--keep-months", required=True, metavar="N",
                   help="keep this month and the N months before it (N >= 1)")
    p.add_argument("--dry-run", action="store_true", help="show what would go; change nothing")
    p.set_defaults(func=run_purge)

    reference_cmd.register_hub(sub)  # hub reference publish (appliance/commands/reference.py)


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
    workers = config.hub.workers if args.workers is None else args.workers
    if not 1 <= workers <= 64:
        raise UsageError(f"--workers {workers}: give 1 to 64 hub processes")
    if workers > 1 and not args.worker:
        return _supervise(config, host, port, workers, tls)
    app = create_hub_app(config)
    if not args.worker:
        print(f"hub: serving {'https' if tls else 'http'}://{host}:{port} (state {config.state_dir})", flush=True)
    serve(app, host=host, port=port, tls_cert=config.hub.tls_cert, tls_key=config.hub.tls_key,
          reuse_port=args.worker)
    return 0


def _supervise(config, host: str, port: int, workers: int, tls: bool) -> int:
    from appliance.hub import open_store  # lazy: appliance.hub loads Flask, ~70 ms on every command
    from appliance.hub.workers import supervise  # lazy: via appliance.hub, loads Flask (~70 ms)

    open_store(config, pool_size=1).close()       # a wrong database is one clear line here, not N
    scheme = "https" if tls else "http"

    def announce(bound: int, pids: list[int]) -> None:
        print(f"hub: serving {scheme}://{host}:{bound} with {len(pids)} processes "
              f"(pids {' '.join(map(str, pids))}; state {config.state_dir})", flush=True)

    return supervise(host, port, workers, announce=announce)


def run_migrate(_args: argparse.Namespace) -> int:
    from appliance.hub.store import open_url, redact_url  # lazy: the store package loads the hub app (~70 ms)

    config = _config()
    store = open_url(config.hub.database, config.state_dir, migrate=True, pool_size=1)
    try:
        version = store.schema_version()
    finally:
        store.close()
    print(f"hub database {redact_url(store.url)}: schema version {version} (this software's newest)")
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
                                        replace=args.yes, centre=args.centre, region=args.region)
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
