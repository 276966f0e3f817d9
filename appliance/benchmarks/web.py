"""Tablet UI under load: 8 concurrent clients issue certificates through the real HTTP server.

``appliance serve`` runs in its own process (waitress on 127.0.0.1, a free port);
each client signs in, then per certificate POSTs the review form (reading the
CSRF and idempotency tokens from the page) and times the Issue POST plus the
redirect to the result page ("submit -> result"). After the run the server's
resident memory is read from ``/proc/<pid>/status`` (VmRSS). Measured with the
software key, and with a SoftHSM2 token when SoftHSM2 is installed.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from appliance.benchmarks.runner import percentile
from appliance.benchmarks.signers import in_spawned, provision_token
from appliance.config import load_config
from appliance.keys import softtokens
from appliance.runtime import build_services

log = logging.getLogger(__name__)

CLIENTS = 8
USER, PASSWORD = "bench", "bench-password-1"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_TOKEN = re.compile(r'name="token" value="([^"]+)"')
_ALPHA = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _name(i: int) -> str:
    out = ""
    for _ in range(4):
        i, r = divmod(i, 26)
        out += _ALPHA[r]
    return "Bench" + out.lower()


def prepare(env: dict, config_path: str, state_dir: str) -> None:
    """In a fresh process: the account and a clock confirmation for this boot (no NTP in a lab)."""
    os.environ.update(env)  # before the PKCS#11 module is loaded (when the services are built)
    config = load_config(config_path, env={}, state_dir=state_dir)
    devices = build_services(config, with_panel=False)
    try:
        devices.settings.add_user(USER, password=PASSWORD, role="admin")
        if devices.issuer.readiness(None):
            devices.issuer.confirm_clock(operator="bench")
    finally:
        devices.close()


def _write_config(folder: Path, signer: dict) -> Path:
    lines = ["[printer]", 'kind = "file"', f'path = "{folder / "receipts"}"', "[gpio]", "enabled = false", "[signer]"]
    lines += [f'{k} = "{v}"' for k, v in signer.items()]
    path = folder / "appliance.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _start_server(env: dict) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "appliance", "serve", "--host", "127.0.0.1", "--port", "0"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("serving on "):
        proc.kill()
        raise RuntimeError(f"appliance serve did not start: {line!r}")
    return proc, line.removeprefix("serving on ")


def _client(base: str, indices: list[int], latencies: list[float], errors: list[str]) -> None:
    with httpx.Client(base_url=base, timeout=30) as http:
        page = http.get("/login").text
        http.post("/login", data={"username": USER, "password": PASSWORD, "csrf_token": _CSRF.search(page).group(1)})
        csrf = _CSRF.search(http.get("/").text).group(1)
        for i in indices:
            form = {"csrf_token": csrf, "family_name": _name(i), "given_name": "Erika", "date_of_birth": "1970-01-01",
                    "product": "EU/1/20/1528", "dose": "1/2", "date": time.strftime("%Y-%m-%d", time.gmtime()),
                    "country": "DE", "issuer": "Benchmark"}
            review = http.post("/issue/v/review", data=form)
            token = _TOKEN.search(review.text)
            if not token:
                errors.append(f"review {review.status_code}")
                continue
            t0 = time.perf_counter()
            result = http.post("/issue/v/confirm", data={**form, "token": token.group(1), "action": "issue"},
                               follow_redirects=True)
            latencies.append((time.perf_counter() - t0) * 1000)
            if result.status_code != 200 or "/result/" not in str(result.url):
                errors.append(f"issue {result.status_code}")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(folder: Path, signer: dict, token_env: dict, count: int) -> dict:
    """Issue ``count`` certificates with CLIENTS clients; returns latencies, RSS and errors."""
    state = folder / "state"
    state.mkdir(parents=True, exist_ok=True)
    config = _write_config(folder, signer)
    in_spawned(prepare, token_env, str(config), str(state))
    # MALLOC_ARENA_MAX=2 as systemd/appliance-web.service sets it for the production web process
    env = {**os.environ, **token_env, "APPLIANCE_CONFIG": str(config), "APPLIANCE_STATE_DIR": str(state),
           "MALLOC_ARENA_MAX": "2"}
    proc, base = _start_server(env)
    latencies: list[float] = []
    errors: list[str] = []
    try:
        threads = [threading.Thread(target=_client, args=(base, list(range(k, count, CLIENTS)), latencies, errors))
                   for k in range(CLIENTS)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        rss = _rss_mb(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return {"latencies": latencies, "rss_mb": rss, "errors": errors, "rate": len(latencies) / elapsed}


def _rows(name: str, result: dict) -> list[tuple[str, str, str]]:
    lat = result["latencies"]
    rows = [(f"web ({name}): submit->result p50, {CLIENTS} clients", f"{percentile(lat, 50):.1f} ms" if lat else "-", ""),
            (f"web ({name}): submit->result p95, {CLIENTS} clients", f"{percentile(lat, 95):.1f} ms" if lat else "-",
             "≤ 100 ms"),
            (f"web ({name}): certificates issued / errors", f"{len(lat)} / {len(result['errors'])}", "errors = 0"),
            (f"web ({name}): certificates/s through HTTP", f"{result['rate']:.1f}", ""),
            (f"web ({name}): server RSS after the run", f"{result['rss_mb']:.1f} MB", "≤ 80 MB")]
    return rows


def run(ctx) -> list[tuple[str, str, str]]:
    count = 100 if ctx.quick else 1000
    rows = _rows("software key", measure(Path(ctx.tmp) / "web-software", {"kind": "software"}, {}, count))
    if not softtokens.softhsm_available():
        return rows + [("web (softhsm): submit->result", "SoftHSM2 not installed", "")]
    folder = Path(ctx.tmp) / "web-softhsm"
    with softtokens.SoftHsmToken(folder / "token") as tok:
        state = folder / "state"
        state.mkdir(parents=True)
        in_spawned(provision_token, tok.env, tok.config_overrides(), str(state))
        rows += _rows("SoftHSM2", measure(folder, tok.config_overrides()["signer"], tok.env, count))
    return rows
