"""SEARCH key parsing and folding (RFC 3501 §6.4.4, §9 search-key)."""

from datetime import date

import pytest

from cpmstore.imap import searchkeys
from cpmstore.imap.parser import ParseError
from cpmstore.imap.searchkeys import SearchKey, parse_search_keys
from cpmstore.imap.seqset import STAR, SequenceSet

K = SearchKey


@pytest.mark.parametrize("text, key", [
    (b"ALL", K("ALL")),
    (b"answered", K("FLAG", ("\\Answered",))),
    (b"DELETED", K("FLAG", ("\\Deleted",))),
    (b"DRAFT", K("FLAG", ("\\Draft",))),
    (b"FLAGGED", K("FLAG", ("\\Flagged",))),
    (b"SEEN", K("FLAG", ("\\Seen",))),
    (b"RECENT", K("FLAG", ("\\Recent",))),
    (b"KEYWORD $CPMDelivered", K("FLAG", ("$CPMDelivered",))),
    (b"UNANSWERED", K("UNFLAG", ("\\Answered",))),
    (b"UNDELETED", K("UNFLAG", ("\\Deleted",))),
    (b"UNDRAFT", K("UNFLAG", ("\\Draft",))),
    (b"UNFLAGGED", K("UNFLAG", ("\\Flagged",))),
    (b"UNSEEN", K("UNFLAG", ("\\Seen",))),
    (b"UNKEYWORD foo", K("UNFLAG", ("foo",))),
    (b"NEW", K("NEW")),
    (b"OLD", K("OLD")),
    (b"FROM Smith", K("HEADER", (b"FROM", b"Smith"))),
    (b'to "a b"', K("HEADER", (b"TO", b"a b"))),
    (b"CC x", K("HEADER", (b"CC", b"x"))),
    (b"BCC x", K("HEADER", (b"BCC", b"x"))),
    (b"SUBJECT {3}\r\nh\xc3\xa9", K("HEADER", (b"SUBJECT", b"h\xc3\xa9"))),
    (b'HEADER Conversation-ID "f81d4fae"', K("HEADER", (b"CONVERSATION-ID", b"f81d4fae"))),
    (b"BODY x", K("BODY", (b"x",))),
    (b"TEXT x", K("TEXT", (b"x",))),
    (b"BEFORE 1-Feb-1994", K("BEFORE", (date(1994, 2, 1),))),
    (b'ON "01-feb-1994"', K("ON", (date(1994, 2, 1),))),
    (b"SINCE 28-Feb-2000", K("SINCE", (date(2000, 2, 28),))),
    (b"SENTBEFORE 1-Feb-1994", K("SENTBEFORE", (date(1994, 2, 1),))),
    (b"SENTON 1-Feb-1994", K("SENTON", (date(1994, 2, 1),))),
    (b"SENTSINCE 1-Feb-1994", K("SENTSINCE", (date(1994, 2, 1),))),
    (b"LARGER 1024", K("LARGER", (1024,))),
    (b"SMALLER 4294967295", K("SMALLER", (4294967295,))),
    (b"UID 1:*", K("UID", (SequenceSet(((1, STAR),)),))),
    (b"2,4:7", K("SEQSET", (SequenceSet(((2, 2), (4, 7))),))),
    (b"NOT SEEN", K("NOT", (K("FLAG", ("\\Seen",)),))),
    (b"OR SEEN FLAGGED", K("OR", (K("FLAG", ("\\Seen",)), K("FLAG", ("\\Flagged",))))),
])
def test_rfc3501_6_4_4_each_key(text, key):
    assert parse_search_keys(text) == key


def test_rfc3501_6_4_4_top_level_keys_and_nesting_fold_to_one_and():
    seen, flagged, draft = K("FLAG", ("\\Seen",)), K("FLAG", ("\\Flagged",)), K("FLAG", ("\\Draft",))
    assert parse_search_keys(b"SEEN FLAGGED") == K("AND", (seen, flagged))
    assert parse_search_keys(b"(SEEN)") == seen
    assert parse_search_keys(b"((SEEN FLAGGED) DRAFT)") == K("AND", (seen, flagged, draft))
    assert parse_search_keys(b"OR (SEEN FLAGGED) NOT (DRAFT)") == K(
        "OR", (K("AND", (seen, flagged)), K("NOT", (draft,))))


def test_rfc3501_6_4_4_nesting_depth_is_limited():
    ok = b"(" * (searchkeys.MAX_DEPTH - 1) + b"SEEN" + b")" * (searchkeys.MAX_DEPTH - 1)
    assert parse_search_keys(ok) == K("FLAG", ("\\Seen",))
    with pytest.raises(ParseError, match="nested too deeply"):
        parse_search_keys(b"NOT " * searchkeys.MAX_DEPTH + b"SEEN")
    with pytest.raises(ParseError, match="nested too deeply"):
        parse_search_keys(b"OR " * 10000 + b"SEEN")


@pytest.mark.parametrize("text", [
    b"", b"()", b"FOO", b"SEEN  FLAGGED", b"OR SEEN", b"NOT", b"FROM", b"HEADER x",
    b"BEFORE 32-Jan-2000", b"SINCE 1-Foo-2000", b"LARGER x", b"UID x", b"KEYWORD \\Seen",
    b"(SEEN", b"SEEN)", b"SMALLER 4294967296",
])
def test_rfc3501_9_invalid_search_keys(text):
    with pytest.raises(ParseError):
        parse_search_keys(text)
