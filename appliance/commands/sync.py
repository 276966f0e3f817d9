"""``appliance sync [--once]``: send the journal to the hub (its own service).

Without ``--once`` it runs until stopped (SIGTERM/SIGINT), woken by new journal
entries. With ``--once`` it retries (with backoff) until the hub has every entry
and exits 0, or exits 1 when the hub refuses or ``--timeout`` passes.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time

from appliance.config import load_config
from appliance.devices.signer import build_signer
from appliance.sync import versions
from appliance.sync.agent import SyncAgent

HELP = "send the journal to the central hub"


def register(subparsers) -> None:
    parser = subparsers.add_parser("sync", help=HELP, description=HELP)
    parser.add_argument("--once", action="store_true", help="exit 0 once the hub has every entry")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="with --once: give up after this many seconds of retrying (default 300)")
    parser.add_argument("--json", action="store_true", help="with --once: print the sync status as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from appliance.devices.hub_client import HttpHubClient  # lazy: loads httpx, ~57 ms on every command
    from appliance.journal.journal import Journal  # lazy: loads sqlite3 and uuid, ~10 ms on every command

    config = load_config()
    client = HttpHubClient.from_config(config, report=versions.reporter(config.state_dir))
    signer = build_signer(config)
    journal = Journal.open(config.state_dir / "journal.sqlite")
    agent = SyncAgent(config, journal, signer, client)
    try:
        if args.once:
            if not agent.sync_until_done(deadline_s=args.timeout, monotonic=time.monotonic):
                raise agent.last_exception
            status = journal.get_sync_status()
            if args.json:
                print(json.dumps(status, sort_keys=True))
            else:
                print(f"sync: the hub has every entry up to seq {status.get('acknowledged_seq', 0)}")
            return 0
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        agent.run_forever(stop)
        return 0
    finally:
        journal.close()
        client.close()
