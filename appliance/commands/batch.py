"""``appliance batch issue | revoke | status | purge``: bulk issuance and letters by post.

``batch issue --type v|t|r --input FILE.csv|FILE.xlsx [--map MAP.toml] --out DIR [--yes]``
validates every row first (``DIR/errors.csv``, a summary on stdout); valid rows are signed only
after a yes at the prompt or with ``--yes``. The same file again is the same batch: it issues
nothing new and reproduces the outputs; after a crash or ``kill -9`` it continues where it
stopped. Exit 0 when every row was issued, 1 when some rows were refused (see errors.csv).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

from appliance.config import load_config
from appliance.dcc import model
from appliance.devices.clock import SystemClock
from appliance.errors import InvalidInput, UsageError

log = logging.getLogger(__name__)


def register(sub) -> None:
    p = sub.add_parser("batch", help="bulk issuance from a list, letters by post, bulk revocation",
                       description="Issue many certificates from a centre's list (CSV or XLSX) with a letter each.")
    bsub = p.add_subparsers(dest="batch_command", metavar="ACTION")
    bsub.required = True
    i = bsub.add_parser("issue", help="validate a list, then sign it and write letters")
    i.add_argument("--type", required=True, choices=model.TYPES, help="v vaccination, t test, r recovery")
    i.add_argument("--input", required=True, metavar="FILE", help="the list: .csv (UTF-8 or Windows-1252) or .xlsx")
    i.add_argument("--map", metavar="MAP.toml", help="extra column names, the centre's product codes, century rule")
    i.add_argument("--out", required=True, metavar="DIR", help="where letters, manifest.csv and errors.csv go")
    i.add_argument("--yes", action="store_true", help="sign the valid rows without asking")
    i.add_argument("--workers", type=int, default=None, metavar="N", help="letter rendering processes (default: CPUs)")
    i.add_argument("--group-size", type=int, default=200, metavar="N", help="rows per journal transaction (200)")
    i.add_argument("--per-file", type=int, default=500, metavar="N", help="letters per print file (at most 500)")
    i.add_argument("--json", action="store_true", help="print the summary as JSON")
    i.set_defaults(func=run_issue)
    r = bsub.add_parser("revoke", help="revoke a list of UVCIs")
    r.add_argument("--input", required=True, metavar="FILE", help="CSV/XLSX with a uvci column, or one UVCI per line")
    r.add_argument("--reason", required=True, metavar="CODE", help="e.g. issued_in_error, duplicate, fraud")
    r.add_argument("--out", metavar="DIR", help="where errors.csv goes (default: the batch's folder)")
    r.set_defaults(func=run_revoke)
    s = bsub.add_parser("status", help="list the batches with their counts")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=run_status)
    g = bsub.add_parser("purge", help="delete a batch's working files, letters and addresses")
    g.add_argument("id", help="the batch id (see batch status)")
    g.set_defaults(func=run_purge)


def _german(message: str) -> str:
    from appliance.messages import render  # lazy: only batch runs render field messages in German

    return render(message, "de")


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise InvalidInput({"--input": f"file not found: {path}"}) from None
    except IsADirectoryError:
        raise InvalidInput({"--input": f"{path} is a folder, not a CSV or XLSX file"}) from None
    except OSError as exc:
        raise InvalidInput({"--input": f"cannot read {path}: {exc.strerror}"}) from None


def _centre(config):
    """(effective config, centre name, return line, time zone) with the admin's centre settings."""
    # lazy: the batch pipeline (jsonschema, sqlite3, reportlab, openpyxl, rich) only for batch commands, ~300 ms on every command
    from zoneinfo import ZoneInfo

    from appliance.settings import Settings  # lazy: loads werkzeug and tinydb, ~28 ms

    settings = Settings.open(config.state_dir)
    try:
        centre = settings.centre()
        effective = settings.effective_config(config)
    finally:
        settings.close()
    name = centre.get("name") or effective.device.issuer
    return effective, name, name, ZoneInfo(centre.get("timezone", "Europe/Berlin"))


