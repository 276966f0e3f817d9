"""Step 3: DCC dict -> CWT claims -> COSE_Sign1 (ES256) through a :class:`Signer`.

Pure: time comes in as ``iat``/``exp``; the signer is the only side effect.
The output is ``18([h'{1:-7, 4:kid}', {}, h'CWT', h'r||s'])``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import cbor2

from appliance import dsc
from appliance.devices.signer import ES256, Signer
from appliance.errors import DscError, SigningError

COSE_SIGN1_TAG = 18
CWT_ISS, CWT_EXP, CWT_IAT, CWT_HCERT = 1, 4, 6, -260


@dataclass(frozen=True)
class Signed:
    """A signed certificate before encoding."""

    cose: bytes          #: the tagged COSE_Sign1 bytes
    signature: bytes     #: raw r || s
    kid: bytes
    iat: int
    exp: int


def cwt_claims(dcc: dict, *, issuer_country: str, iat: int, exp: int) -> bytes:
    """The CBOR CWT payload ``{1: iss, 4: exp, 6: iat, -260: {1: dcc}}`` with integer times."""
    return cbor2.dumps({CWT_ISS: issuer_country, CWT_EXP: int(exp), CWT_IAT: int(iat), CWT_HCERT: {1: dcc}})


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """The bytes that are signed: ``["Signature1", protected, h'', payload]``."""
    return cbor2.dumps(["Signature1", protected, b"", payload])


def clamp_validity(signer: Signer, iat: datetime, exp: datetime) -> tuple[int, int]:
    """Integer iat/exp kept inside the DSC validity (iat >= notBefore, exp <= notAfter).

    :raises DscError: when the DSC is missing or iat falls outside it.
    """
    cert = signer.certificate
    if cert is None:
        raise DscError("no device certificate (DSC) is installed: run 'appliance provision import-dsc FILE'")
    nb, na = dsc.not_before(cert), dsc.not_after(cert)
    iat_utc, exp_utc = iat.astimezone(timezone.utc), exp.astimezone(timezone.utc)
    if iat_utc < nb or iat_utc > na:
        raise DscError(f"issue time {iat_utc:%Y-%m-%d %H:%M} UTC is outside the DSC validity "
                       f"({nb:%Y-%m-%d} to {na:%Y-%m-%d}); check the clock or import a current DSC")
    return int(iat_utc.timestamp()), int(min(exp_utc, na).timestamp())


def sign_dcc(dcc: dict, signer: Signer, *, issuer_country: str, iat: datetime, exp: datetime) -> Signed:
    """Sign a DCC payload. ``exp`` is cut back to the DSC's notAfter when it would outlive it."""
    iat_i, exp_i = clamp_validity(signer, iat, exp)
    if exp_i <= iat_i:
        raise SigningError("the certificate would expire before it is issued; check the event date and validity")
    protected = cbor2.dumps({1: ES256, 4: signer.kid})
    payload = cwt_claims(dcc, issuer_country=issuer_country, iat=iat_i, exp=exp_i)
    signature = signer.sign(sig_structure(protected, payload))
    if len(signature) != 64:
        raise SigningError(f"the signer returned a {len(signature)}-byte signature, expected 64 (raw r||s)")
    cose = cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))
    return Signed(cose=cose, signature=signature, kid=signer.kid, iat=iat_i, exp=exp_i)
