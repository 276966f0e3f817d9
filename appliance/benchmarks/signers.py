"""Signatures per second and certificates per second for the software, SoftHSM2 and swtpm signers.

End to end = :func:`appliance.dcc.sign.sign_dcc` + :func:`appliance.dcc.encode.to_hc1` on a
representative vaccination DCC. Token signers run in a ``spawn``ed process each:
a PKCS#11 module reads its environment once per process and must not be forked.
The worker functions live here (importable by name) so tests use them as well.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from appliance.config import load_config
from appliance.dcc import sign
from appliance.dcc.encode import to_hc1
from appliance.devices.pkcs11_signer import Pkcs11Signer
from appliance.devices.signer import SoftwareSigner
from appliance.keys import softtokens
from appliance.keys.provision import lab_provision

log = logging.getLogger(__name__)

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)
DCC = {"ver": "1.3.0", "nam": {"fn": "Musterfrau-Gößinger", "fnt": "MUSTERFRAU<GOESSINGER",
                               "gn": "Gabriele", "gnt": "GABRIELE"}, "dob": "1998-02-26",
       "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215",
              "dn": 2, "sd": 2, "dt": "2026-11-20", "co": "DE", "is": "Robert Koch-Institut",
              "ci": "URN:UVCI:01:DE:DEMO1/0001ABCDEF#K"}]}


def _rate(fn: Callable[[int], object], seconds: float) -> float:
    fn(0)  # warm up
    count, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn(count)
        count += 1
    return count / (time.perf_counter() - t0)


def measure(signer, seconds: float) -> tuple[float, float]:
    """``(signatures/s, certificates/s)`` for one signer."""
    tbs = os.urandom(320)
    sig_rate = _rate(lambda i: signer.sign(tbs), seconds)
    iat = max(NOW, signer.certificate.not_valid_before_utc + timedelta(minutes=1))

    def certificate(i: int) -> str:
        return to_hc1(sign.sign_dcc(DCC, signer, issuer_country="DE", iat=iat, exp=iat + timedelta(days=30)).cose)

    return sig_rate, _rate(certificate, seconds)


def provision_token(env: dict, overrides: dict, state_dir: str) -> str:
    """In a fresh process: key on the token, lab CA, DSC imported. Returns the kid (base64)."""
    os.environ.update(env)  # before the PKCS#11 module is loaded (when the token is opened)
    config = load_config(env={}, overrides=overrides, state_dir=state_dir)
    return lab_provision(config, now=datetime.now(timezone.utc), subject="C=DE,O=Benchmark,CN=DSC bench")


def token_worker(env: dict, overrides: dict, state_dir: str, seconds: float) -> tuple[float, float]:
    """In a fresh process: measure the configured PKCS#11 signer."""
    os.environ.update(env)  # before the PKCS#11 module is loaded (when the signer is built)
    signer = Pkcs11Signer.from_config(load_config(env={}, overrides=overrides, state_dir=state_dir))
    try:
        return measure(signer, seconds)
    finally:
        signer.close()


def sign_worker(env: dict, overrides: dict, state_dir: str, messages: list[bytes]) -> list[bytes]:
    """In a fresh process: sign each message with the configured PKCS#11 signer (multi-process tests)."""
    os.environ.update(env)  # before the PKCS#11 module is loaded (when the signer is built)
    signer = Pkcs11Signer.from_config(load_config(env={}, overrides=overrides, state_dir=state_dir))
    try:
        return [signer.sign(m) for m in messages]
    finally:
        signer.close()


def in_spawned(fn, *args):
    """Run ``fn(*args)`` in a spawned process and return its result."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(fn, args)


def _token_rows(name: str, token_cls, folder: Path, seconds: float) -> list[tuple[str, str, str]]:
    with token_cls(folder / name) as tok:
        state = folder / f"{name}-state"
        state.mkdir()
        in_spawned(provision_token, tok.env, tok.config_overrides(), str(state))
        sig_rate, cert_rate = in_spawned(token_worker, tok.env, tok.config_overrides(), str(state), seconds)
    return [(f"{name}: signatures/s", f"{sig_rate:.0f}", "≥ 20"),
            (f"{name}: certificates/s (sign_dcc + to_hc1)", f"{cert_rate:.0f}", "≥ 10")]


def run(ctx) -> list[tuple[str, str, str]]:
    seconds = 0.5 if ctx.quick else 2.0
    sig_rate, cert_rate = measure(SoftwareSigner.generate(now=NOW), seconds)
    rows = [("software: signatures/s", f"{sig_rate:.0f}", "(demo only)"),
            ("software: certificates/s (sign_dcc + to_hc1)", f"{cert_rate:.0f}", "(demo only)")]
    for name, cls, available in (("softhsm", softtokens.SoftHsmToken, softtokens.softhsm_available()),
                                 ("swtpm", softtokens.SwtpmToken, softtokens.swtpm_available())):
        if not available:
            rows.append((f"{name}: signatures/s", "not installed", ""))
            continue
        rows += _token_rows(name, cls, Path(ctx.tmp), seconds)
    return rows
