"""SEARCH RETURN options (RFC 4731 §3.1, RFC 4466 §2.6), ``$`` (RFC 5182 §3) and
OLDER / YOUNGER (RFC 5032 §3): the client lines of those RFCs' examples."""

from datetime import date

import pytest

from cpmstore.imap.commands import Copy, Expunge, Fetch, Search, Store
from cpmstore.imap.parser import ParseError, parse_command
from cpmstore.imap.searchkeys import SearchKey, parse_search_keys
from cpmstore.imap.seqset import SAVED, STAR, SequenceSet, parse_sequence_set

K = SearchKey
SMITH = K("AND", (K("FLAG", ("\\Flagged",)), K("SINCE", (date(1994, 2, 1),)),
                  K("NOT", (K("HEADER", (b"FROM", b"Smith")),))))


@pytest.mark.parametrize("line, uid, options", [
    (b'A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"', False, ("MIN", "COUNT")),
    (b'A283 SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"', False, ("ALL",)),
    (b'A284 UID SEARCH RETURN (MIN MAX ALL COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"', True,
     ("MIN", "MAX", "ALL", "COUNT")),
    (b'A285 search return (min max) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"', False, ("MIN", "MAX")),
    (b'A286 SEARCH RETURN (MAX MIN MAX) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"', False, ("MAX", "MIN")),
    (b'A282 SEARCH RETURN (SAVE) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"', False, ("SAVE",)),
    (b'A287 UID SEARCH RETURN (SAVE MIN) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"', True, ("SAVE", "MIN")),
])
def test_rfc4731_3_1_and_rfc5182_2_2_return_options(line, uid, options):
    tag = line.split(b" ", 1)[0]
    assert parse_command(line) == Search(tag, "SEARCH", uid=uid, criteria=SMITH, return_options=options)


def test_rfc3501_6_4_4_search_without_return_has_no_options():
    assert parse_command(b"a SEARCH FLAGGED").return_options is None


def test_rfc4466_2_6_return_comes_before_the_charset():
    cmd = parse_command(b"a SEARCH RETURN (COUNT) CHARSET UTF-8 TEXT x")
    assert (cmd.charset, cmd.return_options, cmd.criteria) == ("UTF-8", ("COUNT",), K("TEXT", (b"x",)))


@pytest.mark.parametrize("line", [
    b"a SEARCH RETURN (FOO) ALL",            # not a return option this server knows
    b"a SEARCH RETURN (MIN",                 # unclosed list
    b"a SEARCH RETURN (MIN)",                # no search key
    b"a SEARCH RETURN ALL",                  # RETURN needs its list
    b"a SEARCH RETURN (MIN) (MAX) ALL",      # one list only
    b"a SEARCH CHARSET UTF-8 RETURN (ALL) ALL",  # RFC 4466 §2.6: RETURN first
    b"a SEARCH RETURN (PARTIAL 1:10) ALL",   # RFC 9394 is not offered
])
def test_rfc4731_3_1_malformed_return_is_bad(line):
    with pytest.raises(ParseError):
        parse_command(line)


@pytest.mark.parametrize("line, cls, field", [
    (b"A283 FETCH $ (UID INTERNALDATE FLAGS RFC822.HEADER)", Fetch, "sequence_set"),
    (b"A284 UID FETCH $ (FLAGS)", Fetch, "sequence_set"),
    (b"A303 UID STORE $ +FLAGS.SILENT (\\Deleted)", Store, "sequence_set"),
    (b"A304 STORE $ (UNCHANGEDSINCE 5) FLAGS (\\Seen)", Store, "sequence_set"),
    (b'A305 COPY $ "Other Messages"', Copy, "sequence_set"),
    (b"A306 UID MOVE $ Trash", Copy, "sequence_set"),
    (b"A307 UID EXPUNGE $", Expunge, "uid_set"),
])
def test_rfc5182_3_dollar_wherever_a_sequence_set_goes(line, cls, field):
    cmd = parse_command(line)
    assert isinstance(cmd, cls) and getattr(cmd, field) == SAVED and getattr(cmd, field).saved


def test_rfc5182_3_dollar_names_nothing_by_itself():
    assert SAVED.ranges(100) == [] and 1 not in SAVED.matcher(100)
    assert not parse_sequence_set(b"1:*").saved
    assert parse_sequence_set(b"$") == SAVED


@pytest.mark.parametrize("text", [b"1,$", b"$,1", b"$:3", b"3:$", b"$$", b"$1", b"$*"])
def test_rfc5182_3_dollar_stands_alone(text):
    with pytest.raises(ParseError):
        parse_sequence_set(text)
    with pytest.raises(ParseError):
        parse_command(b"a FETCH " + text + b" FLAGS")


@pytest.mark.parametrize("text, key", [
    (b"$", K("UID", (SAVED,))),
    (b"UID $", K("UID", (SAVED,))),
    (b"UID $ SMALLER 4096", K("AND", (K("UID", (SAVED,)), K("SMALLER", (4096,))))),
    (b"NOT $", K("NOT", (K("UID", (SAVED,)),))),
    (b"OR $ 1:3", K("OR", (K("UID", (SAVED,)), K("SEQSET", (SequenceSet(((1, 3),)),))))),
    (b"($ FLAGGED)", K("AND", (K("UID", (SAVED,)), K("FLAG", ("\\Flagged",))))),
])
def test_rfc5182_2_2_dollar_as_a_search_key_is_a_uid_set(text, key):
    # "$" holds UIDs whichever SEARCH saved it (RFC 5182 §2.1), so a bare
    # "$" key means what "UID $" means.
    assert parse_search_keys(text) == key


@pytest.mark.parametrize("text, key", [
    (b"UNSEEN YOUNGER 259200", K("AND", (K("UNFLAG", ("\\Seen",)), K("YOUNGER", (259200,))))),
    (b"older 1", K("OLDER", (1,))),
    (b"OLDER 4294967295", K("OLDER", (4294967295,))),
    (b"NOT YOUNGER 60", K("NOT", (K("YOUNGER", (60,)),))),
])
def test_rfc5032_3_older_younger(text, key):
    assert parse_search_keys(text) == key


@pytest.mark.parametrize("text", [b"OLDER 0", b"YOUNGER 0", b"OLDER x", b"OLDER 4294967296", b"YOUNGER",
                                  b"OLDER -5"])
def test_rfc5032_4_interval_is_nz_number(text):
    with pytest.raises(ParseError):
        parse_search_keys(text)


def test_rfc4731_3_1_uid_star_and_seqset_keys_unchanged():
    cmd = parse_command(b"a UID SEARCH RETURN (ALL) UID 1:* 2")
    assert cmd.criteria == K("AND", (K("UID", (SequenceSet(((1, STAR),)),)),
                                     K("SEQSET", (SequenceSet(((2, 2),)),))))
    assert cmd.uid and cmd.return_options == ("ALL",)
