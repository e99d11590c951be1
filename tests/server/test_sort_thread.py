"""SORT (RFC 5256 §3, RFC 5957 §4), ESORT (RFC 5267 §3.2) and THREAD (RFC 5256
§3, §4: ORDEREDSUBJECT, REFERENCES, REFS) against the real server."""

from pathlib import Path

import pytest_twisted
from conftest import in_thread
from transcript import LOGIN, Connection, run

# 5 has no Date (its INTERNALDATE, 1 Jan 07:00Z, counts); 4 and 6 have the same
# Date instant; 6 answers a message that is not there. The expected answers
# are Dovecot's for the same folder.
MESSAGES = [
    b"From: Zed <zed@example.com>\r\nTo: bob@example.com\r\nSubject: Project plan\r\n"
    b"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <p1@example.com>\r\n\r\nplan\r\n",
    b"From: alice@example.com\r\nTo: Zed <zed@example.com>\r\nSubject: Re: Project plan\r\n"
    b"Date: Tue, 2 Jan 2024 10:00:00 +0000\r\nMessage-ID: <p2@example.com>\r\n"
    b"In-Reply-To: <p1@example.com>\r\n\r\na longer answer\r\n",
    b"From: \"Carol\" <carol@example.com>\r\nCc: dave@example.net\r\nSubject: [list] Re: project PLAN (fwd)\r\n"
    b"Date: Wed, 3 Jan 2024 10:00:00 +0000\r\nMessage-ID: <p3@example.com>\r\n"
    b"References: <p1@example.com> <p2@example.com>\r\n\r\nx\r\n",
    b"From: =?UTF-8?Q?=C3=89mile?= <emile@example.com>\r\nTo: Zoe <zoe@example.com>\r\nSubject: Fwd: Lunch\r\n"
    b"Date: Mon, 1 Jan 2024 09:00:00 +0100\r\nMessage-ID: <l1@example.com>\r\n\r\nlunch?\r\n",
    b"From: bob@example.com\r\nSubject: lunch\r\nMessage-ID: <l2@example.com>\r\n\r\nyes\r\n",
    b"From: Bob <bob@example.com>\r\nSubject: Re: lunch\r\nDate: Mon, 1 Jan 2024 08:00:00 +0000\r\n"
    b"Message-ID: <l3@example.com>\r\nIn-Reply-To: <gone@example.com>\r\n\r\nsure\r\n",
]
DATES = [b"01-Jan-2024 12:00:00 +0000", b"02-Jan-2024 12:00:00 +0000", b"03-Jan-2024 12:00:00 +0000",
         b"01-Jan-2024 12:00:00 +0000", b"01-Jan-2024 07:00:00 +0000", b"01-Jan-2024 06:00:00 +0000"]


def filled(port: int, box: str) -> Connection:
    """A logged-in connection with ``box`` made, filled and selected."""
    conn = run(port, LOGIN)
    assert conn.command(b"c", b"CREATE " + box.encode())[-1].startswith(b"c OK")
    for n, (message, date) in enumerate(zip(MESSAGES, DATES)):
        line = b'APPEND %s "%s" {%d+}\r\n%s' % (box.encode(), date, len(message), message)
        assert conn.command(b"p%d" % n, line)[-1].startswith(b"p%d OK" % n)
    assert conn.command(b"s", b"SELECT " + box.encode())[-1].startswith(b"s OK")
    return conn


