"""Benchmark: the hub at fleet scale, PostgreSQL with 2 hub processes, and SQLite with one.

A private PostgreSQL cluster (Debian's server, ``initdb`` in the scratch folder; as root it runs
as ``postgres``/``nobody``), real ``appliance hub serve`` processes on 127.0.0.1, real COSE
batches pushed through the HTTP batch endpoint. The batches are signed before the clock starts,
so device-side signing is not counted as hub cost. Full: 1,000 devices x 1,000 entries in
batches of 500 (1 M entries); ``--quick``: 50 x 200. Measured, never asserted.
"""

from __future__ import annotations

import concurrent.futures as cf
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cbor2
import httpx

from appliance.benchmarks.runner import percentile
from appliance.devices.signer import SoftwareSigner
from appliance.hub.store import open_url
from appliance.journal import chain
from appliance.sync import batches

DAY = datetime(2026, 11, 2, 8, 0, tzinfo=timezone.utc)


def _pg_cluster() -> tuple[str, callable]:
    """Start a private cluster in its own /tmp folder (the server's user must reach it); returns
    (server URL without a database name, stop-and-remove)."""
    folder = Path(tempfile.mkdtemp(prefix="hub-bench-pg-"))
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    bindir = Path(found[-1]).parent if found else Path(shutil.which("initdb") or "/nonexistent").parent
    prefix: list[str] = []
    if os.geteuid() == 0:
        user = next((u for u in ("postgres", "nobody") if _has_user(u)))
        os.chown(folder, pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid)
        prefix = ["runuser", "-u", user, "--"]
    port = _free_port()
    data = folder / "data"
    subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "hub", "--auth=trust", "--no-sync"],
                   check=True, capture_output=True, cwd=folder)
    with open(data / "postgresql.conf", "a") as conf:
        conf.write(f"\nlisten_addresses='127.0.0.1'\nport={port}\nunix_socket_directories='{folder}'\n"
                   "max_connections=300\nshared_buffers=256MB\n")
    subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "start"],
                   check=True, capture_output=True, cwd=folder)

    def stop():
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                       capture_output=True, cwd=folder)
        shutil.rmtree(folder, ignore_errors=True)

    return f"postgresql://hub@127.0.0.1:{port}", stop


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fleet(devices: int, per_device: int, batch: int, signer) -> dict[str, list[bytes]]:
    """Pre-signed batches per device: issued certificates over ten days, the last 1% revoking the first."""
    out = {}
    for d in range(devices):
        device, prev, entries = f"bench-{d:04d}", chain.GENESIS, []
        for seq in range(1, per_device + 1):
            revoke = seq > per_device - per_device // 100
            uvci = f"URN:UVCI:01:DE:BENCH/{d:04d}{(seq - (per_device - per_device // 100)) if revoke else seq:06d}#A"
            e = {"seq": seq, "time": (DAY + timedelta(days=seq % 10, seconds=seq)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "kind": "revoked" if revoke else "issued", "operator": "op-00112233", "type": "vtr"[seq % 3],
                 "uvci": uvci, "kid": "AAAAAAAAAAA=", "hash_uci": f"{d:04d}{seq:06d}" + "A" * 12 + "==",
                 "hash_countrycodeuci": None, "hash_signature": None, "prev_hash": prev,
                 "data": {"mp": "EU/1/20/1528", "dn": 1, "co": "DE", "expires_at": "2027-11-28T10:00:00Z"}}
            e["hash"] = prev = chain.entry_hash(e)
            entries.append(e)
        out[device] = [batches.sign_batch(entries[i:i + batch], device_id=device, signer=signer, now=DAY)
                       for i in range(0, per_device, batch)]
    return out


def _serve(folder: Path, database: str, workers: int) -> tuple[subprocess.Popen, str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hub.toml").write_text(f'[hub]\ndatabase = "{database}"\nworkers = {workers}\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPLIANCE_")}
    env.update(APPLIANCE_CONFIG=str(folder / "hub.toml"), APPLIANCE_STATE_DIR=str(folder / "state"))
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "appliance", "hub", "serve", "--host", "127.0.0.1", "--port",
                             str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("hub did not start")


def _push(url: str, fleet: dict[str, list[bytes]], threads: int = 16) -> tuple[float, list[float]]:
    """Every device sends its batches in order, devices in parallel; (seconds, batch latencies in ms)."""
    latencies: list[float] = []
    with httpx.Client(timeout=600, limits=httpx.Limits(max_connections=threads)) as client:
        def device(item):
            name, datas = item
            for data in datas:
                t0 = time.perf_counter()
                r = client.post(f"{url}/api/v1/devices/{name}/batches", content=data)
                latencies.append((time.perf_counter() - t0) * 1000)
                if r.status_code != 200:
                    raise RuntimeError(f"batch refused ({r.status_code}): {r.text[:200]}")
        t0 = time.perf_counter()
        with cf.ThreadPoolExecutor(threads) as pool:
            list(pool.map(device, fleet.items()))
        return time.perf_counter() - t0, latencies


def batch_size(fleet) -> int:
    first = next(iter(fleet.values()))[0]
    body = cbor2.loads(cbor2.loads(first).value[2])
    return body["last_seq"] - body["first_seq"] + 1


def _register(database: str, state: Path, fleet, signer) -> None:
    store = open_url(database, state, migrate=True)
    for i, name in enumerate(fleet):
        store.register_device(name, signer.certificate, now=DAY, region=f"R{i % 4}", centre=f"Centre {i % 25}")
    store.close()


