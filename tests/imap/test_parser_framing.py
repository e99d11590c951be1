"""Framer: commands, literals (RFC 3501 §4.3, RFC 7888), limits and recovery."""

from hypothesis import given, settings, strategies as st

from cpmstore.imap.framing import (
    CommandBytes, Framer, LineTooLong, LiteralTooBig, NeedContinuation,
)


def feed_all(data, chunk=None, max_line=100, max_literal=50, max_command=None):
    framer = Framer(max_line, max_literal, max_command)
    if chunk is None:
        return framer.feed(data)
    events = []
    for i in range(0, len(data), chunk):
        events.extend(framer.feed(data[i:i + chunk]))
    return events


def assert_same_in_any_chunking(data, expected, **limits):
    for chunk in (None, 1, 2, 3, 7):
        assert feed_all(data, chunk, **limits) == expected, chunk


def test_rfc3501_2_2_pipelined_commands_in_one_feed():
    assert_same_in_any_chunking(b"a NOOP\r\nb CAPABILITY\r\nc LOGOUT\r\n", [
        CommandBytes(b"a NOOP"), CommandBytes(b"b CAPABILITY"), CommandBytes(b"c LOGOUT")])


def test_rfc3501_4_3_synchronizing_literal():
    assert_same_in_any_chunking(b"a APPEND x {3}\r\nabc\r\n", [
        NeedContinuation(), CommandBytes(b"a APPEND x {3}\r\nabc")])


def test_rfc3501_4_3_literal_bytes_are_not_parsed_for_crlf():
    assert_same_in_any_chunking(b"a LOGIN {4}\r\n\r\n\r\n {0}\r\n\r\nb NOOP\r\n", [
        NeedContinuation(), NeedContinuation(), CommandBytes(b"a LOGIN {4}\r\n\r\n\r\n {0}\r\n"),
        CommandBytes(b"b NOOP")])


def test_rfc7888_non_synchronizing_literals_need_no_continuation():
    data = b"A001 LOGIN {11+}\r\nFRED FOOBAR {7+}\r\nfat man\r\n"
    assert_same_in_any_chunking(data, [
        CommandBytes(b"A001 LOGIN {11+}\r\nFRED FOOBAR {7+}\r\nfat man")])


def test_rfc3502_multiappend_several_literals():
    data = b"a APPEND x {2}\r\nab (\\Seen) {2}\r\ncd\r\n"
    assert_same_in_any_chunking(data, [
        NeedContinuation(), NeedContinuation(), CommandBytes(data[:-2])])


def test_line_too_long_is_discarded_and_next_command_read():
    data = b"tag1 SEARCH " + b"x" * 200 + b"\r\nb NOOP\r\n"
    assert_same_in_any_chunking(data, [LineTooLong(b"tag1"), CommandBytes(b"b NOOP")])


def test_line_exactly_at_limit_is_accepted():
    line = b"a NOOP " + b"x" * 93
    assert len(line) == 100
    assert_same_in_any_chunking(line + b"\r\n", [CommandBytes(line)])
    assert_same_in_any_chunking(line + b"y\r\nb NOOP\r\n", [LineTooLong(b"a"), CommandBytes(b"b NOOP")])


def test_line_too_long_without_visible_tag():
    assert_same_in_any_chunking(b"x" * 300 + b"\r\nb NOOP\r\n",
                                [LineTooLong(None), CommandBytes(b"b NOOP")])


def test_continuation_line_too_long_drops_whole_command():
    data = b"a LOGIN {2}\r\nab " + b"y" * 150 + b"\r\nb NOOP\r\n"
    assert_same_in_any_chunking(data, [NeedContinuation(), LineTooLong(b"a"), CommandBytes(b"b NOOP")])


def test_too_long_line_ending_in_literal_plus_skips_its_bytes():
    data = b"a APPEND x " + b"(" * 150 + b" {5+}\r\nb NOO\r\nc NOOP\r\n"
    assert_same_in_any_chunking(data, [LineTooLong(b"a"), CommandBytes(b"c NOOP")])


def test_rfc7888_4_too_big_synchronizing_literal_drops_command():
    assert_same_in_any_chunking(b"a APPEND INBOX {51}\r\nb NOOP\r\n", [
        LiteralTooBig(b"a", 51, True, b"APPEND"), CommandBytes(b"b NOOP")])


