"""SORT and THREAD syntax (RFC 5256 §5, RFC 5957 §5, RFC 5267 §3.2 ESORT)."""

import pytest

from cpmstore.imap.commands import Sort, SortCriterion, Thread
from cpmstore.imap.parser import ParseError, parse_command
from cpmstore.imap.searchkeys import parse_search_keys


@pytest.mark.parametrize("line, criteria, charset, search", [
    # RFC 5256 §3's examples
    (b"A282 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994", (SortCriterion("SUBJECT"),), "UTF-8", b"SINCE 1-Feb-1994"),
    (b"A283 SORT (SUBJECT REVERSE DATE) UTF-8 ALL",
     (SortCriterion("SUBJECT"), SortCriterion("DATE", True)), "UTF-8", b"ALL"),
    (b"A284 SORT (SUBJECT) US-ASCII TEXT \"not in mailbox\"", (SortCriterion("SUBJECT"),), "US-ASCII",
     b"TEXT \"not in mailbox\""),
    # RFC 5957 §4
    (b"a sort (displayfrom reverse displayto) \"utf-8\" ALL",
     (SortCriterion("DISPLAYFROM"), SortCriterion("DISPLAYTO", True)), "UTF-8", b"ALL"),
    (b"a SORT (ARRIVAL CC FROM SIZE TO) UTF-8 1:3 UNSEEN",
     tuple(SortCriterion(k) for k in ("ARRIVAL", "CC", "FROM", "SIZE", "TO")), "UTF-8", b"1:3 UNSEEN"),
])
def test_rfc5256_3_sort(line, criteria, charset, search):
    tag = line.split(b" ")[0]
    assert parse_command(line) == Sort(tag, "SORT", criteria=criteria, charset=charset,
                                       search=parse_search_keys(search))


def test_rfc5256_3_uid_sort():
    assert parse_command(b"a UID SORT (DATE) UTF-8 ALL") == Sort(
        b"a", "SORT", uid=True, criteria=(SortCriterion("DATE"),), charset="UTF-8", search=parse_search_keys(b"ALL"))


def test_rfc5267_3_2_esort_return_options():
    cmd = parse_command(b"a SORT RETURN (MIN COUNT) (DATE) UTF-8 ALL")
    assert cmd.return_options == ("MIN", "COUNT")
    assert parse_command(b"a SORT RETURN () (DATE) UTF-8 ALL").return_options == ("ALL",)


@pytest.mark.parametrize("line, algorithm, uid", [
    (b"A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000", "ORDEREDSUBJECT", False),
    (b"A284 THREAD ORDEREDSUBJECT US-ASCII TEXT \"gewp\"", "ORDEREDSUBJECT", False),
    (b"a UID THREAD references UTF-8 ALL", "REFERENCES", True),
    (b"a THREAD REFS UTF-8 ALL", "REFS", False),
])
def test_rfc5256_3_thread(line, algorithm, uid):
    cmd = parse_command(line)
    assert isinstance(cmd, Thread) and cmd.name == "THREAD"
    assert (cmd.algorithm, cmd.uid) == (algorithm, uid)


@pytest.mark.parametrize("line, text", [
    (b"a SORT () UTF-8 ALL", "Empty list"),
    (b"a SORT (SUBJECT) UTF-8", "Missing argument"),
    (b"a SORT SUBJECT UTF-8 ALL", "Expected"),
    (b"a SORT (NOSUCHKEY) UTF-8 ALL", "Unknown sort criterion NOSUCHKEY"),
    (b"a SORT (REVERSE) UTF-8 ALL", "Expected space"),
    (b"a SORT (REVERSE REVERSE DATE) UTF-8 ALL", "Unknown sort criterion REVERSE"),
    (b"a THREAD X-ALGORITHM UTF-8 ALL", "Unknown thread algorithm X-ALGORITHM"),
    (b"a THREAD REFERENCES ALL", "Missing argument"),
    (b"a THREAD REFERENCES \"\xc3\xa9\" ALL", "Invalid charset"),
])
def test_rfc5256_5_syntax_errors(line, text):
    with pytest.raises(ParseError) as caught:
        parse_command(line)
    assert text in caught.value.text and caught.value.tag == b"a"
