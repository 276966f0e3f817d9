"""A sample DCC payload and signing a payload into an HC1 text (the test signer's way)."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

from appliance.dcc.encode import to_hc1
from appliance.dcc.sign import sign_dcc

#: a schema-valid vaccination DCC (Moderna 1/2 on 2026-11-20)
SAMPLE_DCC = {
    "ver": "1.3.3",
    "nam": {"fn": "Smith-Jones", "fnt": "SMITH<JONES", "gn": "Charles Edward", "gnt": "CHARLES<EDWARD"},
    "dob": "1964-01-01",
    "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1507", "ma": "ORG-100031184",
           "dn": 1, "sd": 2, "dt": "2026-11-20", "co": "DE", "is": "Robert Koch-Institut",
           "ci": "URN:UVCI:01:DE:TEST/ABC123#Q"}],
}


def sample_dcc() -> dict:
    """A fresh copy of :data:`SAMPLE_DCC`."""
    return copy.deepcopy(SAMPLE_DCC)


def sign_to_hc1(dcc: dict, signer, *, iat: datetime, days: int):
    """Sign ``dcc`` (issuer country DE, valid ``days`` from ``iat``): (HC1 text, Signed)."""
    signed = sign_dcc(dcc, signer, issuer_country="DE", iat=iat, exp=iat + timedelta(days=days))
    return to_hc1(signed.cose), signed