def test_rfc7888_4_too_big_non_synchronizing_literal_is_skipped():
    body = b"\r\n".join([b"x NOOP"] * 20)  # looks like commands, must not run
    data = b"a append INBOX {%d+}\r\n" % len(body) + body + b" {3+}\r\nabc\r\nb NOOP\r\n"
    assert_same_in_any_chunking(data, [
        LiteralTooBig(b"a", len(body), False, b"APPEND"), CommandBytes(b"b NOOP")])


def test_too_big_literal_in_other_command():
    assert_same_in_any_chunking(b"a LOGIN {99999999999999999999999}\r\nb NOOP\r\n", [
        LiteralTooBig(b"a", 10 ** 20, True, b"LOGIN"), CommandBytes(b"b NOOP")])


def test_too_big_literal_after_accepted_literal():
    data = b"a APPEND x {2+}\r\nab {60+}\r\n" + b"z" * 60 + b"\r\nb NOOP\r\n"
    assert_same_in_any_chunking(data, [LiteralTooBig(b"a", 60, False, b"APPEND"),
                                       CommandBytes(b"b NOOP")])


def test_rfc3502_multiappend_over_the_whole_command_limit_is_dropped():
    # Each literal is within its own limit; together they would pass the
    # command limit, so the command is refused (and its LITERAL+ bytes skipped)
    # instead of being held in memory, and the next command runs.
    data = (b"a APPEND x {40+}\r\n" + b"y" * 40 + b" {40+}\r\n" + b"z" * 40 + b" {40+}\r\n" + b"w" * 40
            + b"\r\nb NOOP\r\n")
    assert_same_in_any_chunking(data, [LiteralTooBig(b"a", 40, False, b"APPEND", True), CommandBytes(b"b NOOP")],
                                max_command=100)
    assert_same_in_any_chunking(data, [CommandBytes(data[:-len(b"\r\nb NOOP\r\n")]), CommandBytes(b"b NOOP")],
                                max_command=200)


def test_whole_command_limit_counts_from_zero_for_each_command():
    one = b"a APPEND x {40+}\r\n" + b"y" * 40 + b"\r\n"
    assert_same_in_any_chunking(one * 3, [CommandBytes(one[:-2])] * 3, max_command=80)


def test_reset_drops_buffered_input():
    framer = Framer(100, 50)
    assert framer.feed(b"a STARTTLS\r\nb LOG") == [CommandBytes(b"a STARTTLS")]
    framer.reset()
    assert framer.feed(b"c NOOP\r\n") == [CommandBytes(b"c NOOP")]
    assert framer.feed(b"d APPEND x {5}\r\nab") == [NeedContinuation()]
    framer.reset()
    assert framer.feed(b"e NOOP\r\n") == [CommandBytes(b"e NOOP")]


def test_memory_stays_bounded_while_discarding():
    framer = Framer(100, 50)
    framer.feed(b"a " + b"x" * 1000)
    for _ in range(100):
        framer.feed(b"y" * 10000)
    assert len(framer._line) == 0 and len(framer._tail) <= 32
    assert framer.feed(b"\r\nb NOOP\r\n") == [CommandBytes(b"b NOOP")]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.lists(st.integers(1, 40), max_size=20))
def test_feed_never_raises_and_chunking_does_not_matter(data, cuts):
    whole = feed_all(data, max_line=30, max_literal=20)
    framer = Framer(30, 20)
    events, pos = [], 0
    for cut in cuts:
        events.extend(framer.feed(data[pos:pos + cut]))
        pos += cut
    events.extend(framer.feed(data[pos:]))
    assert events == whole


_TOKENS = st.sampled_from([b"a ", b"NOOP", b"\r\n", b"\r", b"\n", b"{3}", b"{3+}", b"{30}",
                           b"{30+}", b"{0}", b"x" * 40, b"abc", b" "])


@settings(max_examples=200, deadline=None)
@given(st.lists(_TOKENS, max_size=30), st.integers(1, 9))
def test_feed_protocol_like_streams_any_chunking(tokens, chunk):
    data = b"".join(tokens)
    assert feed_all(data, chunk, max_line=30, max_literal=20) == feed_all(data, max_line=30,
                                                                          max_literal=20)
