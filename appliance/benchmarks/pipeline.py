"""Issuing pipeline stages and the sign+encode throughput against the bare limit.

The limit is what this machine can do at best for one certificate: one bare
``cryptography`` ECDSA P-256 signature plus one bare ``zlib`` level 9 of a certificate's
bytes carrying that fresh signature.
Goal: sign+encode costs at most 2x that.
"""

from __future__ import annotations

import json
import zlib
from datetime import datetime, timedelta, timezone
from importlib import resources

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from appliance.dcc import base45, encode, form, payload, sign
from appliance.benchmarks.runner import median_ms
from appliance.config import DeviceSection, IssueSection
from appliance.devices.signer import SoftwareSigner

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)


def _example_request():
    data = json.loads(resources.files("appliance.dcc").joinpath("examples/vaccination.json").read_text("utf-8"))
    return form.parse_input(data, type="v", device=DeviceSection(), now=NOW)


def run(ctx) -> list[tuple[str, str, str]]:
    n = 50 if ctx.quick else 500
    signer = SoftwareSigner.generate(now=NOW)
    req = _example_request()
    uvci = "URN:UVCI:01:DE:DEMO1/ABC0000001#X"
    issue_cfg = IssueSection()

    def build():
        dcc = payload.build_dcc(req, uvci=uvci, schema_version=issue_cfg.schema_version)
        payload.validate_dcc(dcc, now=NOW)
        return dcc

    dcc = build()
    exp = NOW + timedelta(days=365)
    signed = sign.sign_dcc(dcc, signer, issuer_country="DE", iat=NOW, exp=exp)
    compressed = zlib.compress(signed.cose, 9)

    def sign_encode():
        s = sign.sign_dcc(dcc, signer, issuer_country="DE", iat=NOW, exp=exp)
        return encode.to_hc1(s.cose)

    key = ec.generate_private_key(ec.SECP256R1())
    tbs = sign.sig_structure(b"\xa2\x01\x26\x04\x48" + bytes(8), sign.cwt_claims(dcc, issuer_country="DE", iat=0, exp=1))
    unsigned = signed.cose[:-64]

    def limit():
        # the same bytes as a real certificate: every signature is new, so zlib never sees
        # the same input twice (compressing one buffer over and over runs about 2x faster)
        der = key.sign(tbs, ec.ECDSA(hashes.SHA256()))
        zlib.compress(unsigned + der[-64:], 9)

    t_payload = median_ms(build, n)
    t_cbor = median_ms(lambda: cbor2.dumps({1: "DE", 4: 1, 6: 0, -260: {1: dcc}}), n)
    t_sign = median_ms(lambda: sign.sign_dcc(dcc, signer, issuer_country="DE", iat=NOW, exp=exp), n)
    t_zlib = median_ms(lambda: zlib.compress(signed.cose, 9), n)
    t_b45 = median_ms(lambda: base45.b45encode(compressed), n)
    t_se = median_ms(sign_encode, n)
    t_limit = median_ms(limit, n)
    return [
        ("payload build + validate (ms)", f"{t_payload:.3f}", ""),
        ("CBOR encode (ms)", f"{t_cbor:.3f}", ""),
        ("CWT + COSE sign, software key (ms)", f"{t_sign:.3f}", ""),
        ("zlib level 9 (ms)", f"{t_zlib:.3f}", ""),
        ("Base45 encode (ms)", f"{t_b45:.3f}", ""),
        ("sign+encode (certificates/s)", f"{1000 / t_se:.0f}", ""),
        ("limit: bare ECDSA P-256 + zlib (per s)", f"{1000 / t_limit:.0f}", ""),
        ("sign+encode cost / limit", f"{t_se / t_limit:.2f}x", "<= 2x"),
        ("HC1 length (example vaccination)", str(len(encode.to_hc1(signed.cose))), ""),
    ]
