"""Sequence-set parsing (RFC 3501 §9 sequence-set), kept as ranges."""

import pytest

from cpmstore.imap import seqset
from cpmstore.imap.parser import ParseError
from cpmstore.imap.seqset import STAR, SequenceSet, parse_sequence_set


@pytest.mark.parametrize("text, items", [
    (b"1", ((1, 1),)),
    (b"2:4", ((2, 4),)),
    (b"4827313:4828442", ((4827313, 4828442),)),          # RFC 3501 §6.4.8
    (b"1:4294967295", ((1, 4294967295),)),
    (b"*", ((STAR, STAR),)),
    (b"1:*", ((1, STAR),)),
    (b"*:4", ((STAR, 4),)),
    (b"2,4:7,9,12:*", ((2, 2), (4, 7), (9, 9), (12, STAR))),  # RFC 3501 §9 example
])
def test_rfc3501_9_sequence_set(text, items):
    assert parse_sequence_set(text) == SequenceSet(items)


def test_rfc3501_9_full_range_stays_one_range():
    parsed = parse_sequence_set(b"1:4294967295")
    assert parsed.ranges(5) == [(1, 4294967295)]


def test_rfc3501_9_star_resolves_to_largest_and_ranges_merge():
    parsed = parse_sequence_set(b"3,1:2,10:*,7,*")
    assert parsed.ranges(12) == [(1, 3), (7, 7), (10, 12)]
    assert parse_sequence_set(b"*:4").ranges(12) == [(4, 12)]
    assert parse_sequence_set(b"*").ranges(0) == []


@pytest.mark.parametrize("text", [
    b"", b"0", b"1:0", b"4294967296", b"1,", b",1", b"1::2", b"1:2:3", b"01", b"a", b"1 2",
    b"**", b"99999999999999999999999",
])
def test_rfc3501_9_invalid_sequence_sets(text):
    with pytest.raises(ParseError):
        parse_sequence_set(text)


def test_too_many_ranges_is_a_parse_error():
    ok = b",".join([b"1"] * seqset.MAX_RANGES)
    assert len(parse_sequence_set(ok).items) == seqset.MAX_RANGES
    with pytest.raises(ParseError, match="Too many ranges"):
        parse_sequence_set(ok + b",2")
