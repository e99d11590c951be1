"""Sort values from a cached header block: RFC 5256 §3 (FROM TO CC, SUBJECT,
REFERENCES step 1's message IDs), RFC 5957 §3 (display values) and the
I18NLEVEL=1 collation (RFC 5051) they are compared with."""

import pytest

from cpmstore.mime.sortkeys import (
    address_key, casemap, display_key, first_values, message_ids, subject_key, thread_ids,
)

HEADER = (b"From: Alice Example <alice@example.com>, bob@example.com\r\n"
          b"To: undisclosed-recipients:;\r\n"
          b"Subject: Re: =?UTF-8?Q?Caf=C3=A9?=\r\n"
          b"\ttime\r\n"
          b"subject: second one is ignored\r\n"
          b"\r\n")


def test_rfc5256_3_first_values_unfolded():
    values = first_values(HEADER, frozenset({b"from", b"subject", b"cc"}))
    assert values == {b"from": b"Alice Example <alice@example.com>, bob@example.com",
                      b"subject": b"Re: =?UTF-8?Q?Caf=C3=A9?=\ttime"}


@pytest.mark.parametrize("raw, key", [
    (b"Alice Example <alice@example.com>, bob@example.com", "ALICE"),
    (b"bob@example.com", "BOB"),
    (b"\"Zed\" <ZED@example.com>", "ZED"),
    (b"tel:+33612345678", "TEL:+33612345678"),
    (b"team: a@example.com;", "TEAM"),  # the group's name is the first addr-mailbox
    (b"", ""),
    (None, ""),
])
def test_rfc5256_3_address_key_is_first_addr_mailbox(raw, key):
    assert address_key(raw) == key


@pytest.mark.parametrize("raw, key", [
    (b"Alice Example <alice@example.com>", "ALICE EXAMPLE"),
    (b"=?UTF-8?Q?=C3=89mile?= <emile@example.com>", casemap("Émile")),
    (b"\"\" <empty@example.com>", "EMPTY@EXAMPLE.COM"),
    (b"bob@example.com", "BOB@EXAMPLE.COM"),
    (b"tel:+33612345678", "TEL:+33612345678"),
    (None, ""),
])
def test_rfc5957_3_display_key(raw, key):
    assert display_key(raw) == key


def test_rfc5256_2_1_subject_key_decodes_and_folds():
    key = subject_key(b"Re: [list] =?UTF-8?Q?caf=C3=A9?=  time (fwd)")
    assert key.text == casemap("café time") and key.reply_or_forward
    assert subject_key(None).text == ""


@pytest.mark.parametrize("text, key", [
    ("abc", "ABC"),
    ("ABC", "ABC"),
    ("été", "E\u0301TE\u0301"),  # titlecase, then canonical decomposition (RFC 5051 §2)
    ("Straße", "STRAßE"),  # simple titlecase keeps ß one character
    ("ＦＵＬＬ ｗｉｄｔｈ", "FULL WIDTH"),  # titlecase, then compatibility decomposition (NFKD)
    ("\u212a", "K"),  # KELVIN SIGN decomposes to K
    ("ﬁne", "fiNE"),  # decomposition comes after titlecase: Dovecot's "FINE" does not match either
    ("ǆemal", "Dz\u030cEMAL"),  # titlecase ǅ, then D, z, COMBINING CARON
    ("σίσυφος ς", "ΣΙ\u0301ΣΥΦΟΣ Σ"),
    ("привет", "ПРИВЕТ"),
])
def test_rfc5051_unicode_casemap(text, key):
    assert casemap(text) == key


def test_rfc5051_accented_letters_sort_with_their_base_letter():
    assert sorted(["f", "é", "e", "z"], key=casemap) == ["e", "é", "f", "z"]


@pytest.mark.parametrize("raw, ids", [
    (b"<a@example.com>", ["a@example.com"]),
    (b"<a@example.com> <b@example.com>\r\n <c@example.com>", ["a@example.com", "b@example.com", "c@example.com"]),
    (b"<a@example.com> (a comment) <no-at-sign> <b @ example.com>", ["a@example.com", "b@example.com"]),
    (b"no-angle-brackets@example.com", []),
    (None, []),
])
def test_rfc5256_3_message_ids(raw, ids):
    assert message_ids(raw) == ids


@pytest.mark.parametrize("values, expected", [
    ({b"message-id": b"<m@x>", b"references": b"<a@x> <b@x>", b"in-reply-to": b"<c@x>"},
     ("m@x", ("a@x", "b@x"))),
    ({b"in-reply-to": b"<c@x> <d@x>"}, (None, ("c@x",))),
    ({b"references": b"<bad>", b"in-reply-to": b"<c@x>"}, (None, ("c@x",))),
    ({b"message-id": b"<m1@x> <m2@x>"}, ("m1@x", ())),
])
def test_rfc5256_3_references_step_1_ids(values, expected):
    """References, or when it has no valid ID the first valid In-Reply-To ID."""
    assert thread_ids(values) == expected
