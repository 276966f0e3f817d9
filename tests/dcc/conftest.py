"""Fixtures for the codec and verifier tests: a sample DCC and a helper that signs and encodes it."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

import pytest

from appliance.dcc.encode import to_hc1
from appliance.dcc.sign import sign_dcc

SAMPLE_DCC = {
    "ver": "1.3.3",
    "nam": {"fn": "Smith-Jones", "fnt": "SMITH<JONES", "gn": "Charles Edward", "gnt": "CHARLES<EDWARD"},
    "dob": "1964-01-01",
    "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1507", "ma": "ORG-100031184",
           "dn": 1, "sd": 2, "dt": "2026-11-20", "co": "DE", "is": "Robert Koch-Institut",
           "ci": "URN:UVCI:01:DE:TEST/ABC123#Q"}],
}


@pytest.fixture
def dcc() -> dict:
    return copy.deepcopy(SAMPLE_DCC)


@pytest.fixture
def make_hc1(software_signer, now):
    """``make_hc1(dcc=None, signer=None, iat=now, days=365)`` -> (hc1, Signed)."""

    def make(dcc: dict | None = None, *, signer=None, iat: datetime | None = None, days: int = 365):
        signer = signer or software_signer
        iat = iat or now
        signed = sign_dcc(dcc or copy.deepcopy(SAMPLE_DCC), signer, issuer_country="DE",
                          iat=iat, exp=iat + timedelta(days=days))
        return to_hc1(signed.cose), signed

    return make
