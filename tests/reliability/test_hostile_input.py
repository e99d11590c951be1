"""Hostile input through a live session (issue 10): every input is answered
with a tagged BAD or NO (or OK), the session and the server go on, another
user's session and data are untouched, and a client that pipelines without
reading holds a bounded amount of server memory.

The corpus is seeded and deterministic, so a failure can be replayed; the
numbers tried are printed for docs/reliability.rst (``pytest -s``)."""

from __future__ import annotations

import random
import re
import threading

import pytest_twisted
from conftest import in_thread
from imapsession import append
from transcript import Connection, logged_in as _login
from twisted.internet import reactor, task

from cpmstore.server.protocol import MAX_QUEUED_COMMANDS

SEED = 3501
MUTATIONS = 2500
MESSAGE = b"From: a@example.com\r\nSubject: hello\r\nMessage-ID: <m@x>\r\n\r\nbody text\r\n"

# Commands a device sends in a selected folder; the mutations start here.
# No literals (a mutated octet count would make the server wait for data
# that never comes, which is correct framing, not a fault) and nothing that
# ends the session or waits for a continuation.
BASE = [
    b"NOOP", b"CAPABILITY", b"CHECK", b"NAMESPACE", b'ID ("name" "fuzz")',
    b"FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE)",
    b"UID FETCH 1:* (FLAGS MODSEQ) (CHANGEDSINCE 1)",
    b"FETCH 2 (BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)]<0.20> BINARY.PEEK[1] BINARY.SIZE[1])",
    b"FETCH 1 (BODY.PEEK[1.2.3.MIME] PREVIEW SAVEDATE)",
    b"STORE 1:2 +FLAGS.SILENT (\\Seen $Label)", b"UID STORE 1:* (UNCHANGEDSINCE 5) -FLAGS (\\Flagged)",
    b'SEARCH CHARSET UTF-8 OR SUBJECT "hello" NOT HEADER Message-ID "x" SINCE 1-Jan-2020',
    b"UID SEARCH RETURN (MIN MAX COUNT SAVE) UID 1:* NOT DELETED",
    b"SORT (REVERSE ARRIVAL SUBJECT) UTF-8 ALL", b"THREAD REFERENCES UTF-8 ALL",
    b'LIST "" "*" RETURN (STATUS (MESSAGES UIDNEXT HIGHESTMODSEQ) SPECIAL-USE)',
    b'STATUS "Fuzz" (MESSAGES UNSEEN UIDVALIDITY SIZE)', b'LSUB "" "%"',
    b'CREATE "Fuzz/&AOk-t&AOk-"', b'RENAME "Fuzz/&AOk-t&AOk-" "Fuzz/winter"', b'DELETE "Fuzz/winter"',
    b"COPY 1 Fuzz", b"UID MOVE 999 Fuzz", b"EXPUNGE", b"UID EXPUNGE 3000:*",
    b'GETACL "Fuzz"', b'MYRIGHTS "Fuzz"', b'SETACL "Fuzz" user3 +lr', b'LISTRIGHTS "Fuzz" user3',
    b'GETMETADATA (DEPTH infinity) "Fuzz" /shared', b'SETMETADATA "Fuzz" (/private/comment "x")',
    b"GETQUOTAROOT Fuzz", b"ENABLE CONDSTORE QRESYNC UTF8=ACCEPT", b'EXAMINE "Fuzz"', b'SELECT "Fuzz"',
    b'GENURLAUTH "imap://user1@127.0.0.1/Fuzz;UIDVALIDITY=1/;UID=1;urlauth=anonymous" INTERNAL',
    b"UNSELECT", b"CLOSE", b'SELECT "Fuzz" (CONDSTORE)',
]
# Octets and tokens that break parsers: specials, quoting, huge and zero
# numbers, wildcards, invalid modified UTF-7 and UTF-8, deep nesting.
HOSTILE = [
    b"(", b")", b"[", b"]", b"<", b">", b'"', b"\\", b"*", b"%", b" ", b"", b"\x00", b"\x7f", b"\xff\xfe",
    b"1:4294967295", b"4294967295", b"4294967296", b"0", b"*:*", b"1:*,*:1", b"-1", b"99999999999999999999",
    b"&Jjo", b"&", b"&-", b"&AOk", b"\xc3\x28", b"NIL", b"()", b"(((((((((((", b")))))))))",
    b"BODY[", b"BINARY[1.0]", b"<4294967295.4294967295>", b"UTF-8", b"CHARSET", b"RETURN ()",
]
ENDS_SESSION = re.compile(rb"(?i)\b(IDLE|AUTHENTICATE|LOGOUT|STARTTLS|NOTIFY)\b|\{")


