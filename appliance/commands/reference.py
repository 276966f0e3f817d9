"""``appliance reference import FILE | status [--json] | rollback`` and ``appliance hub reference publish``.

``import`` checks a ``.dccbundle`` (signature by ``[reference] trust_anchor``, versions,
content) and installs it with an atomic switch; ``status`` shows each content type's
version and age; ``rollback`` makes the previous set current again. On the hub,
``hub reference publish --valuesets DIR --trustlist FILE --revocations FILE|hub --rules DIR
--key KEY.pem --cert CERT.pem`` builds and signs the next bundle.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
from datetime import datetime, timezone
from pathlib import Path

from appliance.config import load_config
from appliance.errors import ReferenceDataError, UsageError
from appliance.reference import store
from appliance.reference.anchor import load_anchor
from appliance.reference.bundle import MAX_BUNDLE_BYTES, refuse

HELP = "signed reference data (value sets, trust list, revocations, rules): import | status | rollback"


def register(subparsers) -> None:
    parser = subparsers.add_parser("reference", help=HELP, description=HELP)
    sub = parser.add_subparsers(dest="reference_step", metavar="STEP", parser_class=type(parser))
    sub.required = True
    p = sub.add_parser("import", help="verify and install a .dccbundle file (e.g. from a USB stick)")
    p.add_argument("file", type=Path, metavar="FILE")
    p.set_defaults(func=run_import)
    p = sub.add_parser("status", help="installed versions and their age")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_status)
    p = sub.add_parser("rollback", help="go back to the previously installed reference data")
    p.set_defaults(func=run_rollback)


def read_bundle_file(path: Path) -> bytes:
    """The file's bytes; a usage error when unreadable, a refusal when too large (never read)."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise UsageError(f"{path}: not a file")
        if info.st_size > MAX_BUNDLE_BYTES:
            raise refuse("container", f"{path.name} is {info.st_size} bytes, larger than the limit of "
                                      f"{MAX_BUNDLE_BYTES}")
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror})") from None


def run_import(args: argparse.Namespace) -> int:
    config = load_config()
    anchor = load_anchor(config)
    data = read_bundle_file(args.file)
    result = store.install(config.state_dir, data, anchor=anchor, now=datetime.now(timezone.utc),
                           source=f"file:{args.file.name}")
    print(f"reference data installed as {result.name}: {result.describe()}")
    return 0


def run_status(args: argparse.Namespace) -> int:
    config = load_config()
    info = store.status(config.state_dir, now=datetime.now(timezone.utc))
    if args.json:
        print(json.dumps(info, sort_keys=True))
        return 0
    if not info["installed"]:
        print("no reference data installed: the packaged value sets are used, no trust list, "
              "no revocations, no business rules")
        return 0
    print(f"reference data {info['current']} (previous: {info['previous'] or 'none'}), "
          f"{'intact' if info['intact'] else 'DAMAGED: run appliance reference rollback'}")
    for name, entry in sorted(info["content"].items()):
        print(f"  {name}: version {entry['version']}, {entry['items']} items, published {entry['created']} "
              f"({entry['age_days']} days ago)")
    return 0


def run_rollback(args: argparse.Namespace) -> int:
    config = load_config()
    was, now_current = store.rollback(config.state_dir)
    print(f"reference data rolled back from {was} to {now_current}")
    return 0


# ------------------------------------------------------------------------ on the hub
def register_hub(hub_subparsers) -> None:
    """``appliance hub reference publish …`` (registered by appliance/commands/hub.py)."""
    parser = hub_subparsers.add_parser("reference", help="publish signed reference-data bundles")
    sub = parser.add_subparsers(dest="hub_reference_step", metavar="STEP", parser_class=type(parser))
    sub.required = True
    p = sub.add_parser("publish", help="build and sign the next bundle from files")
    p.add_argument("--valuesets", type=Path, metavar="DIR", help="folder of EU value-set JSON documents")
    p.add_argument("--trustlist", type=Path, metavar="FILE",
                   help="JSON list of {certificate (base64 DER or PEM), country, types}")
    p.add_argument("--revocations", metavar="FILE|hub",
                   help="gateway revocation batches (JSON), or 'hub' for this hub's own revocation export")
    p.add_argument("--rules", type=Path, metavar="DIR", help="folder of gateway business-rule JSON files")
    p.add_argument("--key", type=Path, required=True, metavar="KEY.pem", help="the reference-data signing key")
    p.add_argument("--cert", type=Path, required=True, metavar="CERT.pem", help="its certificate")
    p.add_argument("--publisher", default="", help="a name shown on the devices' status page")
    p.set_defaults(func=run_publish)


def _hub_revocations(config) -> list:
    from appliance.hub import open_store  # lazy: appliance.hub loads Flask, ~70 ms on every command
    from appliance.hub.reports import revocation_batches  # lazy: via appliance.hub, loads Flask (~70 ms)

    hub_store = open_store(config)
    batches: list = []
    try:
        since, more = 0, True
        while more:  # the export is paged: (batches, next cursor, more)
            page, since, more = revocation_batches(hub_store, since=since)
            batches += page
    finally:
        hub_store.close()
    return batches


def run_publish(args: argparse.Namespace) -> int:
    from appliance.hub.reference import publish  # lazy: via appliance.hub, loads Flask (~70 ms)
    from appliance.reference import publish as builder  # lazy: only the hub publishes

    config = load_config()
    key, cert = builder.load_key(args.key, args.cert)
    revocations = _hub_revocations(config) if args.revocations == "hub" else \
        (Path(args.revocations) if args.revocations else None)
    try:
        new = builder.read_inputs(valuesets=args.valuesets, trustlist=args.trustlist, revocations=revocations,
                                  rules=args.rules)
    except ReferenceDataError as exc:
        raise ReferenceDataError(str(exc).replace("bundle refused", "not published")
                                 .replace("nothing was installed", "nothing was published")) from None
    path, bundle = publish(config.state_dir, new, key=key, certificate=cert, now=datetime.now(timezone.utc),
                           publisher=args.publisher)
    print(f"published {path}: " + ", ".join(f"{n} {p.version} ({p.items} items)"
                                            for n, p in sorted(bundle.parts.items())))
    return 0
