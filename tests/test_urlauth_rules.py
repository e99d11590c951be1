"""The pure URLAUTH rules (cpmstore.auth.urlauth), the URLAUTH command syntax
(RFC 4467 §9, RFC 5524 §3) and what a URL names in a message
(cpmstore.commands.urlauth: URLFETCH data, BINARY, BODYPARTSTRUCTURE, PARTIAL)."""

from __future__ import annotations

import base64
from datetime import datetime, timezone

import pytest

from cpmstore.auth.urlauth import (
    KEY_BYTES, UrlAuthError, access_allows, authorize, check_full, check_rump, expired, new_key, parse_expire,
    token, token_matches,
)
from cpmstore.commands.urlauth import part_structure, section_bytes, url_data
from cpmstore.imap.commands import GenUrlAuth, ResetKey, UrlFetch, UrlFetchArg
from cpmstore.imap.fetchatt import Section
from cpmstore.imap.imapurl import parse_imap_url
from cpmstore.imap.parser import ParseError, parse_command
from cpmstore.imap.response import encode_value

NOW = datetime(2006, 5, 30, 12, 0, 0, tzinfo=timezone.utc)
RUMP = "imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred"


# -- the INTERNAL mechanism ------------------------------------------------------------
def test_rfc4467_7_internal_token_is_hmac_sha1_rfc2202_case_2():
    assert token(b"Jefe", "what do ya want for nothing?") == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"


def test_rfc4467_7_keys_are_random_and_at_least_128_bits():
    keys = {new_key() for _ in range(4)}
    assert len(keys) == 4 and all(len(k) == KEY_BYTES >= 16 for k in keys)


def test_rfc4467_3_authorized_url_verifies_only_with_its_key_and_rump():
    key = b"k" * KEY_BYTES
    full = authorize(RUMP, key)
    assert full == f"{RUMP}:internal:{token(key, RUMP)}"
    url = parse_imap_url(full)
    assert url.rump == RUMP and token_matches(key, url)
    assert not token_matches(b"x" * KEY_BYTES, url)
    # Mechanism and hex digits are case-insensitive; the rump is signed as written.
    assert token_matches(key, parse_imap_url(f"{RUMP}:INTERNAL:{token(key, RUMP).upper()}"))
    assert not token_matches(key, parse_imap_url(full.replace("joe@", "JOE@")))
    assert not token_matches(key, parse_imap_url(full.replace("uid=20", "uid=21")))
    assert not token_matches(key, parse_imap_url(f"{RUMP}:xsample:{token(key, RUMP)}"))


# -- EXPIRE (RFC 5092 §3.2: an RFC 3339 date-time) ------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("2006-05-30T12:00:00Z", NOW),
    ("2006-05-30t12:00:00z", NOW),
    ("2006-05-30T14:00:00+02:00", NOW),
    ("2006-05-30T07:30:00-04:30", NOW),
    ("2006-05-30T11:59:59.5Z", datetime(2006, 5, 30, 11, 59, 59, 500000, tzinfo=timezone.utc)),
])
def test_rfc5092_3_2_expire_date_time(text, expected):
    assert parse_expire(text) == expected


@pytest.mark.parametrize("text", ["2006-05-30", "2006-05-30T12:00:00", "2006-13-30T12:00:00Z", "yesterday"])
def test_rfc5092_3_2_invalid_expire(text):
    with pytest.raises(UrlAuthError):
        parse_expire(text)


def test_rfc4467_3_expiry_is_inclusive():
    url = parse_imap_url("imap://joe@example.com/INBOX/;uid=20;expire=2006-05-30T12:00:00Z;urlauth=anonymous")
    assert expired(url, NOW) and not expired(url, datetime(2006, 5, 30, 11, 59, 59, tzinfo=timezone.utc))
    assert not expired(parse_imap_url("imap://joe@example.com/INBOX/;uid=20;urlauth=anonymous"), NOW)