@pytest_twisted.ensureDeferred
async def test_rfc5256_3_sort_criteria(server):
    def scenario():
        conn = filled(server.port, "st1")
        run(server.port, """
            C: a1 SORT (SUBJECT) UTF-8 ALL
            S: * SORT 4 5 6 1 2 3
            S: a1 OK Sort completed.
            C: a2 SORT (SUBJECT DATE) US-ASCII ALL
            S: * SORT 5 4 6 1 2 3
            S: a2 OK Sort completed.
            C: a3 SORT (DATE) UTF-8 ALL
            S: * SORT 5 4 6 1 2 3
            S: a3 OK Sort completed.
            C: a4 SORT (REVERSE ARRIVAL) UTF-8 ALL
            S: * SORT 3 2 1 4 5 6
            S: a4 OK Sort completed.
            C: a5 SORT (REVERSE SIZE) UTF-8 ALL
            S: * SORT 3 2 4 6 1 5
            S: a5 OK Sort completed.
            C: a6 SORT (FROM) UTF-8 ALL
            S: * SORT 2 5 6 3 4 1
            S: a6 OK Sort completed.
            C: a7 SORT (TO CC) UTF-8 ALL
            S: * SORT 5 6 3 1 2 4
            S: a7 OK Sort completed.
            C: a8 SORT (DISPLAYFROM) UTF-8 ALL
            S: * SORT 2 6 5 3 4 1
            S: a8 OK Sort completed.
            C: a9 SORT (DISPLAYTO) UTF-8 ALL
            S: * SORT 3 5 6 1 2 4
            S: a9 OK Sort completed.
            C: a10 UID SORT (REVERSE SUBJECT) UTF-8 FROM bob
            S: * SORT 5 6
            S: a10 OK Sort completed.
            C: a11 SORT (SUBJECT) UTF-8 SUBJECT nosuchsubject
            S: * SORT
            S: a11 OK Sort completed.
        """, conn)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5256_3_sort_errors_and_state(server):
    def scenario():
        conn = run(server.port, LOGIN + """
            C: a1 SORT (DATE) UTF-8 ALL
            S: a1 BAD SORT needs a selected mailbox.
            C: a2 SELECT INBOX
            S: ...
            S: ...
            S: ...
            S: ...
            S: ...
            S: ...
            S: ...
            S: a2 OK [READ-WRITE] ...
            C: a3 SORT (DATE) KOI8-R ALL
            S: a3 NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset.
            C: a4 SORT (NOSUCH) UTF-8 ALL
            S: a4 BAD Error in IMAP command: Unknown sort criterion NOSUCH
            C: a5 THREAD NOSUCH UTF-8 ALL
            S: a5 BAD Error in IMAP command: Unknown thread algorithm NOSUCH
            C: a6 SORT (DATE) UTF-8 ALL
            S: * SORT
            S: a6 OK Sort completed.
            C: a7 THREAD REFS UTF-8 ALL
            S: * THREAD
            S: a7 OK Thread completed.
        """)
        conn.close()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5267_3_2_esort_return_options(server):
    def scenario():
        conn = filled(server.port, "st2")
        run(server.port, """
            C: a1 SORT RETURN (MIN MAX COUNT) (SUBJECT) UTF-8 ALL
            S: * ESEARCH (TAG "a1") MIN 4 MAX 3 COUNT 6
            S: a1 OK Sort completed.
            C: a2 UID SORT RETURN (ALL) (DATE) UTF-8 NOT 2
            S: * ESEARCH (TAG "a2") UID ALL 5,4,6,1,3
            S: a2 OK Sort completed.
            C: a3 SORT RETURN () (REVERSE DATE) UTF-8 ALL
            S: * ESEARCH (TAG "a3") ALL 3,2,1,4,6,5
            S: a3 OK Sort completed.
        """, conn)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5256_4_thread_algorithms(server):
    def scenario():
        conn = filled(server.port, "st3")
        run(server.port, """
            C: a1 THREAD ORDEREDSUBJECT UTF-8 ALL
            S: * THREAD (5 (4)(6))(1 (2)(3))
            S: a1 OK Thread completed.
            C: a2 THREAD REFERENCES UTF-8 ALL
            S: * THREAD (5 (4)(6))(1 2 3)
            S: a2 OK Thread completed.
            C: a3 THREAD REFS UTF-8 ALL
            S: * THREAD (5)(6)(4)(1 2 3)
            S: a3 OK Thread completed.
            C: a4 UID THREAD REFERENCES UTF-8 2:6
            S: * THREAD (5 (4)(6))(2 3)
            S: a4 OK Thread completed.
            C: a5 THREAD REFERENCES UTF-8 SUBJECT nosuchsubject
            S: * THREAD
            S: a5 OK Thread completed.
        """, conn)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_sort_and_thread_read_only_the_index(server):
    """DESIGN §4: nothing but the cached header block, dates and sizes is read,
    so SORT and THREAD answer the same with every message file gone."""
    def scenario():
        conn = filled(server.port, "st4")
        files = list(Path(server.data_dir).glob("users/user1/mail/*/cur/*"))
        assert len(files) >= len(MESSAGES)
        for path in files:
            path.unlink()
        run(server.port, """
            C: a1 SORT (REVERSE DISPLAYFROM SUBJECT) UTF-8 ALL
            S: * SORT 1 4 3 5 6 2
            S: a1 OK Sort completed.
            C: a2 THREAD REFERENCES UTF-8 ALL
            S: * THREAD (5 (4)(6))(1 2 3)
            S: a2 OK Thread completed.
        """, conn)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_7_4_1_no_expunge_during_sort_by_sequence_number(server):
    def scenario():
        conn = filled(server.port, "st5")
        other = run(server.port, LOGIN)
        assert other.command(b"o1", b"SELECT st5")[-1].startswith(b"o1 OK")
        assert other.command(b"o2", b"STORE 1 +FLAGS (\\Deleted)")[-1].startswith(b"o2 OK")
        assert other.command(b"o3", b"EXPUNGE")[-1].startswith(b"o3 OK")
        run(server.port, """
            C: a1 SORT (SUBJECT) UTF-8 ALL
            S: * SORT 4 5 6 2 3
            S: a1 OK Sort completed.
            C: a2 THREAD REFS UTF-8 ALL
            S: * THREAD (5)(6)(4)(2 3)
            S: a2 OK Thread completed.
            C: a3 UID THREAD REFS UTF-8 ALL
            S: * THREAD (5)(6)(4)(2 3)
            S: * 1 EXPUNGE
            S: * 5 RECENT
            S: a3 OK Thread completed.
        """, conn)

    await in_thread(scenario)
