"""``appliance hub`` for the central office: ``devices``, ``device show ID``, ``clear-fork ID``, ``purge``.

The views and the two journaled changes of the office over the hub's store (``[hub] database``
of the hub's ``APPLIANCE_CONFIG``/``APPLIANCE_STATE_DIR``); the parser and the hub's own steps
(serve, migrate, register-device, import) are :mod:`appliance.commands.hub`'s. The leading
underscore keeps :mod:`appliance.cli` from taking this module for a subcommand of its own.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
from datetime import datetime, timezone

from appliance.config import load_config
from appliance.errors import HubError, InvalidInput, UsageError

MAX_KEEP_MONTHS = 1200


def _open(config):
    from appliance.hub import open_store  # lazy: appliance.hub loads Flask, ~70 ms on every command

    return open_store(config, pool_size=2)


def _config():
    return load_config()


def _device_line(d: dict) -> str:
    state = "ok" if d["chain_ok"] else f"FLAGGED {d['flag'] or 'chain'}: {d['fork_detail'] or d['chain_error']}"
    backlog = "?" if d["backlog"] is None else d["backlog"]
    return (f"{d['device_id']:<24} {d['region'] or '-':<12} {d['centre'] or '-':<20} {d['acknowledged_seq']:>9} "
            f"{backlog:>7} {(d['last_seen'] or 'never'):<25} {(d['dsc_not_after'] or '')[:10]:<10} "
            f"{d['software_version'] or '?':<12} {d['refdata_version'] or '?':<24} {state}")


def run_devices(args: argparse.Namespace) -> int:
    from appliance.hub.reports import software_filter  # lazy: via appliance.hub, loads Flask (~70 ms)
    from appliance.hub.summary import device_summary  # lazy: via appliance.hub, loads Flask (~70 ms)

    try:
        software_below = software_filter(args.software_below)
    except InvalidInput as exc:
        raise UsageError(f"--software-below: {exc.field_errors['software_below']}") from None
    store = _open(_config())
    now = datetime.now(timezone.utc)
    try:
        rows, after = [], None
        while True:
            page = store.devices(after=after, limit=1000, region=args.region, centre=args.centre,
                                 software_below=software_below)
            rows += [device_summary(d, full=True, now=now) for d in page]
            if len(page) < 1000:
                break
            after = page[-1]["device_id"]
    finally:
        store.close()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'device':<24} {'region':<12} {'centre':<20} {'acked seq':>9} {'backlog':>7} {'last seen':<25} "
          f"{'DSC until':<10} {'software':<12} {'reference data':<24} state")
    for d in rows:
        print(_device_line(d))
    return 0


def run_device_show(args: argparse.Namespace) -> int:
    from appliance.hub.summary import device_summary  # lazy: via appliance.hub, loads Flask (~70 ms)

    store = _open(_config())
    try:
        if store.device(args.device_id) is None:
            raise HubError(f"device {args.device_id!r} is not registered at this hub ('appliance hub devices' "
                           "lists them)")
        broken = store.audit(args.device_id)
        summary = device_summary(store.device(args.device_id), full=True, now=datetime.now(timezone.utc))
        events = store.events(args.device_id)
        heads = [{k: h[k] for k in ("seq", "hash", "time", "received_at")} for h in store.heads(args.device_id)]
    finally:
        store.close()
    if args.json:
        print(json.dumps(dict(summary, events=events, heads=heads[-20:]), indent=2))
        return 0
    for key, value in summary.items():
        print(f"{key:>18}: {value}")
    print(f"{'stored chain':>18}: {'intact' if broken is None else f'BROKEN at seq {broken[0]}: {broken[1]}'}")
    print(f"{'signed heads':>18}: {len(heads)}" + (f", newest seq {heads[-1]['seq']} at {heads[-1]['time']}"
                                                   if heads else ""))
    for event in events:
        print(f"{'event':>18}: {event['time']} {event['kind']} by {event['operator']}: {event['reason']}"
              + (f" ({event['detail']})" if event["detail"] else ""))
    return 0


def run_clear_fork(args: argparse.Namespace) -> int:
    if not args.reason.strip():
        raise UsageError("--reason must say why the flag is cleared (it is recorded)")
    operator = os.environ.get("SUDO_USER") or getpass.getuser()
    store = _open(_config())
    try:
        old = store.clear_flag(args.device_id, reason=args.reason.strip(), operator=operator,
                               now=datetime.now(timezone.utc))
    finally:
        store.close()
    print(f"device {args.device_id}: {old['flag_kind'] or 'fork'} flag cleared by {operator} "
          f"(was: {old['fork_detail']}); its entries are accepted again")
    return 0


def run_purge(args: argparse.Namespace) -> int:
    from appliance.hub.store.retention import cutoff_month  # lazy: via appliance.hub, loads Flask (~70 ms)

    try:
        months = int(args.keep_months)
    except ValueError:
        raise UsageError(f"--keep-months {args.keep_months!r}: give a whole number of months, e.g. 13") from None
    if not 1 <= months <= MAX_KEEP_MONTHS:
        raise UsageError(f"--keep-months {months}: give 1 to {MAX_KEEP_MONTHS} months (this month and the N "
                         "before it are kept)")
    now = datetime.now(timezone.utc)
    before = cutoff_month(now, months)
    store = _open(_config())
    try:
        if args.dry_run:
            plan = store.retention_plan(before, now)
        else:
            plan = store.purge_before(before, now=now, operator=os.environ.get("SUDO_USER") or getpass.getuser())
    finally:
        store.close()
    verb = "would drop" if args.dry_run else "dropped"
    print(f"retention: entries before {before[:7]} ({months} months kept besides this one)")
    for month in plan["months"]:
        print(f"  {month['month']}: {verb} {month['entries']} entries")
    if plan.get("dropped"):
        print(f"  partitions dropped: {', '.join(plan['dropped'])}")
    print(f"  {verb} {plan['entries']} entries in {len(plan['months'])} month(s); kept the issuing facts of "
          f"{plan['kept_issued']} certificate(s) not yet expired; "
          f"{'would delete' if args.dry_run else 'deleted'} {plan['revocations']} expired revocation(s) "
          "(revocations stay until the certificate expires)")
    if args.dry_run:
        print("  --dry-run: nothing was changed")
    return 0
