"""Journal append latency as the journal grows, chain checks, and end-to-end issue.

- append p50 at 1k and at 100k entries (10k with ``--quick``); goal: growth <= 1.1x.
  The journal is filled with one-transaction bulk appends, then single appends
  (one transaction and one fsync each, with a personal row, as in production) are timed.
- ``Journal.open`` and a full ``verify`` at the large size (startup cost of issuing).
- end-to-end ``Issuer.issue`` (readiness, UVCI, build, validate, sign, encode,
  self-verify, commit) with the software key and with a SoftHSM2 key: p50 and
  p95, goal p50 <= 10 ms; and the throughput of four threads sharing one Issuer
  (its lock serialises them).
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

from appliance.dcc import form
from appliance.benchmarks import signers
from appliance.benchmarks.runner import percentile
from appliance.config import load_config
from appliance.devices.clock import SystemClock
from appliance.devices.pkcs11_signer import Pkcs11Signer
from appliance.devices.signer import SoftwareSigner
from appliance.issue import Issuer
from appliance.journal.heads import head_message
from appliance.journal.journal import Journal
from appliance.keys import softtokens

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)


def _spec(i: int) -> dict:
    uvci = f"URN:UVCI:01:DE:BENCH/{i:09d}#X"
    return {"kind": "issued", "type": "v", "uvci": uvci, "kid": b"benchkid", "signature": i.to_bytes(64, "big"),
            "country": "DE", "data": {"mp": "EU/1/20/1528", "dn": 1, "sd": 2, "expires_at": "2027-11-28T10:00:00Z"},
            "personal": {"family_name": "Muster", "given_name": "Erika", "date_of_birth": "1964-08-12",
                         "hc1": "HC1:" + "X" * 560}}


def _fill(journal: Journal, upto: int) -> None:
    start = journal.last_seq() + 1
    for first in range(start, upto + 1, 10_000):
        last = min(first + 10_000, upto + 1)
        journal.append_bulk((_spec(i) for i in range(first, last)), now=NOW, operator="bench")


def _append_ms(journal: Journal) -> float:
    spec = _spec(journal.last_seq() + 1)
    kind = spec.pop("kind")
    t0 = time.perf_counter()
    journal.append(kind, now=NOW, operator="bench", **spec)
    return (time.perf_counter() - t0) * 1000


def _paired_p50(a: Journal, b: Journal, samples: int) -> tuple[float, float]:
    """Alternate single appends between the two journals, so both see the same disk and CPU
    load (other processes, fsync hiccups); returns both medians."""
    ta, tb = [], []
    for k in range(samples):
        if k % 2:  # swap the order every round: neither journal always goes first
            ta.append(_append_ms(a))
            tb.append(_append_ms(b))
        else:
            tb.append(_append_ms(b))
            ta.append(_append_ms(a))
    return percentile(ta, 50), percentile(tb, 50)


def _timed_ms(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def _head_sign_times(signer, n: int) -> list[float]:
    """The signed journal head each commit adds: one journal-key signature (finding 2 of issue 11)."""
    journal_signer = getattr(signer, "journal_signer", None)
    if journal_signer is None:
        return []
    message = head_message("bench", 1, "0" * 64, "2026-11-28T10:00:00Z")
    return [_timed_ms(lambda: journal_signer.sign(message)) for _ in range(n)]


def _issue_times(config, signer, n: int) -> tuple[list[float], float, list[float]]:
    """Per-certificate times of ``n`` issues, certificates/s of 4 threads sharing the Issuer, and
    the time of the head signature inside each commit."""
    state = Path(config.state_dir)
    flag = state / "ntp-synchronized"
    flag.touch()  # the benchmark measures issuing, not clock policy
    clock = SystemClock(ntp_flag=flag, rtc_paths=(), timedatectl=None)
    data = json.loads(resources.files("appliance.dcc").joinpath("examples/vaccination.json").read_text("utf-8"))
    req = form.parse_input(data, type="v", device=config.device, now=clock.now())
    times = []
    with Journal.open(state / "journal.sqlite") as journal:
        issuer = Issuer(config=config, signer=signer, journal=journal, clock=clock)
        issuer.issue(req, operator="bench")  # warm-up; also the first chain check
        for _ in range(n):
            times.append(_timed_ms(lambda: issuer.issue(req, operator="bench")))
        threads = [threading.Thread(target=lambda: [issuer.issue(req, operator="t") for _ in range(n // 4)])
                   for _ in range(4)]
        t_threads = _timed_ms(lambda: ([t.start() for t in threads], [t.join() for t in threads]))
    return times, 4 * (n // 4) / (t_threads / 1000), _head_sign_times(signer, n)


def softhsm_issue_worker(env: dict, overrides: dict, state_dir: str, n: int) -> tuple[list[float], float, list[float]]:
    """In a spawned process (a PKCS#11 module must not be forked): issue with the SoftHSM key."""
    os.environ.update(env)  # before the PKCS#11 module is loaded (when the signer is built)
    config = load_config(env={}, overrides=overrides, state_dir=state_dir)
    signer = Pkcs11Signer.from_config(config)
    try:
        return _issue_times(config, signer, n)
    finally:
        signer.close()


def _issue_rows(name: str, times: list[float], per_s: float, head: list[float]) -> list[tuple[str, str, str]]:
    return [
        (f"signed journal head per commit p50 ({name}, included above)",
         f"{percentile(head, 50):.2f} ms" if head else "no journal key", "-"),
        (f"issue end-to-end p50 ({name}, incl. commit)", f"{percentile(times, 50):.2f} ms", "<= 10 ms"),
        (f"issue end-to-end p95 ({name}, incl. commit)", f"{percentile(times, 95):.2f} ms", "-"),
        (f"issue throughput, 4 threads on one Issuer ({name})", f"{per_s:.0f} /s", "-"),
    ]


def _softhsm_rows(ctx, n: int) -> list[tuple[str, str, str]]:
    if not softtokens.softhsm_available():
        return [("issue end-to-end p50 (SoftHSM2 key)", "SoftHSM2 not installed", "<= 10 ms")]
    with softtokens.SoftHsmToken(ctx.tmp / "softhsm") as tok:
        state = ctx.tmp / "softhsm-state"
        state.mkdir()
        signers.in_spawned(signers.provision_token, tok.env, tok.config_overrides(), str(state))
        times, per_s, head = signers.in_spawned(softhsm_issue_worker, tok.env, tok.config_overrides(), str(state), n)
    return _issue_rows("SoftHSM2 key", times, per_s, head)


def run(ctx) -> list[tuple[str, str, str]]:
    small, large = 1_000, (10_000 if ctx.quick else 100_000)
    samples = 100 if ctx.quick else 400
    path = ctx.tmp / "journal-bench.sqlite"
    rows = []
    with Journal.open(ctx.tmp / "journal-small.sqlite") as little, Journal.open(path) as journal:
        _fill(little, small)
        t_fill = _timed_ms(lambda: _fill(journal, large))
        for j in (little, journal):
            j.checkpoint()  # measure steady state, not the bulk fill's WAL
        p_small, p_large = _paired_p50(little, journal, samples)
    t_open = _timed_ms(lambda: Journal.open(path).close())
    with Journal.open(path) as journal:
        t_verify = _timed_ms(journal.verify)
        size = journal.last_seq()
    rows += [
        (f"journal append p50 @ {small:,} entries", f"{p_small:.2f} ms", "-"),
        (f"journal append p50 @ {large:,} entries", f"{p_large:.2f} ms", "-"),
        (f"journal append growth {large // 1000}k / 1k", f"{p_large / p_small:.2f}x", "<= 1.1x"),
        (f"journal bulk fill to {large:,} entries", f"{t_fill / 1000:.1f} s", "-"),
        (f"Journal.open @ {size:,} entries (quick_check)", f"{t_open:.0f} ms", "-"),
        (f"journal verify @ {size:,} entries", f"{t_verify:.0f} ms", "-"),
    ]
    n = 40 if ctx.quick else 300
    state = ctx.tmp / "issue-state"
    state.mkdir(parents=True, exist_ok=True)
    config = load_config(env={}, state_dir=state)
    rows += _issue_rows("software key", *_issue_times(config, SoftwareSigner.generate(), n))
    rows += _softhsm_rows(ctx, n)
    return rows