def _mutated(rng: random.Random) -> bytes:
    if rng.random() < 0.4:
        # Swap one word for a hostile token: the command keeps its shape, so
        # the input gets past the parser into the handlers.
        words = rng.choice(BASE).split(b" ")
        words[rng.randrange(1, len(words)) if len(words) > 1 else 0] = rng.choice(HOSTILE)
        return b" ".join(words)
    line = bytearray(rng.choice(BASE))
    for _ in range(rng.randint(1, 3)):
        at = rng.randint(0, len(line))
        choice = rng.random()
        if choice < 0.4:
            line[at:at] = rng.choice(HOSTILE)
        elif choice < 0.7:
            del line[at:at + rng.randint(1, 8)]
        elif choice < 0.9:
            line[at:at] = bytes(rng.randint(1, 255) for _ in range(rng.randint(1, 6)))
        else:
            line[at:at] = line[:at]  # repeat a prefix: long and nested
    return bytes(line).replace(b"\r", b"").replace(b"\n", b"")


def corpus(seed: int = SEED, count: int = MUTATIONS) -> list[bytes]:
    rng = random.Random(seed)
    inputs = []
    while len(inputs) < count:
        candidate = _mutated(rng)
        if not ENDS_SESSION.search(candidate):
            inputs.append(candidate)
    return inputs


def _append(conn: Connection, folder: bytes, message: bytes = MESSAGE) -> None:
    assert append(conn, folder, message).startswith(b"ap OK")


def _answered(conn: Connection, line: bytes, sentinel: bytes) -> list[bytes]:
    """Send ``line`` and a NOOP behind it; every line up to the NOOP's OK."""
    conn.send(line + b"\r\n" + sentinel + b" NOOP\r\n")
    lines = conn.until(sentinel)
    assert lines[-1].startswith(sentinel + b" OK"), (line, lines)
    return lines[:-1]


def _well_formed(line: bytes) -> bool:
    """A response line, and not a sign of a crash: no BYE, no internal error."""
    if b"[SERVERBUG]" in line:
        return False
    if line.startswith(b"* "):
        return not line.startswith(b"* BYE")
    tag, _, rest = line.partition(b" ")
    return bool(tag) and rest[:3] in (b"OK ", b"NO ", b"BAD")


@pytest_twisted.ensureDeferred
async def test_mutated_commands_get_bad_or_no_and_nothing_else_breaks(server):
    inputs = corpus()

    def scenario() -> dict[str, int]:
        victim = _login(server.port, b"user2")
        assert victim.command(b"c", b"CREATE Private")[-1].startswith(b"c OK")
        _append(victim, b"Private")
        before = victim.command(b"f", b"UID FETCH 1:* (UID FLAGS BODY.PEEK[])")

        conn = _login(server.port)
        assert conn.command(b"c", b"CREATE Fuzz")[-1].startswith(b"c OK")
        for _ in range(3):
            _append(conn, b"Fuzz")
        assert conn.command(b"s", b"SELECT Fuzz")[-1].startswith(b"s OK")
        results = {"OK": 0, "NO": 0, "BAD": 0}
        for number, line in enumerate(inputs):
            tag = b"f%d" % number
            answer = _answered(conn, tag + b" " + line, b"z%d" % number)
            assert answer and all(_well_formed(got) for got in answer), (line, answer)
            tagged = [got for got in answer if not got.startswith(b"* ")]
            untagged_bad = [got for got in answer if got.startswith(b"* BAD")]
            assert len(tagged) + len(untagged_bad) >= 1, (line, answer)
            for got in tagged[-1:] or untagged_bad[-1:]:
                word = got.split(b" ")[1].decode()
                results[word] += 1
            # Keep a folder selected for the next input, whatever this one did.
            if number % 50 == 49:
                conn.command(b"r%d" % number, b"CREATE Fuzz")
                assert conn.command(b"q%d" % number, b"SELECT Fuzz")[-1].startswith(b"q%d OK" % number)
        conn.close()

        # The other user's session and data are exactly as they were.
        assert victim.command(b"f", b"UID FETCH 1:* (UID FLAGS BODY.PEEK[])") == before
        assert victim.command(b"n", b"NOOP")[-1].startswith(b"n OK")
        victim.close()
        return results

    results = await in_thread(scenario)
    print(f"\nhostile input: {len(inputs)} mutated commands through a live session -> {results}")
    assert sum(results.values()) == len(inputs)
    assert results["BAD"] > 0 and results["NO"] > 0  # the corpus does reach the error paths