# -- what GENURLAUTH and URLFETCH accept ------------------------------------------------------
@pytest.mark.parametrize("rump, reason", [
    (RUMP, None),
    ("imap://joe@example.com/INBOX/;uid=20;urlauth=anonymous", None),
    ("imap://joe@example.com/INBOX/;uid=20", "Must be an URLAUTH rump URL"),
    ("imap://joe@example.com/INBOX/;uid=20;urlauth=anonymous:internal:91354a473744909de610943775f92038",
     "Must be an URLAUTH rump URL"),
    ("imap://fred@example.com/INBOX/;uid=20;urlauth=anonymous", "Not permitted to generate URLAUTH for user fred"),
    ("imap://example.com/INBOX/;uid=20;urlauth=anonymous", "Not permitted to generate URLAUTH for user None"),
    ("imap://joe@example.com/INBOX/;uid=20;expire=2006-05-30T11:00:00Z;urlauth=anonymous", "already expired"),
])
def test_rfc4467_7_genurlauth_rump(rump, reason):
    url = parse_imap_url(rump)
    if reason is None:
        check_rump(url, "joe", NOW)
    else:
        with pytest.raises(UrlAuthError, match=reason):
            check_rump(url, "joe", NOW)


@pytest.mark.parametrize("text, reason", [
    ("imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=anonymous:internal:91354a473744909de610943775f92038",
     None),
    ("imap://joe@example.com/INBOX/;uid=20;urlauth=anonymous", "Must be a full URLAUTH URL"),
    ("imap://example.com/INBOX/;uid=20;urlauth=anonymous:internal:91354a473744909de610943775f92038",
     "Must be a full URLAUTH URL"),
    ("imap://joe@example.com/INBOX/;uid=20;urlauth=anonymous:xsample:91354a473744909de610943775f92038",
     "Unsupported URLAUTH mechanism: xsample"),
    ("imap://joe@example.com/INBOX/;uid=20;expire=2006-05-30T11:00:00Z;urlauth=anonymous:internal:"
     "91354a473744909de610943775f92038", "has expired"),
])
def test_rfc4467_7_urlfetch_full_url(text, reason):
    url = parse_imap_url(text)
    if reason is None:
        check_full(url, NOW)
    else:
        with pytest.raises(UrlAuthError, match=reason):
            check_full(url, NOW)


@pytest.mark.parametrize("access, user, allowed", [
    ("anonymous", None, True),
    ("anonymous", "bob", True),
    ("authuser", None, False),
    ("authuser", "bob", True),
    ("user+fred", "fred", True),
    ("user+fred", "bob", False),
    ("USER+fred", "fred", True),
    ("user+fred", None, False),
    ("submit+fred", "fred", False),
    ("submit+fred", "mta", True),
])
def test_rfc4467_3_access_identifiers(access, user, allowed):
    assert access_allows(access, user, submitters=frozenset({"mta"})) is allowed


# -- command syntax (RFC 4467 §9, RFC 5524 §3) -----------------------------------------
@pytest.mark.parametrize("line, command", [
    (b"a31 RESETKEY", ResetKey(b"a31", "RESETKEY")),
    (b"a32 RESETKEY INBOX", ResetKey(b"a32", "RESETKEY", "INBOX")),
    (b"a33 RESETKEY inbox XSAMPLE internal", ResetKey(b"a33", "RESETKEY", "INBOX", ("XSAMPLE", "INTERNAL"))),
    (b'a775 GENURLAUTH "' + RUMP.encode() + b'" INTERNAL',
     GenUrlAuth(b"a775", "GENURLAUTH", ((RUMP.encode(), "INTERNAL"),))),
    (b"a1 GENURLAUTH x internal y XSAMPLE", GenUrlAuth(b"a1", "GENURLAUTH", ((b"x", "INTERNAL"), (b"y", "XSAMPLE")))),
    (b'a776 URLFETCH "imap://joe@example.com/INBOX/;uid=20"',
     UrlFetch(b"a776", "URLFETCH", (UrlFetchArg(b"imap://joe@example.com/INBOX/;uid=20"),))),
    (b'a2 URLFETCH ("u" BODYPARTSTRUCTURE BINARY) (v) w',
     UrlFetch(b"a2", "URLFETCH", (UrlFetchArg(b"u", ("BODYPARTSTRUCTURE", "BINARY")), UrlFetchArg(b"v", ("BODY",)),
                                  UrlFetchArg(b"w")))),
])
def test_rfc4467_9_and_rfc5524_3_command_syntax(line, command):
    assert parse_command(line) == command


