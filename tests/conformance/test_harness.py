"""The normalizer itself: what it must make equal, and what it must not."""

import datetime

import harness

BOX = "conf-1234-x"


def same(a: list[bytes], b: list[bytes]) -> bool:
    return harness.normalize(a, BOX) == harness.normalize(b, BOX)


def test_rfc3501_6_3_1_select_untagged_order_uidvalidity_and_text_are_free():
    dovecot = [b"* OK [UIDVALIDITY 3857529045] UIDs valid", b"* 18 EXISTS",
               b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)", b"a1 OK [READ-WRITE] done (0.001 + 0.000 secs)."]
    ours = [b"* FLAGS (\\Seen \\Deleted \\Answered \\Draft \\Flagged \\read-report-sent)", b"* 18 EXISTS",
            b"* OK [UIDVALIDITY 1] UIDs are valid", b"a1 OK [READ-WRITE] Select completed."]
    assert same(dovecot, ours)
    assert not same(dovecot, [b"* 17 EXISTS", *ours[:1], *ours[2:]])
    assert not same(dovecot, ours[:-1] + [b"a1 OK [READ-ONLY] Select completed."])


def test_rfc3501_7_4_2_fetch_items_merged_and_bodystructure_case():
    dovecot = [b'* 1 FETCH (UID 4 BODYSTRUCTURE ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 3 1 NIL NIL NIL NIL))',
               b"* 1 FETCH (FLAGS (\\Seen \\Recent))", b"a2 OK Fetch completed."]
    ours = [b'* 1 FETCH (FLAGS (\\Recent \\Seen) BODYSTRUCTURE ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3 1'
            b' NIL NIL NIL NIL) UID 4)', b"a2 OK Fetch completed."]
    assert same(dovecot, ours)
    assert not same(dovecot, [ours[0].replace(b"UID 4", b"UID 5"), ours[1]])
    assert not same(dovecot, [ours[0].replace(b'"7BIT" 3', b'"7BIT" 4'), ours[1]])


def test_rfc3501_4_3_quoted_atom_and_literal_are_one_string():
    atom = [b'* LIST (\\HasNoChildren) "/" conf-1234-x/a', b"t OK"]
    assert same(atom, [b'* LIST (\\HasNoChildren) "/" "conf-1234-x/a"', b"t OK"])
    assert same(atom, [b'* LIST (\\HasNoChildren) "/" {13}\r\nconf-1234-x/a', b"t OK"])
    assert same([b"* 1 FETCH (BODY[] {2}\r\nab)", b"t OK"], [b'* 1 FETCH (BODY[] "ab")', b"t OK"])
    assert not same([b"* 1 FETCH (BODY[] {2}\r\nab)", b"t OK"], [b'* 1 FETCH (BODY[] "aB")', b"t OK"])


def test_rfc3501_7_4_1_expunge_order_is_kept():
    assert not same([b"* 3 EXPUNGE", b"* 2 EXPUNGE", b"t OK"], [b"* 2 EXPUNGE", b"* 3 EXPUNGE", b"t OK"])


def test_rfc3501_6_3_11_internaldate_same_instant_in_another_zone():
    assert same([b'* 1 FETCH (INTERNALDATE "01-Feb-2002 21:14:15 +0000")', b"t OK"],
                [b'* 1 FETCH (INTERNALDATE "01-Feb-2002 13:14:15 -0800")', b"t OK"])
    assert not same([b'* 1 FETCH (INTERNALDATE "01-Feb-2002 21:14:15 +0000")', b"t OK"],
                    [b'* 1 FETCH (INTERNALDATE "01-Feb-2002 21:14:15 -0800")', b"t OK"])


def test_rfc8514_4_2_savedate_of_this_run_is_one_moment_nil_is_kept():
    now = datetime.datetime.now(datetime.timezone.utc)
    dovecot = now.strftime("%d-%b-%Y %H:%M:%S +0000").encode()
    ours = now.astimezone(datetime.timezone(datetime.timedelta(hours=2))).strftime("%d-%b-%Y %H:%M:%S +0200").encode()
    assert same([b'* 1 FETCH (SAVEDATE "' + dovecot + b'")', b"t OK"], [b'* 1 FETCH (SAVEDATE "' + ours + b'")', b"t OK"])
    assert not same([b'* 1 FETCH (SAVEDATE "' + dovecot + b'")', b"t OK"], [b"* 1 FETCH (SAVEDATE NIL)", b"t OK"])


