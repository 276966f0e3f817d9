"""Base45 (RFC 9285) vectors, strict rejection, and the zlib -> Base45 -> HC1: encoder round trip."""

from __future__ import annotations

import zlib

import pytest
from hypothesis import given, strategies as st

from appliance.dcc import verify as V
from appliance.dcc.base45 import b45decode, b45encode
from appliance.dcc.encode import HC1_PREFIX, to_hc1
from appliance.errors import DecodeError

RFC_VECTORS = [(b"AB", "BB8"), (b"Hello!!", "%69 VD92EX0"), (b"base-45", "UJCLQE7W581"), (b"ietf!", "QED8WEX0")]


@pytest.mark.parametrize(("raw", "text"), RFC_VECTORS)
def test_base45_rfc_vectors(raw, text):
    assert b45encode(raw) == text
    assert b45decode(text) == raw


@pytest.mark.parametrize("bad", ["GGW", "hello", "AB#", "A", "BB8A", "::"])
def test_base45_rejects_bad_text(bad):
    with pytest.raises(DecodeError):
        b45decode(bad)


@given(st.binary(max_size=600))
def test_base45_round_trip(data):
    assert b45decode(b45encode(data)) == data


@given(st.binary(min_size=1, max_size=800))
def test_hc1_round_trip_through_verifier_stages(cose):
    hc1 = to_hc1(cose)
    assert hc1.startswith(HC1_PREFIX)
    assert V.decompress(V.b45(V.unprefix(hc1))) == cose


def test_encoder_uses_zlib_level_9():
    data = to_hc1(b"\xd2\x84" + bytes(range(256)) * 3)
    compressed = b45decode(data[len(HC1_PREFIX):])
    assert compressed[:2] == b"\x78\xda"  # zlib header of level 9
    assert zlib.decompress(compressed)[:2] == b"\xd2\x84"
