"""THREAD algorithms and the THREAD response (RFC 5256 §3, §4; REFS)."""

import pytest

from cpmstore.imap.threads import (
    ThreadMessage, ThreadNode, encode_threads, orderedsubject, references, refs, thread,
)


def node(number, *children):
    return ThreadNode(number, tuple(c if isinstance(c, ThreadNode) else ThreadNode(c) for c in children))


@pytest.mark.parametrize("threads, wire", [
    # RFC 5256 §4: "(2)(3 6 (4 23)(44 7 96))"
    ([node(2), node(3, node(6, node(4, 23), node(44, node(7, 96))))], b"(2)(3 6 (4 23)(44 7 96))"),
    # RFC 5256 §4: a dummy parent shows only its children, "((3)(5))"
    ([node(None, 3, 5)], b"((3)(5))"),
    ([node(1, 2, 3)], b"(1 (2)(3))"),
    ([], b""),
])
def test_rfc5256_4_thread_list_encoding(threads, wire):
    assert encode_threads(threads) == wire


def msg(number, date, subject="", reply=False, mid=None, refs_=()):
    return ThreadMessage(number, float(date), subject, reply, mid, tuple(refs_))


def test_rfc5256_3_orderedsubject():
    """Sorted by subject then date; the first is the parent of the others;
    threads by the date of their first message."""
    messages = [msg(1, 30, "B"), msg(2, 10, "A"), msg(3, 20, "A", True), msg(4, 5, "C"), msg(5, 40, "B", True),
                msg(6, 15, "A", True)]
    assert encode_threads(orderedsubject(messages)) == b"(4)(2 (6)(3))(1 5)"


def test_rfc5256_3_references_chain_and_in_reply_to():
    messages = [msg(1, 1, "A", False, "a@x"), msg(2, 2, "A", True, "b@x", ["a@x"]),
                msg(3, 3, "A", True, "c@x", ["a@x", "b@x"]), msg(4, 4, "B", False, "d@x"),
                msg(5, 5, "A", True, "e@x", ["a@x"])]
    assert encode_threads(references(messages)) == b"(1 (2 3)(5))(4)"


def test_rfc5256_3_references_step_1a_references_link_each_other():
    """Message 3 alone says that b@x is a child of a@x: two dummies, one chain."""
    messages = [msg(1, 1, "X", False, "a@x"), msg(2, 2, "Y", False, "b@x"),
                msg(3, 3, "Z", False, "c@x", ["a@x", "b@x"])]
    assert encode_threads(references(messages)) == b"(1 2 3)"


def test_rfc5256_3_references_step_1b_own_last_reference_wins():
    """Message 2's References made b@x a child of a@x; b@x's own message
    (3) names x@x as its parent, so that link is broken (step 1.B)."""
    messages = [msg(1, 1, "X", False, "a@x"), msg(2, 2, "Y", False, "c@x", ["a@x", "b@x"]),
                msg(3, 3, "Z", False, "b@x", ["x@x"])]
    assert encode_threads(references(messages)) == b"(1)(3 2)"


def test_rfc5256_3_references_step_1a_existing_parent_stays():
    messages = [msg(1, 1, "X", False, "a@x"), msg(2, 2, "Y", False, "b@x"),
                msg(3, 3, "Z", False, "c@x", ["a@x", "b@x"]), msg(4, 4, "W", False, "d@x", ["z@x", "b@x"])]
    assert encode_threads(references(messages)) == b"(1 2 (3)(4))"


def test_rfc5256_3_references_dummies_without_messages():
    """Missing parents: a dummy with one child gives way to it, with two it
    stays as a dummy at the top (step 3)."""
    messages = [msg(1, 1, "P", False, "a@x", ["gone@x"]), msg(2, 2, "Q", False, "b@x", ["lost@x"]),
                msg(3, 3, "R", False, "c@x", ["lost@x"])]
    assert encode_threads(references(messages)) == b"(1)((2)(3))"


def test_rfc5256_3_references_loops_and_duplicates():
    """No link that makes a loop; a duplicate Message-ID gets one of its own."""
    messages = [msg(1, 1, "P", False, "a@x", ["b@x"]), msg(2, 2, "Q", False, "b@x", ["a@x"]),
                msg(3, 3, "R", False, "a@x", ["a@x"]), msg(4, 4, "S", False, "d@x", ["d@x"])]
    assert encode_threads(references(messages)) == b"(2 1 3)(4)"


def test_rfc5256_3_references_step_5_subject_merge():
    """A reply at the top joins the non-reply thread of its subject; two
    non-replies (or two replies) get a dummy parent."""
    messages = [msg(1, 1, "W", False, "a@x"), msg(2, 2, "W", True, "b@x", ["gone@x"]),
                msg(3, 3, "V", False, "c@x"), msg(4, 4, "V", False, "d@x"),
                msg(5, 5, "", True, "e@x"), msg(6, 6, "", True, "f@x")]
    assert encode_threads(references(messages)) == b"(1 2)((3)(4))(5)(6)"


def test_rfc5256_3_references_step_5_dummy_holds_the_subject():
    messages = [msg(1, 1, "U", True, "a@x", ["gone@x"]), msg(2, 2, "U", True, "b@x", ["gone@x"]),
                msg(3, 3, "U", False, "c@x")]
    assert encode_threads(references(messages)) == b"((1)(2)(3))"


def test_refs_sorts_threads_by_their_newest_message():
    messages = [msg(1, 1, "A", False, "a@x"), msg(2, 2, "B", False, "b@x"), msg(3, 3, "C", True, "c@x", ["a@x"]),
                msg(4, 4, "A", True, "d@x", ["gone@x"])]
    assert encode_threads(refs(messages)) == b"(2)(1 3)(4)"
    assert encode_threads(references(messages)) == b"(1 (3)(4))(2)"


def test_rfc5256_3_equal_dates_keep_message_order():
    messages = [msg(n, 7, "A", n > 1, f"{n}@x") for n in range(1, 5)]
    assert encode_threads(thread("REFERENCES", messages)) == b"(1 (2)(3)(4))"
    assert encode_threads(thread("ORDEREDSUBJECT", messages)) == b"(1 (2)(3)(4))"


def test_a_long_reply_chain_needs_no_recursion():
    count = 5000
    messages = [msg(n, n, "A", n > 1, f"{n}@x", [f"{n - 1}@x"] if n > 1 else []) for n in range(1, count + 1)]
    wire = encode_threads(thread("REFS", messages))
    assert wire == b"(" + b" ".join(b"%d" % n for n in range(1, count + 1)) + b")"