@pytest_twisted.ensureDeferred
async def test_limits_and_nesting_answered_with_bad_or_no(server):
    """Sizes and depths that could exhaust the parser or the evaluator."""
    deep = 3000
    cases = [
        b"FETCH 1:4294967295 (FLAGS)", b"UID FETCH 1:4294967295 (FLAGS)",
        b"STORE 1:4294967295 +FLAGS (\\Seen)", b"UID STORE 1:4294967295 +FLAGS (\\Seen)",
        b"COPY 1:4294967295 Other", b"UID MOVE 4294967295 Other", b"UID EXPUNGE 1:4294967295",
        b"SEARCH 1:4294967295 UID 1:4294967295", b"FETCH 4294967296 FLAGS", b"FETCH 0 FLAGS",
        b"FETCH 1 " + b"(" * deep + b"FLAGS" + b")" * deep,
        b"SEARCH " + b"NOT " * deep + b"ALL",
        b"SEARCH " + b"OR ALL " * deep + b"ALL",
        b"SEARCH " + b"(" * deep + b"ALL" + b")" * deep,
        b"FETCH " + b",".join(b"%d" % n for n in range(1, 8000, 2)) + b" FLAGS",
        b'CREATE "&Jjo"', b'CREATE "&"', b'CREATE "a\xff\xfeb"', b'SELECT "&AOk"',
        b'LIST "" "' + b"*%" * 2000 + b'"',
        b"ID (" + b'"k" "v" ' * 2000 + b")",
        b"STORE 1 +FLAGS (" + b"$k " * 5000 + b")",
    ]

    def scenario() -> None:
        conn = _login(server.port)
        assert conn.command(b"c", b"CREATE Other")[-1].startswith(b"c OK")
        _append(conn, b"Other")
        assert conn.command(b"s", b"SELECT Other")[-1].startswith(b"s OK")
        for number, line in enumerate(cases):
            tag = b"h%d" % number
            answer = _answered(conn, tag + b" " + line, b"z%d" % number)
            assert all(_well_formed(got) for got in answer), (line[:80], answer[-1:])
            assert answer[-1].startswith(tag + b" "), (line[:80], answer[-1:])
        # The message is still there and whole.
        fetched = conn.command(b"f", b"FETCH 1 (BODY.PEEK[])")
        assert MESSAGE in fetched[0]
        conn.close()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_4_3_literal_that_lies_about_its_size_only_frames_what_follows(server):
    """A literal announces 20 octets and sends 5: the server takes the next
    15 octets as literal data (it cannot know better), answers the command,
    and the session frames correctly from there on."""
    def scenario() -> None:
        conn = _login(server.port)
        conn.send(b"a APPEND INBOX {20+}\r\nshort")
        swallowed = b"\r\nb NOOP\r\nxxxxx"  # the 15 octets more the server takes as data
        assert len(b"short" + swallowed) == 20
        conn.send(swallowed + b"\r\n")
        lines = conn.until(b"a")
        assert lines[-1].startswith((b"a OK", b"a NO", b"a BAD")), lines
        assert conn.command(b"c", b"NOOP")[-1].startswith(b"c OK")
        conn.close()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_5_5_pipeline_of_10000_commands_answered_in_order(server):
    count = 10_000

    def scenario() -> None:
        conn = _login(server.port)
        assert conn.command(b"c", b"CREATE Pipe")[-1].startswith(b"c OK")
        _append(conn, b"Pipe")
        assert conn.command(b"s", b"SELECT Pipe")[-1].startswith(b"s OK")
        kinds = [b"NOOP", b"FETCH 1 (FLAGS)", b"UID SEARCH ALL", b'STATUS "Pipe" (MESSAGES)']
        batch = b"".join(b"p%d %s\r\n" % (n, kinds[n % 4]) for n in range(count))
        sender = threading.Thread(target=conn.send, args=(batch,))
        sender.start()  # the server stops reading while it is behind; read meanwhile
        for n in range(count):
            lines = conn.until(b"p%d" % n)
            assert lines[-1].startswith(b"p%d OK" % n), lines
        sender.join()
        conn.close()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_client_that_pipelines_without_reading_holds_bounded_server_memory(server):
    """20,000 FETCHes sent, nothing read for a while: the server answers until
    the socket is full, then stops reading; its queue of commands and its
    output buffer stay bounded. Then every answer arrives, in order."""
    count = 20_000
    samples = {"queue": 0, "output": 0}

    def sample() -> None:
        for protocol in server.running.context.protocols:
            samples["queue"] = max(samples["queue"], len(protocol.queue))
            transport = protocol.transport
            buffered = len(getattr(transport, "dataBuffer", b"")) + getattr(transport, "_tempDataLen", 0)
            samples["output"] = max(samples["output"], buffered)

    sampler = task.LoopingCall(sample)
    sampler.clock = reactor
    sampler.start(0.002)
    release = threading.Event()

    def scenario() -> None:
        conn = _login(server.port)
        assert conn.command(b"c", b"CREATE Flood")[-1].startswith(b"c OK")
        _append(conn, b"Flood", MESSAGE + b"x" * 4000 + b"\r\n")
        assert conn.command(b"s", b"SELECT Flood")[-1].startswith(b"s OK")
        batch = b"".join(b"q%d FETCH 1 (BODY.PEEK[])\r\n" % n for n in range(count))
        sender = threading.Thread(target=conn.send, args=(batch,))
        sender.start()
        release.wait(1.5)  # the client reads nothing meanwhile
        for n in range(count):
            lines = conn.until(b"q%d" % n)
            assert lines[-1].startswith(b"q%d OK" % n)
        sender.join()
        conn.close()

    try:
        await in_thread(scenario)
    finally:
        sampler.stop()
    print(f"\nflood: {count} FETCH of 4 KB unread: queue <= {samples['queue']} commands, "
          f"output buffer <= {samples['output']} bytes")
    one_read = 65536 // len(b"q0 FETCH 1 (BODY.PEEK[])\r\n") + 1
    assert samples["queue"] <= MAX_QUEUED_COMMANDS + one_read
    assert samples["output"] <= 1024 * 1024  # a few responses, never the 80 MB of all of them


