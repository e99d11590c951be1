"""IMAP URL parsing (RFC 5092), tables from its examples and from RFC 4469's."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cpmstore.imap.imapurl import BadUrl, ImapUrl, parse_imap_url


@pytest.mark.parametrize(("text", "expected"), [
    ("imap://minbari.example.org/gray-council;UIDVALIDITY=385759045/;UID=20/;PARTIAL=0.1024",
     ImapUrl(host="minbari.example.org", mailbox="gray-council", uid_validity=385759045, uid=20,
             partial=(0, 1024))),
    ("imap://psicorp.example.org/~peter/%E6%97%A5%E6%9C%AC%E8%AA%9E/%E5%8F%B0%E5%8C%97",
     ImapUrl(host="psicorp.example.org", mailbox="~peter/日本語/台北")),
    ("imap://;AUTH=GSSAPI@minbari.example.org/gray-council/;uid=20/;section=1.2",
     ImapUrl(host="minbari.example.org", auth="GSSAPI", mailbox="gray-council", uid=20, section="1.2")),
    ("imap://;AUTH=*@minbari.example.org/gray%20council?SUBJECT%20shadows",
     ImapUrl(host="minbari.example.org", auth="*", mailbox="gray council", search="SUBJECT shadows")),
    ("imap://john;AUTH=*@minbari.example.org/babylon5/personel?charset%20UTF-8%20SUBJECT%20%7B14+%7D%0D%0A"
     "%D0%98%D0%B2%D0%B0%D0%BD%D0%BE%D0%B2%D0%B0",
     ImapUrl(host="minbari.example.org", user="john", auth="*", mailbox="babylon5/personel",
             search="charset UTF-8 SUBJECT {14+}\r\nИванова")),
    ("imap://michael@minbari.example.org/users.*",
     ImapUrl(host="minbari.example.org", user="michael", mailbox="users.*")),
    ("imap://minbari.example.org:1143/INBOX/;UID=7/;PARTIAL=100",
     ImapUrl(host="minbari.example.org", port=1143, mailbox="INBOX", uid=7, partial=(100, None))),
    ("imap://minbari.example.org/", ImapUrl(host="minbari.example.org")),
])
def test_rfc5092_2_absolute_urls(text, expected):
    assert parse_imap_url(text) == expected


def test_rfc5092_3_2_urlauth_fields_and_rump():
    text = "imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred:internal:91354a473744909de610943775f92038"
    url = parse_imap_url(text)
    assert (url.mailbox, url.uid, url.section) == ("INBOX", 20, "1.2")
    assert (url.access, url.mechanism, url.token) == ("submit+fred", "internal", "91354a473744909de610943775f92038")
    assert url.rump == "imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred"
    rump = parse_imap_url(url.rump)
    assert (rump.access, rump.mechanism, rump.token, rump.rump) == ("submit+fred", None, None, url.rump)


@pytest.mark.parametrize(("text", "mailbox", "uid_validity", "uid", "section"), [
    ("/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER", "Drafts", 385759045, 20, "HEADER"),
    ("/Drafts;UIDVALIDITY=385759045/;UID=20/;section=1.MIME", "Drafts", 385759045, 20, "1.MIME"),
    ("/Drafts;UIDVALIDITY=385759045/;UID=30", "Drafts", 385759045, 30, None),
    ("/INBOX;UIDVALIDITY=785799047/;UID=113330/;section=1.5.9", "INBOX", 785799047, 113330, "1.5.9"),
    ("/Drafts;UIDVALIDITY=385759045/;UID=20/;Section=2.MIME", "Drafts", 385759045, 20, "2.MIME"),
    ("/a/b%20c/;UID=1/;SECTION=4.HEADER.FIELDS%20(SUBJECT)", "a/b c", None, 1, "4.HEADER.FIELDS (SUBJECT)"),
])
def test_rfc4469_appendix_a_relative_urls(text, mailbox, uid_validity, uid, section):
    url = parse_imap_url(text, ImapUrl(host="server", user="user"))
    assert (url.host, url.user) == ("server", "user")  # from the base (RFC 4469 §3)
    assert (url.mailbox, url.uid_validity, url.uid, url.section) == (mailbox, uid_validity, uid, section)
    assert url.is_message


BASE = ImapUrl(host="server", user="user", mailbox="Drafts", uid_validity=9, uid=5, section="2")


@pytest.mark.parametrize(("text", "expected"), [
    (";UID=20", ImapUrl(host="server", user="user", mailbox="Drafts", uid_validity=9, uid=20)),
    (";UID=20/;SECTION=1", ImapUrl(host="server", user="user", mailbox="Drafts", uid_validity=9, uid=20, section="1")),
    (";SECTION=3", ImapUrl(host="server", user="user", mailbox="Drafts", uid_validity=9, uid=5, section="3")),
    (";PARTIAL=1.2", ImapUrl(host="server", user="user", mailbox="Drafts", uid_validity=9, uid=5, section="2",
                             partial=(1, 2))),
    # The selected mailbox acts as a directory, as in Dovecot.
    ("Sent;UIDVALIDITY=3/;UID=2", ImapUrl(host="server", user="user", mailbox="Drafts/Sent", uid_validity=3, uid=2)),
    ("//other@host2/INBOX/;UID=1", ImapUrl(host="host2", user="other", mailbox="INBOX", uid=1)),
])
def test_rfc5092_7_1_relative_resolution(text, expected):
    assert parse_imap_url(text, BASE) == expected


@pytest.mark.parametrize("text", [
    "/;UID=1",  # no mailbox
    "/INBOX;UIDVALIDITY=0/;UID=1",  # nz-number
    "/INBOX/;UID=0",
    "/INBOX/;UID=99999999999",
    "/INBOX/;UID=1/;PARTIAL=0.0",  # length is nz-number
    "/INBOX/;SECTION=1",  # a section needs a UID
    "/INBOX/;UID=1/;FOO=1",
    "/a b/;UID=1",  # unencoded space
    "/INBOX/;UID=1/;SECTION=%FF",  # not UTF-8
    "/%E6%97/;UID=1",
    "/INBOX/;UID=1;URLAUTH=anonymous",  # URLAUTH needs an absolute URL (RFC 4467 §3)
    "imap://joe@example.com/INBOX/;UID=1;URLAUTH=nobody",
    "imap://:143/INBOX",
    "imap://host:99999/INBOX",
    ";SECTION=1",  # no base message
])
def test_rfc5092_11_invalid(text):
    with pytest.raises(BadUrl):
        parse_imap_url(text, ImapUrl(host="server", mailbox="Drafts"))


def test_rfc5092_7_1_mailbox_relative_needs_a_base_mailbox():
    with pytest.raises(BadUrl):
        parse_imap_url(";UID=1/;SECTION=1", ImapUrl(host="server", user="user"))


@settings(max_examples=200)
@given(st.text(max_size=60))
def test_rfc5092_11_any_text_parses_or_is_bad_url(text):
    try:
        parse_imap_url(text, BASE)
    except BadUrl:
        pass