def _reads(url: str, token: str, repeat: int) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {token}"}
    out = {}
    with httpx.Client(timeout=120, headers=headers) as client:
        for name, path in (("status page", "/"), ("device list API", "/api/v1/devices"),
                           ("stats (first page)", "/api/v1/stats/daily"),
                           ("revocation export (first page)", "/api/v1/revocations"),
                           ("revocation export since cursor", "/api/v1/revocations?since=1000000")):
            samples = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                if client.get(url + path).status_code != 200:
                    raise RuntimeError(f"{path} failed")
                samples.append((time.perf_counter() - t0) * 1000)
            out[name] = percentile(samples, 95)
        samples, pages = [], 0
        for _ in range(max(2, repeat // 4)):          # the full export: every page, following "next"
            t0, body, pages = time.perf_counter(), {"more": True, "next": 0}, 0
            while body["more"]:
                body = client.get(f"{url}/api/v1/revocations?since={body['next']}").json()
                pages += 1
            samples.append((time.perf_counter() - t0) * 1000)
        out[f"revocation export, all {pages} pages in a row"] = percentile(samples, 95)
    return out


def _chart_choice(store, repeat: int) -> dict[str, float]:
    """The chart's cells from the summary kept at intake vs a GROUP BY over daily_counts (p95, ms)."""
    group_by = ("SELECT c.day, COALESCE(NULLIF(c.centre, ''), d.centre, c.device_id) AS centre, c.type,"
                " SUM(c.count) AS count FROM daily_counts c JOIN devices d ON d.device_id = c.device_id"
                " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3")

    def timed(fn) -> float:
        samples = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - t0) * 1000)
        return percentile(samples, 95)

    def by_group():
        with store.reading() as tx:
            tx.all(group_by)

    return {"chart cells from the summary table (centre_counts)": timed(store.chart_counts),
            "chart cells by GROUP BY over daily_counts": timed(by_group)}


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def _hostile(url: str, pids: list[int], kid: bytes, size: int) -> float:
    """RSS growth (MB) of the hub while 16 maximal bodies with a bad signature arrive at once."""
    body = cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({1: -7, 4: kid}), {}, b"\xa1aa\x01" * ((size - 200) // 4),
                                          b"\x01" * 64]))
    before = _rss_mb(pids)
    with httpx.Client(timeout=60) as client, cf.ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda _i: client.post(f"{url}/api/v1/devices/bench-0000/batches", content=body), range(16)))
    return _rss_mb(pids) - before


def _engine(ctx, name: str, database: str, workers: int, fleet, signer, rows: list) -> None:
    folder = ctx.tmp / name
    _register(database, folder / "state", fleet, signer)
    proc, url = _serve(folder, database, workers)
    try:
        pids = [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()] or [proc.pid]
        names = list(fleet)
        bursting = set(names[:200])                     # their last batch is kept for the burst
        first = {n: fleet[n][:-1] if n in bursting else fleet[n] for n in names}
        n_entries = sum(len(v) for v in first.values()) * batch_size(fleet)
        seconds, lat = _push(url, first)
        rows.append((f"{name}: ingest {n_entries:,} entries, {workers} hub process(es)", f"{n_entries / seconds:,.0f} entries/s",
                     ">= 5,000/s" if name.startswith("postgres") else ""))
        rows.append((f"{name}: batch latency p95 (sustained)", f"{percentile(lat, 95):.0f} ms", ""))
        burst = {n: fleet[n][-1:] for n in names[:200]}
        _s, lat = _push(url, burst, threads=len(burst))
        rows.append((f"{name}: batch p95 with {len(burst)} devices pushing at once", f"{percentile(lat, 95):.0f} ms", ""))
        token = (folder / "state" / "hub-token").read_text().strip()
        for what, ms in _reads(url, token, 5 if ctx.quick else 20).items():
            rows.append((f"{name}: {what} p95", f"{ms:.0f} ms", "<= 200 ms"))
        store = open_url(database, folder / "state")
        size, total = store.database_size(), sum(d["entry_count"] for d in store.devices())
        for what, ms in _chart_choice(store, 5 if ctx.quick else 20).items():
            rows.append((f"{name}: {what} p95", f"{ms:.1f} ms", ""))
        store.close()
        rows.append((f"{name}: database size per million entries", f"{size / total * 1e6 / 2**20:,.0f} MiB", ""))
        rows.append((f"{name}: RSS growth, 16 parallel maximal bodies with a bad signature",
                     f"{_hostile(url, pids, signer.kid, 3 * 2**20 - 256):.0f} MB", "< 100 MB"))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def run(ctx) -> list[tuple[str, str, str]]:
    devices, per_device, batch = (50, 200, 100) if ctx.quick else (1000, 1000, 500)
    signer = SoftwareSigner.generate(now=DAY)
    t0 = time.perf_counter()
    fleet = _fleet(devices, per_device, batch, signer)
    rows = [(f"fleet: {devices:,} devices x {per_device:,} entries, batches of {batch} (pre-signed)",
             f"{time.perf_counter() - t0:.0f} s to build", "")]
    server, stop = _pg_cluster()
    try:
        for workers in (1, 2):
            db = f"hub{workers}"
            subprocess.run([sys.executable, "-c", f"import psycopg; c = psycopg.connect('{server}/postgres', "
                            f"autocommit=True); c.execute('CREATE DATABASE {db}')"], check=True)
            part = fleet if workers == 2 else dict(list(fleet.items())[:max(10, devices // 5)])
            _engine(ctx, f"postgres x{workers}", f"{server}/{db}", workers, part, signer, rows)
    finally:
        stop()
    _engine(ctx, "sqlite x1", "sqlite:///hub.sqlite", 1, fleet, signer, rows)
    return rows
