"""Modified UTF-7 (RFC 3501 §5.1.3)."""

import pytest
from hypothesis import given, settings, strategies as st

from cpmstore.imap import mutf7


@pytest.mark.parametrize("name, wire", [
    ("~peter/mail/台北/日本語", b"~peter/mail/&U,BTFw-/&ZeVnLIqe-"),  # RFC 3501 §5.1.3
    ("&", b"&-"),
    ("Tom & Jerry", b"Tom &- Jerry"),
    ("", b""),
    ("Entwürfe", b"Entw&APw-rfe"),
    ("\U0001F600", b"&2D3eAA-"),
    ("a\tb", b"a&AAk-b"),
])
def test_rfc3501_5_1_3_examples(name, wire):
    assert mutf7.encode(name) == wire
    assert mutf7.decode(wire) == name


@pytest.mark.parametrize("wire", [
    b"&Jjo!",         # RFC 3501 §5.1.3: "&Jjo!" is not valid
    b"&U,BTFw-&ZeVnLIqe-",  # null shift "-&" inside base64
    b"&",             # not closed
    b"&U,BTFw",       # not closed
    b"&AGE-",         # "a" must represent itself
    b"&AAk",          # not closed
    b"&AA-",          # odd number of bytes
    b"&U,BTFx-",      # non-zero padding bits
    b"&2D0-",         # lone high surrogate
    b"Entw\xc3\xbcrfe",  # 8-bit
    b"a\tb",          # control character
    b"&A-",           # truncated base64
    b"&U/BTFw-",      # "/" is not modified base64
])
def test_rfc3501_5_1_3_strict_decoding(wire):
    with pytest.raises(ValueError):
        mutf7.decode(wire)


def test_lone_surrogate_cannot_be_encoded():
    with pytest.raises(mutf7.MUTF7Error):
        mutf7.encode("\ud800")


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_round_trip(name):
    wire = mutf7.encode(name)
    assert all(0x20 <= b <= 0x7E for b in wire)
    assert mutf7.decode(wire) == name


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_decode_is_strict_or_canonical(wire):
    try:
        name = mutf7.decode(wire)
    except mutf7.MUTF7Error:
        return
    assert mutf7.encode(name) == wire
