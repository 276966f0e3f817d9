"""Receipt rendering: ESC/POS bytes per paper width (goal <= 50 ms) and the queue round trip.

The certificate is a fixed sample (vaccination, 3/3) signed by a throw-away software key,
so the HC1 text has the usual ~600 characters (QR version 19 at Q, 16 at M).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from appliance.benchmarks.runner import median_ms
from appliance.config import load_config
from appliance.devices.signer import SoftwareSigner
from appliance.dcc.encode import to_hc1
from appliance.printing.preview import receipt_preview_png
from appliance.printing.receipt import build_receipt
from appliance.printing.service import PrintService
from appliance.dcc.sign import sign_dcc

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)
SAMPLE = {
    "ver": "1.3.0",
    "nam": {"fn": "Musterfrau-Gößinger", "fnt": "MUSTERFRAU<GOESSINGER", "gn": "Gabriele", "gnt": "GABRIELE"},
    "dob": "1998-02-26",
    "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215", "dn": 3,
           "sd": 3, "dt": "2026-11-20", "co": "DE", "is": "Robert Koch-Institut",
           "ci": "URN:UVCI:01:DE:DEMO1/BENCH000001#S"}],
}
PRINTERS = (("TM-T20II", 80), ("POS-5890", 58))


def run(ctx) -> list[tuple[str, str, str]]:
    repeat = 10 if ctx.quick else 50
    signer = SoftwareSigner.generate(now=NOW)
    signed = sign_dcc(SAMPLE, signer, issuer_country="DE", iat=NOW, exp=NOW + timedelta(days=365))
    args = {"dcc": SAMPLE, "uvci": SAMPLE["v"][0]["ci"], "hc1": to_hc1(signed.cose), "issued_at": NOW,
            "centre": "Impfzentrum Musterstadt"}
    rows = []
    for profile, width in PRINTERS:
        ms = median_ms(lambda: build_receipt(**args, profile=profile, paper_width_mm=width), repeat)
        size = len(build_receipt(**args, profile=profile, paper_width_mm=width))
        rows.append((f"receipt bytes, {width} mm raster QR ({profile}, {size // 1024} KiB)", f"{ms:.1f} ms",
                     "<= 50 ms"))
    ms = median_ms(lambda: build_receipt(**args, profile="TM-T20II", paper_width_mm=80, native_qr=True), repeat)
    rows.append(("receipt bytes, 80 mm native QR (GS ( k)", f"{ms:.1f} ms", "<= 50 ms"))
    ms = median_ms(lambda: receipt_preview_png(**args, profile="TM-T20II", paper_width_mm=80), repeat)
    rows.append(("receipt PNG preview, 80 mm", f"{ms:.1f} ms", ""))
    rows.append(_queue_round_trip(ctx, args, repeat))
    return rows


def _queue_round_trip(ctx, args: dict, repeat: int) -> tuple[str, str, str]:
    config = load_config(env={}, state_dir=ctx.tmp, overrides={"printer": {"kind": "file"}})
    service = PrintService(config, clock=lambda: NOW)
    counter = iter(range(10**6))
    try:
        def one():
            job = service.submit(
                uvci=f"URN:UVCI:01:DE:DEMO1/B{next(counter):09d}#S", hc1=args["hc1"], dcc=args["dcc"],
                issued_at=NOW, operator="bench")
            assert service.wait(job, 30)
        ms = median_ms(one, repeat)
    finally:
        service.close()
    return ("submit -> printed, file printer (queue fsyncs + render + PNG)", f"{ms:.1f} ms", "")
