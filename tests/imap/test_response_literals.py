"""Literals on the wire (RFC 3501 §4.3, §9; RFC 3516 §4.2): what may go in one."""

from __future__ import annotations

from cpmstore.imap import response as wire


def test_rfc3501_literal_counts_octets():
    assert wire.literal(b"caf\xc3\xa9\r\n") == b"{7}\r\ncaf\xc3\xa9\r\n"


def test_rfc3501_9_nul_is_not_char8_and_goes_as_0x80_with_the_same_count():
    assert wire.literal(b"a\x00b\x00") == b"{4}\r\na\x80b\x80"


def test_rfc3516_literal8_carries_nul():
    assert wire.literal8(b"a\x00b") == b"~{3}\r\na\x00b"


def test_a_string_holding_nul_is_a_literal_without_nul():
    assert wire.string(b"x\x00y") == b"{3}\r\nx\x80y"