def test_rfc4731_3_2_esearch_modseq_value_is_free_the_rest_is_compared():
    dovecot = [b'* ESEARCH (TAG "a5") ALL 1:5 COUNT 5 MODSEQ 6', b"a5 OK Search completed (0.001 secs)."]
    ours = [b'* ESEARCH (TAG "a5") ALL 1:5 COUNT 5 MODSEQ 31', b"a5 OK Search completed."]
    assert same(dovecot, ours)
    assert not same(dovecot, [ours[0].replace(b"ALL 1:5", b"ALL 1:4"), ours[1]])
    assert not same(dovecot, [ours[0].replace(b" MODSEQ 31", b""), ours[1]])
    assert not same(dovecot, [ours[0].replace(b"(TAG \"a5\") ", b"(TAG \"a5\") UID "), ours[1]])


def test_status_and_code_differ():
    assert not same([b"t NO [TRYCREATE] no such mailbox"], [b"t NO no such mailbox"])
    assert not same([b"t NO x"], [b"t BAD x"])


def test_steps_repeat_labels_and_literals():
    script = harness.steps("""
        a: NOOP
        a: APPEND "{box}" {lit:m}
        a: NOOP
    """, {"m": b"x\r\n"})
    assert [s.label for s in script] == ["a: NOOP", 'a: APPEND "{box}" {lit:m}', "a: NOOP #2"]
    assert script[1].wire == b'APPEND "{box}" {3+}\r\nx\r\n'


def test_rfc7162_3_1_2_1_highestmodseq_on_select_is_compared_only_when_both_send_it():
    step = harness.steps('a: SELECT "{box}"')[0]
    base = [b"* 0 EXISTS", b"a1 OK [READ-WRITE] Select completed."]
    ours = [b"* OK [HIGHESTMODSEQ 7] Highest", *base]
    diffs = harness.compare([step], [base], [ours], BOX)
    assert diffs == []
    wrong = [b"* OK [HIGHESTMODSEQ 7] Highest", b"* 1 EXISTS", base[1]]
    assert len(harness.compare([step], [base], [wrong], BOX)) == 1
    fetch = harness.steps("a: FETCH 1 FLAGS")[0]
    assert len(harness.compare([fetch], [base], [ours], BOX)) == 1


def test_rfc3516_4_3_literal8_is_compared_octet_for_octet_and_apart_from_a_literal():
    binary = [b"* 1 FETCH (BINARY[2] ~{3}\r\n\x00\xff) FLAGS (\\Seen))", b"t OK"]
    assert same(binary, [b"* 1 FETCH (FLAGS (\\Seen) BINARY[2] ~{3}\r\n\x00\xff))", b"t OK"])
    assert not same(binary, [b"* 1 FETCH (BINARY[2] ~{3}\r\n\x00\xfe) FLAGS (\\Seen))", b"t OK"])
    assert not same([b"* 1 FETCH (BINARY[1] ~{2}\r\nab)", b"t OK"], [b"* 1 FETCH (BINARY[1] {2}\r\nab)", b"t OK"])


def test_rfc4467_7_urlauth_tokens_compared_by_place_only():
    dovecot = [b"* URLFETCH imap://u@h/conf-1234-x/;UID=1;URLAUTH=anonymous:internal:01aa (BODYPARTSTRUCTURE"
               b' ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 3 0 NIL NIL NIL NIL) BINARY ~{2}\r\nab)', b"t OK"]
    ours = [b"* URLFETCH imap://u@h/conf-1234-x/;UID=1;URLAUTH=anonymous:INTERNAL:bb00 (BODYPARTSTRUCTURE"
            b' ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3 0 NIL NIL NIL NIL) BINARY ~{2}\r\nab)', b"t OK"]
    assert same(dovecot, ours)
    assert not same(dovecot, [ours[0].replace(b"UID=1", b"UID=2"), b"t OK"])
    assert not same(dovecot, [ours[0].replace(b"~{2}", b"{2}"), b"t OK"])
    assert harness.with_urls(b"URLFETCH {url:2} {url:3}", ["imap://a", "imap://b"]) == b"URLFETCH imap://b imap://no-such-url"