class _Progress:
    """A rich progress bar (rate, time left) on a terminal; plain lines otherwise."""

    def __init__(self, label: str):
        self.label, self._bar, self._task, self._last = label, None, None, -1
        if sys.stderr.isatty():
            # lazy: the batch pipeline (jsonschema, sqlite3, reportlab, openpyxl, rich) only for batch commands, ~300 ms on every command
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn,
                                       TimeRemainingColumn)
            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TaskProgressColumn(), TextColumn("{task.fields[rate]}"), TimeRemainingColumn())
            self._t0 = time.monotonic()

    def __enter__(self):
        if self._bar is not None:
            self._bar.__enter__()
        return self

    def __call__(self, done: int, total: int) -> None:
        if self._bar is not None:
            if self._task is None:
                self._task = self._bar.add_task(self.label, total=total, rate="")
            rate = done / max(time.monotonic() - self._t0, 1e-6)
            self._bar.update(self._task, completed=done, rate=f"{rate:.0f}/s")
            return
        step = max(total // 20, 1)
        if done == total or done // step != self._last:
            self._last = done // step
            print(f"{self.label}: {done}/{total}", file=sys.stderr, flush=True)

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.__exit__(*exc)


def _confirm(n: int) -> bool:
    if not sys.stdin.isatty():
        return False
    answer = input(f"Sign {n} certificate(s) and write their letters? [y/N] ").strip().lower()
    return answer in ("y", "yes", "j", "ja")


def run_issue(args) -> int:
    from appliance.batch import jobs  # lazy: the batch pipeline loads jsonschema, sqlite3, reportlab
    # lazy: the batch pipeline (jsonschema, sqlite3, reportlab, openpyxl, rich) only for batch commands, ~300 ms on every command
    from appliance.batch.store import BatchStore
    # lazy: the batch pipeline (jsonschema, sqlite3, reportlab, openpyxl, rich) only for batch commands, ~300 ms on every command
    from appliance.commands.issue import operator_name
    # lazy: the batch pipeline (jsonschema, sqlite3, reportlab, openpyxl, rich) only for batch commands, ~300 ms on every command
    from appliance.devices.signer import build_signer
    # lazy: the batch pipeline (jsonschema, sqlite3, reportlab, openpyxl, rich) only for batch commands, ~300 ms on every command
    from appliance.issue import Issuer
    # lazy: the batch pipeline (jsonschema, sqlite3, reportlab, openpyxl, rich) only for batch commands, ~300 ms on every command
    from appliance.journal.journal import Journal

    if args.workers is not None and args.workers < 0:
        raise UsageError("--workers must be 0 (render in this process) or more")
    if not 1 <= args.group_size <= 5000 or not 1 <= args.per_file <= 500:
        raise UsageError("--group-size must be 1 to 5000 and --per-file 1 to 500")
    data = _read(args.input)
    map_data = Path(args.map).read_bytes() if args.map and Path(args.map).is_file() else None
    if args.map and map_data is None:
        raise InvalidInput({"--map": f"file not found: {args.map}"})
    config = load_config()
    config, centre, return_line, tz = _centre(config)
    clock = SystemClock()
    store = BatchStore(config.state_dir)
    with Journal.open(config.state_dir / "journal.sqlite") as journal:
        prepared = jobs.prepare(store, type_=args.type, data=data, name=args.input, map_data=map_data,
                                out=Path(args.out), operator=operator_name(), now=clock.now(), device=config.device,
                                journal=journal, tz=tz, german=_german)
        counts = prepared.meta["counts"]
        if not args.json:
            print(f"batch {prepared.id}: {counts['rows']} rows, {counts['valid']} valid "
                  f"({counts['already_issued']} already issued), {counts['invalid']} refused "
                  f"({counts['duplicates']} duplicates); report: {prepared.out / 'errors.csv'}")
        if not prepared.validation.items:
            return _finish(args, prepared.meta, None)
        if not (args.yes or _confirm(len(prepared.validation.items))):
            print("nothing signed; run again with --yes to sign the valid rows", file=sys.stderr)
            return _finish(args, prepared.meta, None)
        issuer = Issuer(config=config, signer=build_signer(config), journal=journal, clock=clock)
        with _Progress("signing") as progress:
            result = jobs.execute(store, prepared, issuer=issuer, clock=clock, operator=operator_name(), centre=centre,
                                  return_line=return_line, workers=args.workers, german=_german, on_progress=progress,
                                  group_size=args.group_size, per_file=args.per_file)
        meta = store.load(prepared.id)
    return _finish(args, meta, result)


def _finish(args, meta: dict, result) -> int:
    counts = meta.get("counts", {})
    if args.json:
        print(json.dumps({"batch": meta["id"], "state": meta.get("state"), "out": meta.get("out"), **counts,
                          "files": meta.get("files", [])}))
    elif result is not None:
        print(f"issued {result.issued}, reproduced {result.reproduced}, letters {result.letters} in "
              f"{len(result.files)} print file(s) ({result.bytes / 2**20:.1f} MB) in {meta['out']}")
    refused = counts.get("invalid", 0) + counts.get("sign_failed", 0)
    if refused:
        print(f"appliance: {refused} row(s) not issued; see {Path(meta['out']) / 'errors.csv'}", file=sys.stderr)
        return 1
    return 0


def run_revoke(args) -> int:
    # lazy: the batch pipeline (jsonschema, sqlite3, reportlab, openpyxl, rich) only for batch commands, ~300 ms on every command
    from appliance.batch import read, revoke, runner
    # lazy: the batch pipeline (jsonschema, sqlite3, reportlab, openpyxl, rich) only for batch commands, ~300 ms on every command
    from appliance.batch.store import BatchStore, batch_id
    # lazy: the batch pipeline (jsonschema, sqlite3, reportlab, openpyxl, rich) only for batch commands, ~300 ms on every command
    from appliance.commands.issue import operator_name
    # lazy: the batch pipeline (jsonschema, sqlite3, reportlab, openpyxl, rich) only for batch commands, ~300 ms on every command
    from appliance.devices.signer import build_signer
    # lazy: the batch pipeline (jsonschema, sqlite3, reportlab, openpyxl, rich) only for batch commands, ~300 ms on every command
    from appliance.issue import Issuer
    # lazy: the batch pipeline (jsonschema, sqlite3, reportlab, openpyxl, rich) only for batch commands, ~300 ms on every command
    from appliance.journal.journal import Journal
    # lazy: the batch pipeline (jsonschema, sqlite3, reportlab, openpyxl, rich) only for batch commands, ~300 ms on every command
    from appliance.util.timefmt import fmt_utc

    reason = revoke.check_reason(args.reason)
    data = _read(args.input)
    table = read.parse_bytes(data, args.input, min_columns=1)
    items, errors = revoke.uvcis_of(table)
    config = load_config()
    clock = SystemClock()
    store = BatchStore(config.state_dir)
    bid = batch_id("revoke", reason, data)
    store.create(bid, {"kind": "revoke", "type": "revoke", "source": Path(args.input).name, "reason": reason,
                       "created_at": fmt_utc(clock.now()), "operator": operator_name(), "state": "new"},
                 {"input.csv" if not data.startswith(b"PK") else "input.xlsx": data})
    out = Path(args.out) if args.out else store.folder(bid) / "out"
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    with store.running(bid), Journal.open(config.state_dir / "journal.sqlite") as journal:
        issuer = Issuer(config=config, signer=build_signer(config), journal=journal, clock=clock)
        with _Progress("revoking") as progress:
            result = revoke.run_revoke(items, issuer=issuer, batch_id=bid, reason=reason, operator=operator_name(),
                                       on_group=progress)
    all_errors = sorted([*errors, *result.errors], key=lambda e: e.row)
    counts = {"rows": len(table.rows), "revoked": result.revoked, "reproduced": result.replayed,
              "invalid": len(all_errors)}
    # lazy: the batch pipeline (jsonschema, sqlite3, reportlab, openpyxl, rich) only for batch commands, ~300 ms on every command
    from appliance.batch import reports
    # lazy: the batch pipeline (jsonschema, sqlite3, reportlab, openpyxl, rich) only for batch commands, ~300 ms on every command
    from appliance.util.atomic import write_atomic
    write_atomic(out / "errors.csv", reports.errors_csv(all_errors), mode=0o600)
    store.update(bid, clock.now(), state="done", counts=counts, out=str(out.resolve()))
    print(f"batch {bid}: revoked {result.revoked}, already revoked by this batch {result.replayed}, "
          f"refused {len(all_errors)}; report: {out / 'errors.csv'}")
    if all_errors:
        print(f"appliance: {len(all_errors)} row(s) not revoked; see {out / 'errors.csv'}", file=sys.stderr)
        return 1
    return 0


def run_status(args) -> int:
    # lazy: the batch pipeline (jsonschema, sqlite3, reportlab, openpyxl, rich) only for batch commands, ~300 ms on every command
    from appliance.batch.store import BatchStore

    config = load_config()
    store = BatchStore(config.state_dir)
    batches = store.list()
    for meta in batches:
        meta["running"] = store.is_running(meta["id"])
    if args.json:
        print(json.dumps(batches))
        return 0
    if not batches:
        print("no batches")
        return 0
    print(f"{'id':16}  {'kind':6} {'type':6} {'state':10} {'rows':>6} {'valid':>6} {'refused':>7} {'issued':>6} "
          f"{'letters':>7}  created")
    for m in batches:
        c = m.get("counts", {})
        state = "running" if m["running"] else m.get("state", "")
        if state == "running" and m.get("progress"):
            state = f"{m['progress']['done']}/{m['progress']['total']}"
        print(f"{m['id']:16}  {m.get('kind', ''):6} {m.get('type', ''):6} {state:10} {c.get('rows', 0):>6} "
              f"{c.get('valid', 0):>6} {c.get('invalid', 0):>7} {c.get('issued', c.get('revoked', 0)):>6} "
              f"{c.get('letters', 0):>7}  {m.get('created_at', '')}")
    return 0


def run_purge(args) -> int:
    # lazy: the batch pipeline (jsonschema, sqlite3, reportlab, openpyxl, rich) only for batch commands, ~300 ms on every command
    from appliance.batch.store import BatchStore

    config = load_config()
    removed = BatchStore(config.state_dir).purge(args.id)
    print(f"purged batch {args.id}: {len(removed)} file(s) and folder(s) removed")
    return 0
