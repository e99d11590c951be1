"""Property tests: no input makes the parser raise anything but ParseError."""

from hypothesis import given, settings, strategies as st

from cpmstore.imap.parser import ParseError, parse_command

VALID = [
    b"a001 LOGIN {11+}\r\nFRED FOOBAR {7+}\r\nfat man",
    b'a APPEND x (\\Seen $Kw) "17-Jul-1996 02:44:25 -0700" {3}\r\nabc (\\Draft) {1+}\r\nz',
    b"a UID FETCH 1:*,4 (FLAGS BODY.PEEK[1.2.HEADER.FIELDS (TO CC)]<0.10>) (CHANGEDSINCE 1)",
    b"a STORE 1 (UNCHANGEDSINCE 3) -FLAGS.SILENT \\Seen \\read-report-sent",
    b'a SEARCH CHARSET UTF-8 OR (SEEN 1:3) NOT HEADER "x" {1}\r\ny SINCE 1-Feb-1994 UID 4:*',
    b'a LIST "" "~peter/mail/&U,BTFw-/%"',
    b"a SELECT INBOX (QRESYNC (1 2 1:4 (1,3 5,7)))",
    b'a ID ("name" NIL)',
    b"a STATUS x (MESSAGES UIDNEXT)",
    b"a AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=",
    b"a ENABLE CONDSTORE",
    b"a RENAME a b",
    b"a UID EXPUNGE 1:2",
]


def parses_or_bad(raw):
    try:
        parse_command(raw)
    except ParseError:
        pass


def test_seed_commands_parse():
    for raw in VALID:
        parse_command(raw)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_parse_error(raw):
    parses_or_bad(raw)


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(VALID), st.integers(0, 200), st.integers(0, 8), st.binary(max_size=6))
def test_mutated_commands_raise_only_parse_error(raw, at, cut, insert):
    at = min(at, len(raw))
    parses_or_bad(raw[:at] + insert + raw[at + cut:])
