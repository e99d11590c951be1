"""searchable_text and search_keys (RFC 3501 §6.4.4 BODY, TEXT), header_values and the CPM fields."""

import base64
import binascii

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cpmstore.cpm.fields import INDEXED_FIELDS, extract_fields
from cpmstore.mime.headers import decode_words, header_values
from cpmstore.mime.sections import fetch_section
from cpmstore.mime.sortkeys import casemap
from cpmstore.mime.parse import parse_message
from cpmstore.mime.text import search_keys, searchable_text


def test_rfc2045_6_8_base64_and_6_7_quoted_printable_parts_are_decoded():
    message = (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"Q2Fmw6kgY3LDqG1l\r\n"
        b"--b\r\nContent-Type: text/html; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"<p>d=E9j=\r\n=E0 vu</p>\r\n"
        b"--b\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n"
        b"--b--\r\n"
    )
    assert searchable_text(message) == "Café crème\n<p>déjà vu</p>"


def test_cpim_inner_text_and_embedded_message():
    message = (
        b"Content-Type: multipart/related; boundary=cpm\r\n\r\n"
        b"--cpm\r\nContent-Type: message/cpim\r\n\r\n"
        b"From: <sip:a@b>\r\nNS: imdn <urn:ietf:params:imdn>\r\n\r\n"
        b"Content-type: text/plain;charset=utf-8\r\n\r\nBonjour \xc3\xa0 tous\r\n"
        b"--cpm\r\nContent-Type: message/cpim\r\n\r\nFrom: <sip:a@b>\r\n\r\n"
        b"Content-type: message/imdn+xml\r\n\r\n<imdn/>\r\n"
        b"--cpm\r\nContent-Type: message/rfc822\r\n\r\nSubject: s\r\n\r\nforwarded\r\n"
        b"--cpm--\r\n"
    )
    assert searchable_text(message) == "Bonjour à tous\nforwarded"


def test_bad_charset_and_bad_base64_do_not_raise():
    message = (
        b"Content-Type: text/plain; charset=x-unknown\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"!!w6k=*\r\nQQ"
    )
    assert searchable_text(message) == "é"


def test_8bit_text_without_charset_reads_as_utf8():
    assert searchable_text(b"Subject: x\r\n\r\nd\xc3\xa9j\xe0") == "déj\ufffd"


HEADER = (
    b"From: =?iso-8859-1?q?Andr=E9?= <andre@example.com>\r\n"
    b"Subject: =?utf-8?b?Q2Fmw6k=?=\r\n =?utf-8?q?_cr=C3=A8me?= and more\r\n"
    b"X-Dup: one\r\n"
    b"x-dup: two\r\n"
    b"\r\n"
    b"X-Dup: not a header\r\n"
)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("Subject", ["Café crème and more"]),
        ("from", ["André <andre@example.com>"]),
        ("X-DUP", ["one", "two"]),
        ("Missing", []),
    ],
)
def test_rfc2047_header_values_unfolded_and_decoded(name, expected):
    assert header_values(HEADER, name) == expected


def test_cpm_fields_unfolded_unquoted_first_wins():
    header = (
        b"Conversation-ID: conv\r\n"
        b"contribution-id:\r\n  contrib\r\n"
        b"InReplyTo-Contribution-ID: prev\r\n"
        b'Message-Context: "pager-message"\r\n'
        b"Message-Correlator: =?utf-8?b?U2FsdXQgw6A=?=\r\n"
        b"IMDN-Message-ID: first\r\n"
        b"IMDN-Message-ID: second\r\n"
        b"Message-Direction: sent\r\n"
        b"Subject: ignored\r\n"
        b"\r\n"
    )
    assert extract_fields(header) == {
        "conversation-id": "conv",
        "contribution-id": "contrib",
        "inreplyto-contribution-id": "prev",
        "message-context": "pager-message",
        "message-correlator": "Salut à",
        "imdn-message-id": "first",
        "message-direction": "sent",
    }
    assert set(extract_fields(header)) == set(INDEXED_FIELDS)


def test_cpm_fields_absent():
    assert extract_fields(b"Subject: plain e-mail\r\n\r\n") == {}


# -- search_keys: what SEARCH TEXT and BODY compare, and the text index keeps ----
# Letters whose casemap key differs from their octets: accents (NFKD splits
# them), a ligature, fullwidth, sharp s, Greek, and an emoji.
_WORDS = st.text(alphabet="abcXYZ éÉàﬁＡßΣς👍", min_size=1, max_size=12)


@st.composite
def _messages(draw):
    subject, words = draw(_WORDS), draw(_WORDS)
    charset = draw(st.sampled_from(["utf-8", "iso-8859-1", None]))
    encoding = draw(st.sampled_from(["8bit", "base64", "quoted-printable"]))
    codec = "latin-1" if charset == "iso-8859-1" else "utf-8"
    payload = words.encode(codec, "replace")
    if encoding == "base64":
        payload = base64.b64encode(payload)
    elif encoding == "quoted-printable":
        payload = binascii.b2a_qp(payload)
    content_type = b"text/plain" + (b"; charset=" + charset.encode() if charset else b"")
    part = (b"Content-Type: " + content_type + b"\r\nContent-Transfer-Encoding: " + encoding.encode()
            + b"\r\n\r\n" + payload + b"\r\n")
    if draw(st.booleans()):  # a CPM chat object: the part inside message/cpim
        part = (b"Content-Type: message/cpim\r\n\r\nFrom: <sip:a@b>\r\nNS: imdn <urn:ietf:params:imdn>\r\n\r\n"
                + part)
    header = b"Subject: " + (subject.encode("utf-8") if draw(st.booleans())
                             else b"=?utf-8?b?" + base64.b64encode(subject.encode()) + b"?=")
    return header + b"\r\nMIME-Version: 1.0\r\n" + part


@settings(max_examples=300, deadline=None)
@given(_messages())
def test_search_keys_are_the_casemapped_header_and_text_parts(message):
    # RFC 3501 §6.4.4: TEXT looks in the header and the body; BODY in the body.
    # The keys the index keeps at APPEND (from the parse APPEND made) must be
    # the ones a search computes from the file.
    header, body = search_keys(message)
    assert header == casemap(decode_words(fetch_section(message, (), "HEADER") or b""))
    assert body == casemap(searchable_text(message))
    assert search_keys(message, parse_message(message)) == (header, body)


def test_search_keys_decode_encoded_words_transfer_encodings_and_charsets():
    message = (b"Subject: =?utf-8?q?d=C3=A9j=C3=A0?=\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: base64\r\n\r\n"
               + base64.b64encode("Café crème".encode("latin-1")) + b"\r\n")
    header, body = search_keys(message)
    assert casemap("déjà") in header and "MIME-VERSION: 1.0" in header
    assert body == casemap("Café crème")
    assert casemap("café") in body and casemap("déjà") not in body
