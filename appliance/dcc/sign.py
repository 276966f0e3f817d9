"""Step 3: DCC dict -> CWT claims -> COSE_Sign1 (ES256) through a :class:`Signer`.

Pure: time comes in as ``iat``/``exp``; the signer is the only side effect.
The output is ``18([h'{1:-7, 4:kid}', {}, h'CWT', h'r||s'])``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import cbor2

from appliance.dcc import dsc
from appliance.dcc.cose import ES256
from appliance.errors import DscError, SigningError

if TYPE_CHECKING:  # the port's type only; the engine never imports a device
    from appliance.devices.ports import Signer

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


def _bstr(data: bytes) -> bytes:
    """A CBOR byte string (major type 2): its header, then the bytes."""
    n = len(data)
    if n < 24:
        head = bytes((0x40 | n,))
    elif n < 0x100:
        head = bytes((0x58, n))
    elif n < 0x10000:
        head = b"\x59" + n.to_bytes(2, "big")
    else:
        head = b"\x5a" + n.to_bytes(4, "big")
    return head + data


#: CBOR array(4) + text "Signature1": the fixed start of every Sig_structure.
_SIG1_PREFIX = b"\x84\x6aSignature1"
#: tag 18 + array(4): the fixed start of every COSE_Sign1 we emit.
_COSE1_PREFIX = b"\xd2\x84"


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """The bytes that are signed: ``["Signature1", protected, h'', payload]`` in CBOR.

    Framed by hand (two byte-string headers around fixed bytes): this runs once per
    certificate beside the signature, and cbor2 would cost as much as half the ECDSA.
    """
    return _SIG1_PREFIX + _bstr(protected) + b"\x40" + _bstr(payload)


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
    cose = _COSE1_PREFIX + _bstr(protected) + b"\xa0" + _bstr(payload) + _bstr(signature)
    return Signed(cose=cose, signature=signature, kid=signer.kid, iat=iat_i, exp=exp_i)
