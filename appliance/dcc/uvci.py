"""UVCI (unique vaccination certificate identifier, DCC field ``ci``) and its checksum.

Format (eHN guidelines Annex 2, URN registration 0-1.01, option "issuer/opaque")::

    URN:UVCI:01:<CC>:<ISSUER>/<OPAQUE>#<check>

* ``CC``: ISO 3166-1 alpha-2 of the issuing country;
* ``ISSUER``: ``[device] uvci_issuer`` (A-Z0-9), names the centre / location;
* ``OPAQUE``: :func:`opaque_for` = a 6-character device tag (the first 30 bits of
  SHA-256 over the device id, Base32, so A-Z and 2-7) followed by the journal's
  ``uvci`` sequence number in base 36, zero-padded to 7 characters (up to
  78 364 164 095 certificates per device). Equal device ids and sequence numbers
  give the same opaque part; a different sequence number always gives a different
  one, so a device never repeats a UVCI. Two devices could share a tag with
  probability 2^-30 per pair; give each device its own ``uvci_issuer`` to rule it out.
* ``check``: Luhn mod 38 over the whole upper-case string before ``#`` using the
  alphabet ``A-Z0-9/:`` (eu-dcc-schema wiki FAQ, "UVCI checksum").

The result is at most 60 characters (guideline); longer is an error.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re

from appliance.errors import InvalidInput
from appliance.messages import Msg

log = logging.getLogger(__name__)

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/:"
N = len(ALPHABET)  # 38
MAX_LENGTH = 60
PREFIX = "URN:UVCI:01:"
TAG_LENGTH = 6
SEQ_LENGTH = 7
_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_COMPONENT = re.compile(r"[A-Z0-9]+")
_COUNTRY = re.compile(r"[A-Z]{2}")


def _index(ch: str) -> int:
    i = ALPHABET.find(ch)
    if i < 0:
        raise InvalidInput({"uvci": Msg("uvci.char", char=repr(ch))})
    return i


def _luhn_sum(s: str, factor: int) -> int:
    total = 0
    for ch in reversed(s):
        addend = factor * _index(ch)
        total += addend // N + addend % N
        factor = 3 - factor  # 2, 1, 2, 1 ...
    return total


def checksum(s: str) -> str:
    """The Luhn mod 38 check character for ``s`` (case-insensitive, without ``#``)."""
    return ALPHABET[(N - _luhn_sum(s.upper(), 2) % N) % N]


def is_valid(uvci: str) -> bool:
    """True if ``uvci`` ends in ``#<check>`` and the check character is right.

    Never reject a *foreign* certificate on this: many issuers' checksums do not
    validate and the guidelines say the checksum must not be relied upon.
    """
    body, sep, check = uvci.upper().rpartition("#")
    if not sep or len(check) != 1 or check not in ALPHABET:
        return False
    try:
        return _luhn_sum(body + check, 1) % N == 0
    except InvalidInput:
        return False


def make_uvci(*, country: str, issuer: str, opaque: str) -> str:
    """``URN:UVCI:01:<country>:<issuer>/<opaque>#<check>``; InvalidInput if a part is malformed
    or the result is longer than 60 characters."""
    country, issuer, opaque = country.upper(), issuer.upper(), opaque.upper()
    errors = {}
    if not _COUNTRY.fullmatch(country):
        errors["device.country"] = Msg("uvci.country")
    if not _COMPONENT.fullmatch(issuer):
        errors["device.uvci_issuer"] = Msg("uvci.issuer")
    if not _COMPONENT.fullmatch(opaque):
        errors["uvci"] = Msg("uvci.opaque")
    if errors:
        raise InvalidInput(errors)
    body = f"{PREFIX}{country}:{issuer}/{opaque}"
    uvci = f"{body}#{checksum(body)}"
    if len(uvci) > MAX_LENGTH:
        raise InvalidInput({"device.uvci_issuer": Msg("uvci.too_long", n=len(uvci), max=MAX_LENGTH)})
    return uvci


def device_tag(device_id: str) -> str:
    """Six characters A-Z2-7 derived from the device id (first 30 bits of SHA-256, Base32)."""
    digest = hashlib.sha256(device_id.encode("utf-8")).digest()
    return base64.b32encode(digest).decode("ascii")[:TAG_LENGTH]


def opaque_for(device_id: str, seq: int) -> str:
    """Opaque UVCI part for the ``seq``-th certificate of ``device_id``: tag + base-36 sequence."""
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < 36**SEQ_LENGTH:
        raise InvalidInput({"uvci": Msg("uvci.sequence", max=36**SEQ_LENGTH - 1)})
    digits = ""
    n = seq
    while True:
        n, r = divmod(n, 36)
        digits = _BASE36[r] + digits
        if n == 0:
            break
    return device_tag(device_id) + digits.rjust(SEQ_LENGTH, "0")
