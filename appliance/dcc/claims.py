"""The CWT claims of a DCC (``{1: iss, 4: exp, 6: iat, -260: {1: dcc}}``) and the DCC as JSON.

Tolerant of what real certificates do: float iat/exp, tag-0 date-times. A verifier stage
(re-exported by :mod:`appliance.dcc.verify`): failures are :class:`DecodeError` lines.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import cbor2

from appliance.dcc.model import TYPES
from appliance.errors import DecodeError

CWT_ISS, CWT_EXP, CWT_IAT, CWT_HCERT = 1, 4, 6, -260


@dataclass(frozen=True)
class Claims:
    """The CWT claims that matter: issuer country, iat, exp and the DCC payload."""

    issuer_country: str | None
    issued_at: datetime | None
    expires_at: datetime | None
    dcc: Any


def _numeric_date(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DecodeError(f"cose: the CWT claim {name} is not a number")
    try:
        return datetime.fromtimestamp(value, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise DecodeError(f"cose: the CWT claim {name} is out of range") from None


def parse_claims(payload: bytes) -> Claims:
    """Decode the CWT payload ``{1: iss, 4: exp, 6: iat, -260: {1: dcc}}`` (floats and tag 0 tolerated)."""
    try:
        claims = cbor2.loads(payload)
    except Exception as exc:  # noqa: BLE001 - any garbage is a decode failure
        raise DecodeError(f"cose: the CWT payload is not valid CBOR ({type(exc).__name__})") from None
    if not isinstance(claims, Mapping):
        raise DecodeError("cose: the CWT payload is not a CBOR map")
    hcert = claims.get(CWT_HCERT)
    if not isinstance(hcert, Mapping) or 1 not in hcert:
        raise DecodeError("cose: the CWT has no hcert claim (-260) with an eu_dcc_v1 (1) entry")
    iss = claims.get(CWT_ISS)
    return Claims(issuer_country=iss if isinstance(iss, str) else None,
                  issued_at=_numeric_date(claims.get(CWT_IAT), "iat (6)"),
                  expires_at=_numeric_date(claims.get(CWT_EXP), "exp (4)"),
                  dcc=hcert[1])


def _iso(value: datetime) -> str:
    value = value.astimezone(timezone.utc)
    return value.isoformat(timespec="microseconds" if value.microsecond else "seconds").replace("+00:00", "Z")


def jsonable(value: Any) -> Any:
    """The DCC as JSON types: tag-0 date-times back to RFC 3339 text, bytes to base64."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return _iso(value) if value.tzinfo else value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    tag_value = getattr(value, "value", None)  # CBORTag and friends
    return jsonable(tag_value) if tag_value is not None else str(value)


def dcc_type(dcc: Any) -> str | None:
    """``"v"``, ``"t"`` or ``"r"`` when exactly one group is present, else ``None``."""
    if not isinstance(dcc, dict):
        return None
    present = [t for t in TYPES if t in dcc]
    return present[0] if len(present) == 1 else None
