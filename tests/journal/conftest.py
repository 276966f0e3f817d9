"""Fixtures for the journal, clock and issuing tests (``journal``, ``journal_path``, ``clock`` and
``example`` are the suite's own, in tests/conftest.py)."""

from __future__ import annotations

import pytest


def issued_kwargs(i: int, *, personal: bool = True, key: str | None = None) -> dict:
    """Keyword arguments for a plausible 'issued' append (fake signature, no real certificate)."""
    uvci = f"URN:UVCI:01:DE:TEST/{i:07d}#X"
    kw = dict(type="v", uvci=uvci, kid=b"kid-0001", signature=bytes([i % 256]) * 64, country="DE",
              data={"mp": "EU/1/20/1528", "dn": 1, "sd": 2, "expires_at": "2027-11-28T10:00:00Z"},
              idempotency_key=key)
    if personal:
        kw["personal"] = {"family_name": f"Muster{i}", "given_name": "Erika", "family_name_std": f"MUSTER{i}",
                          "given_name_std": "ERIKA", "date_of_birth": "1964-08-12", "hc1": f"HC1:{i}"}
    return kw


@pytest.fixture
def make_issued():
    """``make_issued(i, personal=True, key=None)`` -> append() keywords for entry number i."""
    return issued_kwargs



