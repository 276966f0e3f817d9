"""An atheris fuzz target for the verifier (:func:`appliance.dcc.verify.verify`).

Run by ``tests/security/test_fuzz_verify.py`` for a bounded number of executions in every
``make test``; run it longer by hand::

    .venv/bin/python tests/security/fuzz_verify.py -runs=200000 -max_len=4096

Each input is used two ways: as the HC1 text itself, and as a mutation of a real signed
certificate's COSE bytes (so the fuzzer gets past Base45 and zlib into CBOR, COSE, the claims, the
schema and the validity checks). A finding is any exception out of ``verify`` (it must never raise
on input), an "internal error" stage (a bug the verifier caught), or a result that does not turn
into JSON.
"""

from __future__ import annotations

import json
import sys
import zlib
from datetime import datetime, timedelta, timezone

import atheris

with atheris.instrument_imports():
    from appliance.dcc import verify as verifier
    from appliance.dcc.base45 import b45encode

from appliance.dcc.encode import to_hc1
from appliance.dcc.sign import sign_dcc
from appliance.devices.signer import SoftwareSigner

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)
SIGNER = SoftwareSigner.generate(country="DE", now=NOW)
DCC = {"ver": "1.3.0", "nam": {"fn": "Muster", "fnt": "MUSTER", "gn": "Max", "gnt": "MAX"}, "dob": "1980-01-01",
       "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215", "dn": 2, "sd": 2,
              "dt": "2026-11-20", "co": "DE", "is": "Impfzentrum", "ci": "URN:UVCI:01:DE:FUZZ/1#A"}]}
COSE = sign_dcc(DCC, SIGNER, issuer_country="DE", iat=NOW, exp=NOW + timedelta(days=365)).cose
assert verifier.verify(to_hc1(COSE), dscs=[SIGNER.certificate], at=NOW).valid


def _check(text: str) -> None:
    result = verifier.verify(text, dscs=[SIGNER.certificate], at=NOW)
    internal = [e for e in result.errors if "internal error" in e]
    if internal:
        raise AssertionError(f"verifier bug: {internal[0]}")
    json.dumps(result.to_json())


def _mutated(data: bytes) -> bytes:
    """COSE bytes with ``data`` spliced in at a position the data chooses."""
    if not data:
        return COSE
    at = data[0] * len(COSE) // 256
    cut = data[1] % 8 if len(data) > 1 else 0
    return COSE[:at] + data[2:] + COSE[at + cut:]


def test_one_input(data: bytes) -> None:
    _check(data.decode("utf-8", errors="replace"))
    _check("HC1:" + b45encode(zlib.compress(_mutated(data))))


def main(argv: list[str]) -> None:
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
