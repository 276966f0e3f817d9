"""``appliance journal verify | export --since SEQ --out FILE | purge``.

- ``verify``: checks the whole hash chain and the newest signed head (the journal key), the
  hub's cursor and, with ``[journal] tpm_counter``, the TPM counter; exit 0 "chain ok, N
  entries" (plus what the device cannot check itself), exit 1 "broken at seq N: reason" or
  "journal cut or rewritten: reason".
- ``export``: the entries after SEQ as batches of ``[sync] batch_size`` entries,
  each signed with the device key (:func:`appliance.sync.batches.sign_batch`) and
  concatenated, written atomically, for carrying to the hub on a USB stick
  (``appliance hub import FILE``). Nothing personal is in it.
- ``purge``: removes personal data older than ``[journal] retention_days``.
- ``confirm-clock``: an admin confirms the system time for this boot (needed when
  the clock is neither NTP-synchronised nor backed by a battery clock, or far past the
  newest entry).
- ``correct-clock``: after a wrong, later clock, once the clock is right again: journals a
  ``clock_corrected`` entry naming the entries made with the wrong time (the hub flags their
  certificates) and lets issuing go on from the correct time.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from appliance.commands.issue import operator_name
from appliance.sync.batches import sign_batch
from appliance.util.atomic import write_atomic
from appliance.devices.clock import SystemClock
from appliance.devices.signer import build_signer
from appliance.devices.tpm_counter import TpmCounter
from appliance.errors import ApplianceError, JournalCorrupt, UsageError
from appliance.config import load_config

log = logging.getLogger(__name__)

JOURNAL_FILE = "journal.sqlite"


def register(sub) -> None:
    p = sub.add_parser("journal", help="check, export or purge the issuance journal",
                       description="Check, export or purge the issuance journal.")
    jsub = p.add_subparsers(dest="journal_command", metavar="ACTION")
    jsub.required = True
    v = jsub.add_parser("verify", help="check the hash chain and name the first broken link")
    v.set_defaults(func=run_verify)
    e = jsub.add_parser("export", help="write a signed bundle of entries for the hub")
    e.add_argument("--since", type=int, default=0, metavar="SEQ", help="export the entries after this seq (default 0)")
    e.add_argument("--out", required=True, metavar="FILE", help="the bundle file to write")
    e.set_defaults(func=run_export)
    g = jsub.add_parser("purge", help="remove personal data older than [journal] retention_days")
    g.set_defaults(func=run_purge)
    c = jsub.add_parser("confirm-clock", help="confirm the system time for this boot (no NTP and no RTC)",
                        description="Check the time shown against a reliable watch first. The confirmation "
                                    "holds until the next reboot; a time earlier than the newest journal entry "
                                    "or the release date is refused all the same.")
    c.set_defaults(func=run_confirm_clock)
    k = jsub.add_parser("correct-clock", help="after a wrong, later clock: record the bad interval, issue on",
                        description="Set the clock to the correct time first. Journals a clock_corrected entry "
                                    "naming the entries stamped with the wrong, later time; the hub flags their "
                                    "certificates so the central office can revoke and re-issue them.")
    k.set_defaults(func=run_correct_clock)


def _open(config, *, create: bool = False):
    from appliance.journal.journal import Journal  # lazy: loads sqlite3 and uuid, ~10 ms on every command

    return Journal.open(config.state_dir / JOURNAL_FILE, create=create)


def _integrity(config, journal):
    from appliance.journal import integrity  # lazy: cbor2 and cryptography, only for 'verify'

    try:
        signer = build_signer(config)
    except ApplianceError as exc:
        return integrity.Report(notes=[f"the signed heads were not checked: {exc}"])
    try:
        counter = TpmCounter(config.journal.tpm_counter, tcti=config.journal.tpm_tcti) \
            if config.journal.tpm_counter else None
        return integrity.check(journal, getattr(signer, "journal_signer", None), config.device.id, counter=counter)
    finally:
        getattr(signer, "close", lambda: None)()


def run_verify(args) -> int:
    config = load_config()
    with _open(config) as journal:
        broken = journal.verify()
        count = journal.last_seq()
        report = _integrity(config, journal)
    if broken:
        print(f"broken at seq {broken[0]}: {broken[1]}")
        return 1
    if report.problems:
        for problem in report.problems:
            print(f"journal cut or rewritten: {problem}")
        return 1
    print(f"chain ok, {count} entries")
    if report.head is not None:  # stdout stays the one line scripts read; the details go to stderr
        print(f"signed head ok: seq {report.head['seq']} signed at {report.head['time']} by the journal key",
              file=sys.stderr)
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


def run_export(args) -> int:
    if args.since < 0:
        raise UsageError("--since must be 0 or a positive journal seq")
    out = Path(args.out)
    if not out.parent.is_dir():
        raise UsageError(f"--out {args.out}: folder {out.parent} does not exist")
    config = load_config()
    with _open(config) as journal:
        broken = journal.verify()
        entries = journal.entries(after_seq=args.since)
    if broken:
        raise JournalCorrupt(f"the journal is broken at seq {broken[0]} ({broken[1]}); nothing exported")
    if not entries:
        print(f"no entries after seq {args.since}; nothing written")
        return 0
    signer, now, size = build_signer(config), SystemClock().now(), max(1, config.sync.batch_size)
    bundle = b"".join(sign_batch(entries[i:i + size], device_id=config.device.id, signer=signer, now=now)
                      for i in range(0, len(entries), size))  # a CBOR sequence of signed batches
    write_atomic(out, bundle)
    print(f"exported {len(entries)} entries (seq {entries[0]['seq']} to {entries[-1]['seq']}) to {out}")
    return 0


def run_purge(args) -> int:
    from appliance.settings import effective_for  # lazy: tinydb and werkzeug, ~60 ms on every command

    config = effective_for(load_config())        # the retention an admin set on the tablet wins
    if not (config.state_dir / JOURNAL_FILE).exists():
        print("removed 0 personal records (no journal yet)")
        return 0
    with _open(config) as journal:
        removed = journal.purge(now=SystemClock().now(), retention_days=config.journal.retention_days)
    print(f"removed {removed} personal records older than {config.journal.retention_days} days")
    return 0


def run_confirm_clock(args) -> int:
    from appliance.issue import Issuer  # lazy: loads jsonschema and sqlite3, ~57 ms on every command

    config = load_config()
    with _open(config, create=True) as journal:
        issuer = Issuer(config=config, signer=build_signer(config), journal=journal, clock=SystemClock())
        entry = issuer.confirm_clock(operator=operator_name())
    print(f"clock confirmed at {entry['time']} for this boot (journal seq {entry['seq']})")
    return 0


def run_correct_clock(args) -> int:
    from appliance.issue import Issuer  # lazy: loads jsonschema and sqlite3, ~57 ms on every command

    config = load_config()
    with _open(config) as journal:
        issuer = Issuer(config=config, signer=build_signer(config), journal=journal, clock=SystemClock())
        entry = issuer.correct_clock(operator=operator_name())
    data = entry["data"]
    print(f"clock corrected to {data['corrected_to']} (journal seq {entry['seq']}): {data['entries']} entries "
          f"(seq {data['bad_from_seq']} to {data['bad_until_seq']}, stamped {data['bad_from']} to "
          f"{data['bad_until']}) carry the wrong time; the hub flags their certificates for re-issue")
    return 0
