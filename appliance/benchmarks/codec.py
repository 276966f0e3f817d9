"""Codec benchmarks: zlib, Base45, QR SVG/PNG, verify (median ms) and the HC1 length ratio.

The ratio re-encodes every dgc-testdata vector that has a JSON payload and a PREFIX
(signed with a fresh software signer, ES256, integer iat/exp) and compares our HC1
length with the vector's own PREFIX length; the median should be <= 1.00.
"""

from __future__ import annotations

import json
import logging
import statistics
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

from appliance.dcc import qr
from appliance.dcc.base45 import b45decode, b45encode
from appliance.benchmarks.runner import median_ms
from appliance.devices.signer import SoftwareSigner
from appliance.dcc.encode import to_hc1
from appliance.dcc.sign import sign_dcc
from appliance.dcc.verify import verify

log = logging.getLogger(__name__)

VECTORS = Path(__file__).resolve().parents[2] / "tests" / "vectors" / "dgc-testdata"
SAMPLE = {"ver": "1.3.3", "nam": {"fn": "Mustermann", "fnt": "MUSTERMANN", "gn": "Erika", "gnt": "ERIKA"},
          "dob": "1964-08-12",
          "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215",
                 "dn": 3, "sd": 3, "dt": "2026-11-20", "co": "DE", "is": "Robert Koch-Institut",
                 "ci": "URN:UVCI:01:DE:DEMO/0123456789ABCDEF#7"}]}


def _length_ratios(signer, now: datetime, limit: int | None) -> list[float]:
    ratios = []
    files = sorted(VECTORS.rglob("*.json")) if VECTORS.is_dir() else []
    for path in files[:limit]:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data.get("JSON"), dict) or not data.get("PREFIX"):
            continue
        signed = sign_dcc(data["JSON"], signer, issuer_country="DE", iat=now, exp=now + timedelta(days=365))
        ratios.append(len(to_hc1(signed.cose)) / len(data["PREFIX"]))
    return ratios


def run(ctx) -> list[tuple[str, str, str]]:
    n = 20 if ctx.quick else 200
    now = datetime.now(timezone.utc)
    signer = SoftwareSigner.generate(now=now)
    signed = sign_dcc(SAMPLE, signer, issuer_country="DE", iat=now, exp=now + timedelta(days=365))
    compressed = zlib.compress(signed.cose, 9)
    text = b45encode(compressed)
    hc1 = to_hc1(signed.cose)
    rows = [
        ("codec: zlib level 9 (ms)", f"{median_ms(lambda: zlib.compress(signed.cose, 9), n):.3f}", "-"),
        ("codec: Base45 encode (ms)", f"{median_ms(lambda: b45encode(compressed), n):.3f}", "-"),
    ]
    try:
        rows.append(("codec: Base45 decode (ms)", f"{median_ms(lambda: b45decode(text), n):.3f}", "-"))
    except Exception as exc:  # noqa: BLE001 - a benchmark reports, it does not stop
        rows.append(("codec: Base45 decode (ms)", f"error: {type(exc).__name__}", "-"))
    q = max(5, n // 4)
    rows += [
        (f"codec: QR SVG, {len(hc1)} chars, level Q (ms)", f"{median_ms(lambda: qr.qr_svg(hc1), q):.2f}", "<= 20"),
        (f"codec: QR PNG, {len(hc1)} chars, level Q (ms)", f"{median_ms(lambda: qr.qr_png(hc1), q):.2f}", "<= 20"),
        ("codec: QR matrix (ms)", f"{median_ms(lambda: qr.qr_matrix(hc1), q):.2f}", "-"),
        ("codec: verify HC1 (ms)", f"{median_ms(lambda: verify(hc1, dscs=[signer.certificate], at=now), q):.2f}", "-"),
    ]
    ratios = _length_ratios(signer, now, 60 if ctx.quick else None)
    if ratios:
        rows.append((f"codec: HC1 length ratio ours/vector (median of {len(ratios)})",
                     f"{statistics.median(ratios):.3f}", "<= 1.00"))
    return rows
