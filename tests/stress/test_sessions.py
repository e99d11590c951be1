"""Many sessions of one user in the same folders, each keeping track of what
the server told it (RFC 3501 §7.4.1, RFC 7162 §3.1): at every checkpoint all
sessions agree on every message's UID, flags and MODSEQ, and their tracked
state equals what the server answers; sequence numbers never point at the
wrong UID, a message's MODSEQ never goes down, and \\Recent is in exactly one
session (RFC 3501 §2.3.2). Random but seeded, and bounded in time."""

from __future__ import annotations

import random
import re
import socket
import threading
import time

import pytest_twisted
from twisted.internet import threads

SEED = 20261124
F1_SESSIONS, F2_SESSIONS = 8, 3
ROUNDS, OPS_PER_ROUND = 10, 20
FLAGS = ("\\Seen", "\\Flagged", "\\Answered", "$Chat", "$Pinned")

_EXISTS = re.compile(rb"\* (\d+) EXISTS$")
_EXPUNGE = re.compile(rb"\* (\d+) EXPUNGE$")
_FETCH = re.compile(rb"\* (\d+) FETCH \((.*)\)$")
_UID = re.compile(rb"\bUID (\d+)")
_FLAGS = re.compile(rb"\bFLAGS \(([^)]*)\)")
_MODSEQ = re.compile(rb"\bMODSEQ \((\d+)\)")


class Tracked:
    """One session and the folder state it has been told of."""

    def __init__(self, port: int, number: int, folder: str, other: str, rng: random.Random) -> None:
        self.number, self.folder, self.other, self.rng = number, folder, other, rng
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""
        self.tags = 0
        self.uids: list[int | None] = []      # sequence number - 1 -> UID (None: not learned yet)
        self.flags: dict[int, frozenset[str]] = {}
        self.modseq: dict[int, int] = {}
        self.recent: set[int] = set()
        self.errors: list[str] = []
        self.commands = 0
        self.read_line()  # greeting
        self.command("LOGIN user1 pass")
        self.command("ENABLE CONDSTORE")
        self.command(f"SELECT {folder}")

    # -- wire ------------------------------------------------------------------
    def read_line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"session {self.number}: server closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def command(self, line: str, literal: bytes | None = None, may_fail: bytes = b"\0") -> bytes:
        """Send one command, track every untagged response, return the tagged one.
        ``may_fail``: a NO answer starting so is expected, not an error."""
        self.tags += 1
        self.commands += 1
        tag = b"t%d" % self.tags
        if literal is None:
            self.sock.sendall(tag + b" " + line.encode() + b"\r\n")
        else:  # LITERAL+: no continuation to wait for
            self.sock.sendall(tag + b" " + line.encode() + b" {%d+}\r\n" % len(literal) + literal + b"\r\n")
        while True:
            got = self.read_line()
            if got.startswith(tag + b" "):
                if not got.startswith(tag + b" OK") and not got.startswith(tag + b" " + may_fail):
                    self.errors.append(f"session {self.number}: {line!r} -> {got!r}")
                return got
            self.observe(got)

    def idle(self) -> None:
        self.tags += 1
        self.commands += 1
        tag = b"t%d" % self.tags
        self.sock.sendall(tag + b" IDLE\r\n")
        while not (got := self.read_line()).startswith(b"+"):
            self.observe(got)
        time.sleep(self.rng.uniform(0.005, 0.03))
        self.sock.sendall(b"DONE\r\n")
        while not (got := self.read_line()).startswith(tag + b" "):
            self.observe(got)

    # -- what the server says ----------------------------------------------------
    def observe(self, line: bytes) -> None:
        if m := _EXISTS.match(line):
            count = int(m.group(1))
            if count < len(self.uids):
                self.errors.append(f"session {self.number}: EXISTS went down to {count} from {len(self.uids)}")
            self.uids.extend([None] * (count - len(self.uids)))
        elif m := _EXPUNGE.match(line):
            seq = int(m.group(1))
            if not 1 <= seq <= len(self.uids):
                self.errors.append(f"session {self.number}: EXPUNGE {seq} beyond {len(self.uids)}")
                return
            uid = self.uids.pop(seq - 1)
            if uid is not None:
                self.flags.pop(uid, None)
                self.recent.discard(uid)
        elif m := _FETCH.match(line):
            self.fetched(int(m.group(1)), m.group(2))

    def fetched(self, seq: int, items: bytes) -> None:
        if not 1 <= seq <= len(self.uids):
            self.errors.append(f"session {self.number}: FETCH for sequence {seq} beyond {len(self.uids)}")
            return
        known = self.uids[seq - 1]
        if m := _UID.search(items):
            uid = int(m.group(1))
            if known is not None and known != uid:
                self.errors.append(f"session {self.number}: sequence {seq} is UID {known}, server says {uid}")
            self.uids[seq - 1] = known = uid
        if known is None:
            return  # learned below, with its flags
        if m := _MODSEQ.search(items):
            modseq = int(m.group(1))
            if modseq < self.modseq.get(known, 0):
                self.errors.append(f"session {self.number}: MODSEQ of UID {known} went down")
            self.modseq[known] = modseq
        if m := _FLAGS.search(items):
            flags = frozenset(m.group(1).decode().split())
            if "\\Recent" in flags:
                self.recent.add(known)
            self.flags[known] = flags - {"\\Recent"}

    def learn(self) -> None:
        """New messages announced by EXISTS: ask their UIDs, as a client does."""
        if None in self.uids:
            first = self.uids.index(None) + 1
            # Another session may have expunged some of them already, unannounced
            # to this one: the server says so (RFC 2180 §4.1.2, RFC 5530) and the
            # EXPUNGE comes later; what is still unknown is asked again then.
            self.command(f"FETCH {first}:* (UID FLAGS MODSEQ)", may_fail=b"NO [EXPUNGEISSUED]")

    # -- what the session does ------------------------------------------------------
    def some_uid(self) -> int | None:
        known = [uid for uid in self.uids if uid is not None]
        return self.rng.choice(known) if known else None

    def random_op(self) -> None:
        rng = self.rng
        op = rng.choice(["append", "append", "store", "store", "store", "copy", "move", "expunge", "noop", "idle"])
        uid = self.some_uid()
        flags = " ".join(rng.sample(FLAGS, rng.randint(0, 2)))
        if op == "append" or uid is None:
            target = rng.choice([self.folder, self.other])
            self.command(f"APPEND {target} ({flags})", b"Subject: %d\r\n\r\nfrom session %d\r\n"
                         % (rng.randrange(10 ** 6), self.number))
        elif op == "store":
            self.command(f"UID STORE {uid} {rng.choice('+-')}FLAGS ({flags})")
        elif op == "copy":
            self.command(f"UID COPY {uid} {self.other}")
        elif op == "move":
            self.command(f"UID MOVE {uid} {self.other}")
        elif op == "expunge":
            self.command(f"UID STORE {uid} +FLAGS.SILENT (\\Deleted)")
            self.command("EXPUNGE")
        elif op == "noop":
            self.command("NOOP")
        else:
            self.idle()
        self.learn()

    def snapshot(self) -> list[tuple[int, frozenset[str], int, bool]]:
        """What the server says now, read apart from the tracked state."""
        self.command("NOOP")
        self.learn()
        self.tags += 1
        tag = b"t%d" % self.tags
        self.sock.sendall(tag + b" FETCH 1:* (UID FLAGS MODSEQ)\r\n" if self.uids else tag + b" NOOP\r\n")
        seen = []
        while not (got := self.read_line()).startswith(tag + b" "):
            m = _FETCH.match(got)
            if m is None:
                self.errors.append(f"session {self.number}: unexpected {got!r} in a quiet checkpoint")
                continue
            items = m.group(2)
            flags = frozenset(_FLAGS.search(items).group(1).decode().split())
            seen.append((int(_UID.search(items).group(1)), flags - {"\\Recent"},
                         int(_MODSEQ.search(items).group(1)), "\\Recent" in flags))
        return seen

    def tracked(self) -> list[tuple[int, frozenset[str], int, bool]]:
        return [(uid, self.flags.get(uid), self.modseq.get(uid), uid in self.recent) for uid in self.uids]