@pytest.mark.parametrize("line", [
    b"a1 GENURLAUTH", b"a1 GENURLAUTH url", b"a1 GENURLAUTH url INTERNAL url", b"a1 URLFETCH",
    b"a1 URLFETCH (u BODY BINARY)", b"a1 URLFETCH (u ENVELOPE)", b"a1 URLFETCH (u", b"a1 RESETKEY INBOX X!",
])
def test_rfc4467_9_bad_syntax(line):
    with pytest.raises(ParseError):
        parse_command(line)


# -- what a URL names ------------------------------------------------------------------
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) + b"\r\n\x00\xff\xd9"
MEDIA = (
    b"Subject: photo\r\nContent-Type: multipart/related; boundary=cpm\r\n\r\n"
    b"--cpm\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"caf=C3=A9 soft=\r\nbreak\r\n"
    b"--cpm\r\nContent-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    + base64.encodebytes(JPEG).replace(b"\n", b"\r\n")
    + b"--cpm\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"aGVsbG8=\r\n--cpm--\r\n")


def test_rfc5550_3_partial_of_whole_and_section():
    assert section_bytes(MEDIA, None, (0, 7), binary=False) == (b"Subject", False)
    assert section_bytes(MEDIA, Section((1,)), (4, None), binary=False) == (b"C3=A9 soft=\r\nbreak", False)
    assert section_bytes(MEDIA, Section((1,)), (400, 10), binary=False) == (b"", False)
    assert section_bytes(MEDIA, Section((9,)), None, binary=False) == (b"", False)


def test_rfc5524_3_binary_decodes_then_partial():
    assert section_bytes(MEDIA, Section((2,)), None, binary=True) == (JPEG, True)
    assert section_bytes(MEDIA, Section((2,)), (4, 10), binary=True) == (JPEG[4:14], True)
    assert section_bytes(MEDIA, Section((1,)), None, binary=True) == (b"caf\xc3\xa9 softbreak", True)
    assert section_bytes(MEDIA, Section((3,), "TEXT"), None, binary=True) == (b"hello", True)
    # Header sections are not encoded: sent as stored.
    assert section_bytes(MEDIA, Section((2,), "MIME"), None, binary=True) == (
        b"Content-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\n\r\n", False)


def test_rfc5524_3_bodypartstructure_sizes_follow_binary():
    stored = encode_value(part_structure(MEDIA, Section((1,)), binary=False))
    decoded = encode_value(part_structure(MEDIA, Section((1,)), binary=True))
    assert stored == b'("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 22 1 NIL NIL NIL NIL)'
    assert decoded == b'("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 15 0 NIL NIL NIL NIL)'
    inner = encode_value(part_structure(MEDIA, Section((3,)), binary=True))
    assert inner.startswith(b'("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 58 (')
    assert b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "BASE64" 5 0 NIL NIL NIL NIL) 3 ' in inner
    whole = encode_value(part_structure(MEDIA, None, binary=True))
    assert b'"BASE64" %d NIL' % len(JPEG) in whole and b'"RELATED"' in whole
    assert encode_value(part_structure(MEDIA, Section((3,), "TEXT"), binary=False)) == \
        b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "BASE64" 8 0 NIL NIL NIL NIL)'
    assert part_structure(MEDIA, Section((9,)), binary=False) is None


def test_rfc5524_3_url_data_forms():
    assert url_data(MEDIA, Section((3,), "TEXT"), None, None) == b"{8}\r\naGVsbG8="
    assert url_data(MEDIA, Section((3,), "TEXT"), None, ("BINARY",)) == b"(BINARY ~{5}\r\nhello)"
    assert url_data(MEDIA, Section((3,), "TEXT"), (1, 2), ("BODY",)) == b"(BODY {2}\r\nGV)"
    with pytest.raises(UrlAuthError, match="part not found"):
        url_data(MEDIA, Section((9,)), None, ("BODYPARTSTRUCTURE", "BODY"))
