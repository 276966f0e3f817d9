"""Offline EU Digital COVID Certificate appliance.

The pipeline, one module per step (``ls appliance/`` reads as the flow)::

    form.py      typed input  -> IssueRequest (field errors, ICAO names via names.py)
    payload.py   IssueRequest -> DCC dict (+ UVCI from uvci.py), schema + value sets
    sign.py      DCC -> CWT claims -> COSE_Sign1 through a Signer (devices/signer.py)
    encode.py    COSE -> zlib -> Base45 (base45.py) -> "HC1:" -> QR (qr.py)
    verify.py    the exact reverse, strict where the spec says MUST
    issue.py     the one place that orders the side effects of issuing

Everything with a side effect sits behind a port in ``devices/``.
"""

__version__ = "0.1.0"
#: Issuing is refused when the system clock is earlier than this date (see clock.py).
RELEASE_DATE = "2026-11-01"