def checkpoint(sessions: list[Tracked], when: str) -> list[str]:
    problems = []
    snapshots = {}
    for session in sessions:
        snapshots[session.number] = session.snapshot()
        if snapshots[session.number] != session.tracked():
            problems.append(f"{when}: session {session.number} tracked state differs from the server's")
    for folder in {s.folder for s in sessions}:
        group = [s for s in sessions if s.folder == folder]
        views = {s.number: [(uid, flags, modseq) for uid, flags, modseq, _ in snapshots[s.number]] for s in group}
        first = views[group[0].number]
        for number, view in views.items():
            if view != first:
                problems.append(f"{when}: sessions {group[0].number} and {number} disagree on {folder}")
        for index, (uid, *_rest) in enumerate(first):
            holders = [s.number for s in group if snapshots[s.number][index][3]]
            if len(holders) != 1:
                problems.append(f"{when}: UID {uid} of {folder} is \\Recent in sessions {holders}")
    return problems


@pytest_twisted.ensureDeferred
async def test_rfc3501_rfc7162_many_sessions_stay_consistent(server):
    def scenario():
        rng = random.Random(SEED)
        setup = Tracked(server.port, -1, "INBOX", "INBOX", rng)
        setup.command("CREATE F1")
        setup.command("CREATE F2")
        setup.command("LOGOUT")
        sessions = [Tracked(server.port, i, "F1", "F2", random.Random(SEED + i)) for i in range(F1_SESSIONS)]
        sessions += [Tracked(server.port, F1_SESSIONS + i, "F2", "F1", random.Random(SEED + 100 + i))
                     for i in range(F2_SESSIONS)]
        problems: list[str] = []
        started = time.monotonic()
        for round_number in range(ROUNDS):
            def work(session: Tracked) -> None:
                try:
                    for _ in range(OPS_PER_ROUND):
                        session.random_op()
                except Exception as error:  # a dead session is an inconsistency too
                    session.errors.append(f"session {session.number}: {error!r}")
            workers = [threading.Thread(target=work, args=(s,)) for s in sessions]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join(timeout=60)
            problems += checkpoint(sessions, f"round {round_number}")
        problems += [error for s in sessions for error in s.errors]
        commands = sum(s.commands for s in sessions)
        elapsed = time.monotonic() - started
        sizes = {folder: len(next(s for s in sessions if s.folder == folder).uids) for folder in ("F1", "F2")}
        for session in sessions:
            session.sock.close()
        return problems, commands, elapsed, sizes

    problems, commands, elapsed, sizes = await threads.deferToThread(scenario)
    assert problems == [], f"seed {SEED}: {len(problems)} inconsistencies, first: {problems[:5]}"
    # The run did what it says: many commands, messages left in both folders.
    assert commands > (F1_SESSIONS + F2_SESSIONS) * ROUNDS * OPS_PER_ROUND
    assert sizes["F1"] > 0 and sizes["F2"] > 0
    print(f"{commands} commands from {F1_SESSIONS + F2_SESSIONS} sessions in {elapsed:.1f} s, "
          f"0 inconsistencies; F1 {sizes['F1']} and F2 {sizes['F2']} messages")
