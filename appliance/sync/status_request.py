"""The signed status request: how the sync agent proves to the hub that it asks for its own progress.

``GET /api/v1/devices/<id>`` tells a device how far the hub has its journal. Only the device
itself (or the central office, with the hub token) may learn that, so the agent sends

    Authorization: Device <base64url(COSE_Sign1)>

signed by the device key exactly as a batch is (:mod:`appliance.sync.batches`: ES256, kid of
the DSC in the protected header), over the CBOR map::

    {"device_id": str, "purpose": "status", "time": int (Unix time), "nonce": bstr(16)}

The hub checks the signature with the device's registered DSC (:func:`appliance.hub.envelope.authenticate`),
the device id against the URL, ``time`` within a bounded clock skew of its own clock, and that
it has not seen the nonce in that window. Anything else gets the answer an unknown id gets.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from datetime import datetime

import cbor2

from appliance.dcc.cose import ES256
from appliance.dcc.sign import COSE_SIGN1_TAG, sig_structure
from appliance.devices.ports import Signer
from appliance.errors import DecodeError

SCHEME = "Device"
PURPOSE = "status"
NONCE_BYTES = 16
MAX_HEADER = 1024          #: a real request is about 200 characters
DEFAULT_SKEW_S = 300       #: how far the device's clock may be from the hub's
HUB_TIME = "X-Hub-Time"    #: the hub's Unix time on every status answer (the agent signs again at it)


@dataclass(frozen=True)
class StatusRequest:
    device_id: str
    time: int
    nonce: bytes


def sign_status_request(device_id: str, signer: Signer, *, now: datetime, nonce: bytes | None = None) -> str:
    """The ``Authorization`` header value for a status request of ``device_id`` at ``now``."""
    body = {"device_id": device_id, "purpose": PURPOSE, "time": int(now.timestamp()),
            "nonce": nonce if nonce is not None else os.urandom(NONCE_BYTES)}
    protected = cbor2.dumps({1: ES256, 4: signer.kid})
    payload = cbor2.dumps(body)
    signature = signer.sign(sig_structure(protected, payload))
    cose = cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))
    return f"{SCHEME} " + base64.urlsafe_b64encode(cose).rstrip(b"=").decode("ascii")


def cose_of(header: str | None) -> bytes | None:
    """The COSE_Sign1 bytes of an ``Authorization: Device ...`` value, or None if it is not one."""
    if not header or len(header) > MAX_HEADER:
        return None
    scheme, _, value = header.partition(" ")
    if scheme != SCHEME or not value:
        return None
    try:
        return base64.urlsafe_b64decode(value.strip() + "=" * (-len(value.strip()) % 4))
    except (binascii.Error, ValueError):
        return None


def read_body(payload: bytes | memoryview) -> StatusRequest:
    """The signed body (after the signature was checked). :raises DecodeError: not a status request."""
    try:
        body = cbor2.loads(bytes(payload))
    except Exception:  # cbor2 raises several types for garbage
        raise DecodeError("the status request is not CBOR") from None
    if (not isinstance(body, dict) or set(body) != {"device_id", "purpose", "time", "nonce"}
            or body["purpose"] != PURPOSE or not isinstance(body["device_id"], str)
            or not isinstance(body["time"], int) or isinstance(body["time"], bool)
            or not isinstance(body["nonce"], bytes) or len(body["nonce"]) != NONCE_BYTES):
        raise DecodeError("the status request must be {device_id, purpose: status, time, nonce (16 bytes)}")
    return StatusRequest(body["device_id"], body["time"], body["nonce"])
