"""ANNOTATE-EXPERIMENT-1 syntax (RFC 5257 §4.3, §4.5, §4.7, §5) in FETCH, STORE and APPEND."""

import pytest
from hypothesis import given, settings, strategies as st

from cpmstore.imap.commands import Append, AppendMessage, Fetch, Store
from cpmstore.imap.fetchatt import AnnotationRequest, FetchAtt, parse_fetch_atts, response_name
from cpmstore.imap.parser import ParseError, parse_command
from cpmstore.imap.seqset import parse_sequence_set


def bad(line: bytes, message: str) -> None:
    """``line`` is a tagged BAD whose text contains ``message``."""
    with pytest.raises(ParseError) as caught:
        parse_command(line)
    assert caught.value.tag == line.split(b" ", 1)[0]
    assert message in caught.value.text


def annotation(entries, attribs) -> FetchAtt:
    return FetchAtt("ANNOTATION", annotation=AnnotationRequest(entries, attribs))


BOTH_VALUES = ("value.priv", "value.shared")


# -- FETCH -----------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    # §4.3
    (b"(ANNOTATION (/comment value))", (annotation(("/comment",), BOTH_VALUES),)),
    (b"(UID ANNOTATION (/* (value.priv size.priv)))",
     (FetchAtt("UID"), annotation(("/*",), ("value.priv", "size.priv")))),
    (b"(ANNOTATION (/% value.shared))", (annotation(("/%",), ("value.shared",)),)),
    (b"(ANNOTATION ((/comment /altsubject) value.priv))",
     (annotation(("/comment", "/altsubject"), ("value.priv",)),)),
    # §4.4
    (b"(ANNOTATION ((/comment /altsubject) value))",
     (annotation(("/comment", "/altsubject"), BOTH_VALUES),)),
    (b"(ANNOTATION (/comment (value size)))",
     (annotation(("/comment",), BOTH_VALUES + ("size.priv", "size.shared")),)),
])
def test_rfc5257_4_3_fetch_annotation(text, expected):
    assert parse_fetch_atts(text) == expected


@pytest.mark.parametrize("text, entries, attribs", [
    # A bare fetch-att, without the outer list.
    (b"ANNOTATION (/comment value.shared)", ("/comment",), ("value.shared",)),
    # Attribute names are matched without regard to case; entries keep theirs (§3.2).
    (b"annotation (/Comment VALUE.Priv)", ("/Comment",), ("value.priv",)),
    # Repeats are dropped, and "value" next to "value.priv" adds only the other half.
    (b"ANNOTATION ((/comment /comment) (value.priv value size.shared size))",
     ("/comment",), ("value.priv", "value.shared", "size.shared", "size.priv")),
    # entry-match is a list-mailbox: quoted and literal forms, wildcards anywhere.
    (b'ANNOTATION ("/vendor/foobar/*" {9}\r\nsize.priv)', ("/vendor/foobar/*",), ("size.priv",)),
    (b'ANNOTATION ("/vendor/foo bar" "value")', ("/vendor/foo bar",), BOTH_VALUES),
    (b"ANNOTATION ((/1.2/flags/seen /*/comment /2%/comment) value)",
     ("/1.2/flags/seen", "/*/comment", "/2%/comment"), BOTH_VALUES),
    (b"ANNOTATION (/vendor/foobar/label.priv value)", ("/vendor/foobar/label.priv",), BOTH_VALUES),
])
def test_rfc5257_5_fetch_annotation_forms(text, entries, attribs):
    assert parse_fetch_atts(text) == (annotation(entries, attribs),)


def test_rfc5257_4_4_fetch_response_name():
    assert [response_name(a) for a in parse_fetch_atts(b"(UID ANNOTATION (/* value))")] == [
        b"UID", b"ANNOTATION"]


def test_rfc5257_4_3_uid_fetch_command():
    assert parse_command(b"a UID FETCH 1123 (UID ANNOTATION (/* (value.priv size.priv)))") == Fetch(
        b"a", "FETCH", uid=True, sequence_set=parse_sequence_set(b"1123"),
        items=(FetchAtt("UID"), annotation(("/*",), ("value.priv", "size.priv"))))


