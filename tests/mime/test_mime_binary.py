"""BINARY[section] content (RFC 3516 §4.2-4.3): transfer encodings undone, literal8 or not."""

from __future__ import annotations

import base64

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cpmstore.mime.binary import (BinarySection, UnknownTransferEncoding, binary_section, stored_form,
                                  undo_transfer_encoding)

# A JPEG-like media part as a CPM file-transfer history carries it: every
# octet value, NUL and CR LF included, so any re-encoding would show.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) + b"\r\n\x00\xff\xd9"
FILE_TRANSFER = (
    b"From: <sip:alice@example.com>\r\nConversation-ID: f81d4fae\r\n"
    b'Content-Type: multipart/related; boundary=cpm; type="Application/X-CPM-File-Transfer"\r\n\r\n'
    b"--cpm\r\nContent-Type: Application/X-CPM-File-Transfer\r\n\r\n<file-transfer-type>send</file-transfer-type>\r\n"
    b"--cpm\r\nContent-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    + base64.encodebytes(JPEG).replace(b"\n", b"\r\n")
    + b"--cpm\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"caf=C3=A9 soft=\r\nbreak  \r\n"
    b"--cpm\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n\r\nplain \xc3\xa9\r\n"
    b"--cpm\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 x\r\n"
    b"--cpm\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n"
    b"--cpm--\r\n"
)


def test_rfc3516_4_2_base64_media_part_is_exact():
    assert binary_section(FILE_TRANSFER, (2,)) == BinarySection(JPEG, binary=True)


@pytest.mark.parametrize(("parts", "data", "binary"), [
    ((1,), b"<file-transfer-type>send</file-transfer-type>", False),  # 7bit: as stored, a string
    ((3,), b"caf\xc3\xa9 softbreak", True),  # RFC 2045 §6.7: soft break and line-end blanks undone
    ((4,), b"plain \xc3\xa9", False),  # 8bit without NUL: a string (RFC 3516 §4.3)
    ((6, 1), b"hello", True),  # the body of the embedded message
])
def test_rfc3516_4_3_decoded_leaf_parts(parts, data, binary):
    assert binary_section(FILE_TRANSFER, parts) == BinarySection(data, binary)


def test_rfc3516_4_3_unknown_encoding_is_an_error():
    with pytest.raises(UnknownTransferEncoding) as info:
        binary_section(FILE_TRANSFER, (5,))
    assert info.value.encoding == b"x-uuencode"


def test_rfc3516_4_3_unknown_encoding_inside_the_whole_message_is_an_error():
    with pytest.raises(UnknownTransferEncoding):
        binary_section(FILE_TRANSFER, ())


def test_rfc3516_4_2_missing_part_is_none():
    assert binary_section(FILE_TRANSFER, (9,)) is None
    assert binary_section(FILE_TRANSFER, (2, 1, 1)) is None


def test_rfc3516_4_2_message_part_decodes_its_leaves_and_says_binary():
    # As Dovecot: the embedded message comes whole, its body decoded and its
    # Content-Transfer-Encoding now "binary", so nothing is left to decode.
    assert binary_section(FILE_TRANSFER, (6,)) == BinarySection(
        b"Subject: inner\r\nContent-Transfer-Encoding: binary\r\n\r\nhello", binary=True)


def test_rfc3516_4_2_whole_message_keeps_structure_with_leaves_decoded():
    message = (
        b"Subject: m\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\npreamble\r\n"
        b"--B\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n"
        b"--B\r\n\r\nseven bit\r\n"
        b"--B--\r\nepilogue\r\n"
    )
    section = binary_section(message, ())
    assert section == BinarySection(
        b"Subject: m\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\npreamble\r\n"
        b"--B\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00\x01\x02\r\n"
        b"--B\r\n\r\nseven bit\r\n"
        b"--B--\r\nepilogue\r\n", binary=True)
    assert binary_section(message, (1,)) == BinarySection(b"\x00\x01\x02", binary=True)


def test_rfc3516_4_2_non_multipart_message_part_one_is_its_body():
    message = b"Subject: s\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQ=\r\n"
    assert binary_section(message, (1,)) == BinarySection(b"\x00\x01\x02\x03\x04", binary=True)


def test_rfc3516_4_3_plain_message_is_unchanged_and_a_string():
    message = b"Subject: s\r\n\r\nhello\r\n"
    assert binary_section(message, ()) == BinarySection(message, binary=False)


def test_rfc3516_4_3_nul_in_identity_encoding_needs_literal8():
    message = b"Subject: s\r\nContent-Transfer-Encoding: 8bit\r\n\r\na\x00b"
    assert binary_section(message, (1,)) == BinarySection(b"a\x00b", binary=True)


def test_rfc3516_4_3_decoded_text_goes_with_crlf():
    message = b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(b"a\nb\r\nc")
    assert binary_section(message, (1,)).data == b"a\r\nb\r\nc"
    # Not text: bare LF is data and stays.
    message = message.replace(b"text/plain", b"application/octet-stream")
    assert binary_section(message, (1,)).data == b"a\nb\r\nc"


@pytest.mark.parametrize(("encoding", "body", "expected"), [
    (None, b"as is", (b"as is", False)),
    (b"7BIT", b"as is", (b"as is", False)),
    (b" Binary ", b"\x00", (b"\x00", True)),
    (b"BASE64", b"aGk=", (b"hi", True)),
    (b"Quoted-Printable", b"a=3Db", (b"a=b", True)),
])
def test_rfc2045_6_encodings(encoding, body, expected):
    assert undo_transfer_encoding(body, encoding) == expected


@settings(max_examples=60)
@given(st.binary(max_size=300))
def test_rfc2045_6_8_base64_round_trip(data):
    message = (b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
               + base64.encodebytes(data).replace(b"\n", b"\r\n"))
    assert binary_section(message, (1,)).data == data


# -- the stored form of a literal8 APPEND (RFC 3516 §4.4) ---------------------------------
BINARY_FT = (
    b"Subject: ft\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
    b"--b\r\nContent-Type: text/plain\r\n\r\nsee the picture\r\n"
    b"--b\r\nContent-Type: image/jpeg\r\nContent-Transfer-Encoding: binary\r\n\r\n" + JPEG + b"\r\n"
    b"--b\r\nContent-Type: application/octet-stream\r\n\r\nunlabelled\x00nul\r\n"
    b"--b--\r\n"
)


def test_stored_form_base64_encodes_a_binary_part_holding_nul():
    stored = stored_form(BINARY_FT)
    part = binary_section(stored, (2,))
    assert part == BinarySection(JPEG, True)
    assert b"Content-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\n\r\n" in stored
    assert max(len(line) for line in stored.split(b"\r\n")) <= 76  # RFC 2045 §6.8
    # The unlabelled part keeps its NUL: only a part labelled binary is re-encoded.
    assert b"unlabelled\x00nul" in stored
    assert binary_section(stored, ()).data == BINARY_FT


def test_stored_form_leaves_a_message_without_nul_alone():
    message = b"Content-Transfer-Encoding: binary\r\n\r\n\xff\xfe\nbare\r\n"
    assert stored_form(message) is message


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=300))
def test_stored_form_gives_binary_back_the_sent_octets(payload):
    body = payload + b"\x00"
    message = (b"Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: image/png\r\n"
               b"Content-Transfer-Encoding: binary\r\n\r\n" + body + b"\r\n--zz--\r\n")
    assume(b"--zz" not in body)  # a delimiter in the payload would end the part itself
    stored = stored_form(message)
    assert b"\x00" not in stored
    assert binary_section(stored, (1,)).data == body