@pytest_twisted.ensureDeferred
async def test_slow_loris_is_closed_at_the_login_timeout_and_others_go_on(start):
    """Clients that dribble a LOGIN a byte at a time never log in, so each is
    closed with BYE at ``login_timeout`` however busy it keeps the socket;
    meanwhile a normal client logs in and works."""
    from cpmstore.config import LimitsConfig

    server = await start(limits=LimitsConfig(login_failure_delay=0.0, login_timeout=2))

    def scenario() -> None:
        slow = [Connection(server.port) for _ in range(20)]
        for conn in slow:
            assert conn.read_line().startswith(b"* OK")
        line = b"a LOGIN user1 " + b"x" * 200
        closed = []
        for octet in range(len(line)):
            for conn in slow:
                if conn in closed:
                    continue
                try:
                    conn.send(line[octet:octet + 1])
                except OSError:
                    closed.append(conn)
            if octet == 5:
                normal = _login(server.port)
                assert normal.command(b"n", b"NOOP")[-1].startswith(b"n OK")
                normal.close()
            threading.Event().wait(0.02)
            if len(closed) == len(slow):
                break
        for conn in slow:
            conn.sock.settimeout(5)
            assert conn.read_line() == b"* BYE Login timed out."
            conn.close()

    await in_thread(scenario)