@pytest.mark.parametrize("text, message", [
    (b"ANNOTATION", "Missing argument"),
    (b"ANNOTATION /comment value", "Expected ("),
    (b"ANNOTATION (/comment)", "Expected space"),
    (b"ANNOTATION (/comment value", "Missing argument"),
    (b"ANNOTATION (/comment value UID", "Expected )"),
    (b"ANNOTATION (() value)", "Empty list"),
    (b"ANNOTATION (/comment ())", "Empty list"),
    (b"ANNOTATION (/comment value.priv value.shared)", "Expected )"),
    (b"ANNOTATION (/comment flags)", "Unknown annotation attribute flags"),
    (b"ANNOTATION (/comment value.other)", "Unknown annotation attribute value.other"),
    (b"ANNOTATION (/comment {10}\r\nsize.share)", "Unknown annotation attribute size.share"),
    (b"ANNOTATION (comment value)", "Entry name must begin with '/'"),
    (b"ANNOTATION (* value)", "Entry name must begin with '/'"),
    (b"ANNOTATION (/ value)", "Entry name can't end with '/'"),
    (b"ANNOTATION (/comment/ value)", "Entry name can't end with '/'"),
    (b"ANNOTATION (/vendor//x value)", "Entry name can't contain consecutive '/'"),
    (b"ANNOTATION (/0/comment value)", "Invalid section-part in entry name"),
    (b"ANNOTATION (/1./comment value)", "Invalid section-part in entry name"),
    (b"ANNOTATION (/1x/comment value)", "Invalid section-part in entry name"),
    (b'ANNOTATION ("/caf\xc3\xa9" value)', "only printable ASCII"),
    (b'ANNOTATION ({4}\r\n/a\x00b value)', "only printable ASCII"),
])
def test_rfc5257_5_invalid_fetch_annotation(text, message):
    with pytest.raises(ParseError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_fetch_atts(text)


# -- STORE -----------------------------------------------------------------------------
def store(annotations, uid=False, seq=b"1", modifiers=()) -> Store:
    return Store(b"a", "STORE", uid=uid, sequence_set=parse_sequence_set(seq), mode="annotation",
                 silent=True, modifiers=modifiers, annotations=annotations)


@pytest.mark.parametrize("line, annotations", [
    # §4.5
    (b'a STORE 1 ANNOTATION (/comment (value.priv "My new comment"))',
     (("/comment", (("value.priv", b"My new comment"),)),)),
    (b"a STORE 1 ANNOTATION (/comment (value.shared NIL))",
     (("/comment", (("value.shared", None),)),)),
    (b'a STORE 1 ANNOTATION (/comment (value.priv "Get tix Tuesday") /altsubject (value.priv "Wots On"))',
     (("/comment", (("value.priv", b"Get tix Tuesday"),)),
      ("/altsubject", (("value.priv", b"Wots On"),)))),
    (b'a STORE 1 ANNOTATION (/comment (value.priv "My new comment" value.shared "foo\'s bar"))',
     (("/comment", (("value.priv", b"My new comment"), ("value.shared", b"foo's bar"))),)),
])
def test_rfc5257_4_5_store_annotation(line, annotations):
    assert parse_command(line) == store(annotations)


@pytest.mark.parametrize("line, expected", [
    # UID STORE and the CONDSTORE modifier (RFC 7162 §3.1.3) in front of the item.
    (b'a UID STORE 4:7 (UNCHANGEDSINCE 12) ANNOTATION (/comment (value.shared ""))',
     store((("/comment", (("value.shared", b""),)),), uid=True, seq=b"4:7",
           modifiers=(("UNCHANGEDSINCE", b"12"),))),
    # Values are nstring or literal8 (binary, NUL allowed); attributes any case.
    (b"a STORE 2 annotation (/1.2/flags/seen (VALUE.PRIV {1+}\r\n1) /vendor/x (value.shared ~{3}\r\na\x00b))",
     store((("/1.2/flags/seen", (("value.priv", b"1"),)),
            ("/vendor/x", (("value.shared", b"a\x00b"),))), seq=b"2")),
    # Entry names are case-sensitive (§3.2): kept as sent.
    (b'a STORE 1 ANNOTATION ("/Vendor/Acme" (value.priv nil))',
     store((("/Vendor/Acme", (("value.priv", None),)),))),
])
def test_rfc5257_5_store_annotation_forms(line, expected):
    assert parse_command(line) == expected


def test_rfc3501_6_4_6_flag_store_has_no_annotations():
    command = parse_command(b"a STORE 1 +FLAGS (\\Seen)")
    assert (command.mode, command.annotations) == ("+", None)


@pytest.mark.parametrize("line, message", [
    (b"a STORE 1 ANNOTATION", "Missing argument"),
    (b"a STORE 1 ANNOTATION ()", "Empty list"),
    (b"a STORE 1 ANNOTATION (/comment ())", "Empty list"),
    (b"a STORE 1 ANNOTATION (/comment value.priv x)", "Expected ("),
    (b'a STORE 1 ANNOTATION (/comment (value.priv))', "Expected space"),
    (b'a STORE 1 ANNOTATION (/comment (value "x"))', "must be value.priv or value.shared"),
    (b'a STORE 1 ANNOTATION (/comment (size.priv "3"))', "size is read-only"),
    (b'a STORE 1 ANNOTATION (/comment (size "3"))', "size is read-only"),
    (b'a STORE 1 ANNOTATION (/comment (flags "3"))', "Unknown annotation attribute flags"),
    (b'a STORE 1 ANNOTATION (/comment (value.priv x))', "Expected string"),
    (b'a STORE 1 ANNOTATION (/* (value.priv "x"))', "Entry name can't contain '*'"),
    (b'a STORE 1 ANNOTATION (/comment% (value.priv "x"))', "Entry name can't contain '%'"),
    (b'a STORE 1 ANNOTATION ("/a*" (value.priv "x"))', "Entry name can't contain '*'"),
    (b'a STORE 1 ANNOTATION (comment (value.priv "x"))', "Entry name must begin with '/'"),
    (b'a STORE 1 ANNOTATION (/ (value.priv "x"))', "Entry name can't end with '/'"),
    (b'a STORE 1 ANNOTATION (/flags (value.priv "x"))', "/flags is reserved"),
    (b'a STORE 1 ANNOTATION (/flags/seen (value.priv "x"))', "/flags is reserved"),
    (b'a STORE 1 ANNOTATION (/comment (value.priv "x")) extra', "Unexpected extra arguments"),
    (b'a STORE 1 ANNOTATION (/comment (value.priv "x")', "Missing argument"),
    (b'a STORE 1 ANNOTATION (/comment (value.priv "x") x', "Entry name must begin with '/'"),
    (b"a STORE 1 ANNOTATIONS (/comment (value.priv NIL))", "Invalid store item"),
])
def test_rfc5257_3_2_invalid_store_annotation(line, message):
    bad(line, message)


# -- APPEND ----------------------------------------------------------------------------
MESSAGE = b"MIME-Version: 1.0\r\n\r\nhi\r\n"


def test_rfc5257_4_7_append_annotation():
    line = (b'a APPEND drafts ANNOTATION (/comment (value.priv "Don\'t send until I say so")) '
            b"{%d}\r\n" % len(MESSAGE) + MESSAGE)
    assert parse_command(line) == Append(b"a", "APPEND", "drafts", (
        AppendMessage(MESSAGE, annotations=(
            ("/comment", (("value.priv", b"Don't send until I say so"),)),)),))


def test_rfc5257_4_7_multiappend_annotations_per_message():
    command = parse_command(
        b'a APPEND INBOX (\\Seen) "17-Jul-1996 02:44:25 -0700" ANNOTATION (/comment (value.shared "one"))'
        b' {1}\r\nx {1+}\r\ny (\\Draft) annotation (/altsubject (value.priv NIL)) {1}\r\nz')
    first, second, third = command.messages
    assert (first.flags, first.date.year, first.annotations) == (
        ("\\Seen",), 1996, (("/comment", (("value.shared", b"one"),)),))
    assert (second.data, second.annotations) == (b"y", ())
    assert (third.flags, third.annotations) == (("\\Draft",), (("/altsubject", (("value.priv", None),)),))


@pytest.mark.parametrize("line, message", [
    (b"a APPEND x ANNOTATION {1}\r\nx", "Expected ("),
    (b'a APPEND x ANNOTATION (/comment (value.priv "x")){1}\r\nx', "Expected space"),
    (b'a APPEND x ANNOTATION (/comment (value.priv "x"))', "Missing argument"),
    (b'a APPEND x ANNOTATION (/comment (value.priv "x")) (\\Seen) {1}\r\nx', "Expected message literal"),
    (b'a APPEND x ANNOTATION (/comment (size.shared "1")) {1}\r\nx', "size is read-only"),
    (b'a APPEND x ANNOTATION (/% (value.shared "1")) {1}\r\nx', "Entry name can't contain '%'"),
])
def test_rfc5257_4_7_invalid_append_annotation(line, message):
    bad(line, message)


# -- robustness --------------------------------------------------------------------------
SEEDS = [
    b"a UID FETCH 1:* (UID ANNOTATION ((/comment /1.2/%) (value size.priv)))",
    b'a STORE 1 (UNCHANGEDSINCE 3) ANNOTATION (/comment (value.priv "x" value.shared NIL)'
    b' /a (value.priv ~{1}\r\nz))',
    b'a APPEND x (\\Seen) ANNOTATION (/comment (value.shared {2}\r\nab)) {1}\r\nz',
]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SEEDS), st.integers(0, 120), st.integers(0, 8), st.binary(max_size=6))
def test_rfc5257_5_mutated_annotate_commands_raise_only_parse_error(raw, at, cut, insert):
    parse_command(raw)  # the seed itself is valid
    at = min(at, len(raw))
    try:
        parse_command(raw[:at] + insert + raw[at + cut:])
    except ParseError:
        pass
