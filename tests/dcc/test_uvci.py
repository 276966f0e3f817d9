"""UVCI construction and the Luhn mod 38 checksum (uvci.py)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.dcc import uvci
from appliance.errors import InvalidInput


def test_faq_example():
    assert uvci.checksum("URN:UVCI:01:NL:187/37512422923") == "Z"
    assert uvci.is_valid("URN:UVCI:01:NL:187/37512422923#Z")
    assert uvci.is_valid("urn:uvci:01:nl:187/37512422923#z")  # matching is case-insensitive


@pytest.mark.parametrize("wrong", ["URN:UVCI:01:NL:187/37512422923#A",   # wrong check character
                                   "URN:UVCI:01:NL:187/37512422924#Z",   # one digit changed
                                   "URN:UVCI:01:NL:187/37512422923",     # no checksum
                                   "URN:UVCI:01:NL:187/37512422923#ZZ",
                                   "URN:UVCI:01:NL:187/3751242292€#Z"])
def test_validator_rejects(wrong):
    assert not uvci.is_valid(wrong)


def test_make_uvci_shape_and_checksum():
    made = uvci.make_uvci(country="DE", issuer="IZ12345", opaque=uvci.opaque_for("pi-0001", 1))
    assert re.fullmatch(r"URN:UVCI:01:DE:IZ12345/[A-Z0-9]{13}#[A-Z0-9/:]", made)
    assert uvci.is_valid(made)
    assert len(made) <= 60


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=20),
       st.integers(min_value=0, max_value=36**7 - 1))
def test_generated_uvcis_validate_and_single_changes_are_detected(issuer, seq):
    made = uvci.make_uvci(country="DE", issuer=issuer, opaque=uvci.opaque_for("device", seq))
    assert uvci.is_valid(made)
    body, check = made[:-2], made[-1]
    # Luhn mod N detects every single-character substitution
    i = len(body) - 1
    replacement = "A" if body[i] != "A" else "B"
    assert not uvci.is_valid(body[:i] + replacement + "#" + check)


def test_too_long_is_an_error():
    with pytest.raises(InvalidInput) as exc:
        uvci.make_uvci(country="DE", issuer="X" * 30, opaque=uvci.opaque_for("d", 1))
    assert "device.uvci_issuer" in exc.value.field_errors


@pytest.mark.parametrize("kwargs, field", [
    ({"country": "DEU", "issuer": "A1", "opaque": "X"}, "device.country"),
    ({"country": "DE", "issuer": "A-1", "opaque": "X"}, "device.uvci_issuer"),
    ({"country": "DE", "issuer": "A1", "opaque": "X/Y"}, "uvci"),
])
def test_malformed_parts(kwargs, field):
    with pytest.raises(InvalidInput) as exc:
        uvci.make_uvci(**kwargs)
    assert field in exc.value.field_errors


def test_opaque_is_unique_per_device_and_sequence():
    first = {uvci.opaque_for("device-a", n) for n in range(5000)}
    assert len(first) == 5000
    assert uvci.opaque_for("device-a", 7) != uvci.opaque_for("device-b", 7)
    assert uvci.opaque_for("device-a", 7) == uvci.opaque_for("device-a", 7)
    assert all(re.fullmatch(r"[A-Z0-9]{13}", o) for o in first)


@pytest.mark.parametrize("seq", [-1, 36**7, True, "5"])
def test_opaque_rejects_bad_sequence_numbers(seq):
    with pytest.raises(InvalidInput):
        uvci.opaque_for("device", seq)
