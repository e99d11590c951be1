"""ENVELOPE, RFC 3501 §7.4.2, and RFC 5322 §3.4 address lists."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cpmstore.mime.analysis import analyze
from cpmstore.mime.envelope import parse_address_list

RFC3501_HEADER = (
    b"Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n"
    b"From: Terry Gray <gray@cac.washington.edu>\r\n"
    b"Subject: IMAP4rev1 WG mtg summary and minutes\r\n"
    b"To: imap@cac.washington.edu\r\n"
    b"cc: minutes@CNRI.Reston.VA.US,\r\n"
    b"   John Klensin <KLENSIN@MIT.EDU>\r\n"
    b"Message-Id: <B27397-0100000@cac.washington.edu>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
    b"\r\n"
    b"body\r\n"
)


def test_rfc3501_7_4_2_envelope_example():
    assert analyze(RFC3501_HEADER).envelope == (
        b'("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" '
        b'(("Terry Gray" NIL "gray" "cac.washington.edu")) '
        b'(("Terry Gray" NIL "gray" "cac.washington.edu")) '
        b'(("Terry Gray" NIL "gray" "cac.washington.edu")) '
        b'((NIL NIL "imap" "cac.washington.edu")) '
        b'((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) '
        b'NIL NIL "<B27397-0100000@cac.washington.edu>")'
    )


def test_rfc3501_7_4_2_envelope_all_nil_without_header():
    assert analyze(b"\r\nbody").envelope == b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"


def test_rfc3501_7_4_2_sender_and_reply_to_kept_when_present():
    message = (
        b"From: a@example.com\r\nSender: s@example.com\r\nReply-To:\r\n"
        b"In-Reply-To: <1@x>\r\nBcc: b@example.com\r\n\r\n"
    )
    assert analyze(message).envelope == (
        b'(NIL NIL ((NIL NIL "a" "example.com")) ((NIL NIL "s" "example.com")) '
        b'((NIL NIL "a" "example.com")) NIL NIL ((NIL NIL "b" "example.com")) "<1@x>" NIL)'
    )


def test_rfc3501_7_4_2_encoded_words_stay_raw_and_8bit_goes_as_literal():
    message = b"Subject: =?utf-8?q?caf=C3=A9?=\r\nFrom: =?utf-8?b?w6k=?= <e@x.org>\r\nTo: \xc3\xa9 <f@x.org>\r\n\r\n"
    envelope = analyze(message).envelope
    assert b'"=?utf-8?q?caf=C3=A9?="' in envelope
    assert b'(("=?utf-8?b?w6k=?=" NIL "e" "x.org"))' in envelope
    assert b'(({2}\r\n\xc3\xa9 NIL "f" "x.org"))' in envelope


ADDRESS_TABLE = [
    # RFC 5322 §A.1.2: groups, quoted names, comments
    (b'"Joe Q. Public" <john.q.public@example.com>', [(b"Joe Q. Public", None, b"john.q.public", b"example.com")]),
    (
        b"A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
        [
            (None, None, b"A Group", None),
            (b"Ed Jones", None, b"c", b"a.test"),
            (None, None, b"joe", b"where.test"),
            (b"John", None, b"jdoe", b"one.test"),
            (None, None, None, None),
        ],
    ),
    (b"Undisclosed recipients:;", [(None, None, b"Undisclosed recipients", None), (None, None, None, None)]),
    (b"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", [(b"Pete", None, b"pete", b"silly.test")]),
    (b"gray@cac.washington.edu (Terry Gray)", [(b"Terry Gray", None, b"gray", b"cac.washington.edu")]),
    (b"<@route1,@route2:joe@example.com>", [(None, b"@route1,@route2", b"joe", b"example.com")]),
    (b'"joe smith"@example.com', [(None, None, b'"joe smith"', b"example.com")]),
    # what CPM clients write
    (b"tel:+33612345678", [(None, None, b"tel:+33612345678", b"")]),
    (b"sip:user@example.com", [(None, None, b"sip:user", b"example.com")]),
    (b"<sip:anonymous@anonymous.invalid>", [(None, None, b"sip:anonymous", b"anonymous.invalid")]),
    (b'"Alice" <tel:+33612345678>', [(b"Alice", None, b"tel:+33612345678", b"")]),
    (b"+33612345678", [(None, None, b"+33612345678", b"")]),
    (b"tel:+331, tel:+332", [(None, None, b"tel:+331", b""), (None, None, b"tel:+332", b"")]),
    # broken input still yields something
    (b'"unterminated <a@b>', [(None, None, b'"unterminated <a@b>"', b"")]),
    (b",,", []),
]


@pytest.mark.parametrize("raw, expected", ADDRESS_TABLE)
def test_rfc5322_3_4_address_lists(raw, expected):
    assert parse_address_list(raw) == expected


def test_rfc5322_3_4_stray_close_paren_is_skipped():
    assert parse_address_list(b"a) <b@c>") == [(b"a", None, b"b", b"c")]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='<>@,;:."()\\ \t[]ab=?', max_size=40))
def test_rfc5322_3_4_address_parser_terminates_on_any_input(text):
    for address in parse_address_list(text.encode()):
        assert len(address) == 4
