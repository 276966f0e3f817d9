"""Step 4: COSE_Sign1 bytes -> ``HC1:`` text (zlib level 9 -> Base45 -> prefix).

Pure and tiny; :mod:`appliance.dcc.verify` is its exact reverse.
"""

from __future__ import annotations

import zlib

from appliance.dcc.base45 import b45encode

HC1_PREFIX = "HC1:"
ZLIB_LEVEL = 9


def compress(cose: bytes) -> bytes:
    """zlib (RFC 1950) at level 9, as the hcert reference signer does (header ``78 da``)."""
    return zlib.compress(cose, ZLIB_LEVEL)


def to_hc1(cose: bytes) -> str:
    """The text that goes into the QR code: ``"HC1:" + Base45(zlib9(cose))``."""
    return HC1_PREFIX + b45encode(compress(cose))
