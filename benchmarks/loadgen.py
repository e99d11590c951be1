"""Load generator: many IMAP sessions from one process (or several), each tracking what the server must hold.

    python benchmarks/loadgen.py [--target cpmstore|dovecot|both] [--mix mixed|persistent|append]
                                 [--clients 10] [--duration 60 | --commands N] [--shared K] [--processes P]
                                 [--workers N] [--fsync always|optimized] [--rounds R]

It owns: driving N concurrent sessions over raw IMAP (asyncio streams, LITERAL+ `{n+}` literals, no client
library) through a mix of commands, timing every command, and keeping per session an exact model of the
folder it works in, checked on every answer and by a verification `FETCH 1:* (UID FLAGS)` every K cycles.
Errors are what a correct server never causes: a tagged NO/BAD/BYE, a dropped connection, a message that
the model says exists and the server lacks (or the reverse), a flag set that differs, a body that is not
the bytes appended, a sequence number that maps to another UID than the one tracked, a UID reused or out of
order, UIDVALIDITY changing. With `--shared K` K sessions of one user work in the same folder: each owns the
messages it appended (only it changes their flags) and follows the others through the untagged EXISTS,
EXPUNGE and FETCH responses (RFC 3501 §7.3.1, §7.4.1, §7.4.2), which is what a syncing client relies on.

The mixes (one cycle each):
  mixed       LOGIN, LIST, STATUS, SELECT, UID FETCH 1:* (FLAGS), UID FETCH of 3 bodies, UID STORE a flag,
              UID STORE \\Deleted + EXPUNGE of the oldest own message, APPEND one, LOGOUT (new connection)
  persistent  the same on one connection per session (no LOGIN/LOGOUT per cycle)
  append      APPEND only, one connection per session (STATUS MESSAGES checked every K appends)

cpmstore is started as a `twistd` subprocess (benchmarks/large_folder.cpmstore_server) with users
load1..loadN / pass; Dovecot is the running reference (shared/tools/dovecot), sessions spread over its users.
With `--rounds R` each server's load is R shorter runs, the servers taking turns A B B A ... (`round_order`),
and its figures are those of its runs together: drift of a shared machine then weighs on both alike.
It never asserts on a time, never retries, talks to 127.0.0.1 only and deletes its folders at the end
(unless --keep). See benchmarks/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import multiprocessing
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

import gen_cpm
import imapbench
import large_folder

MIXES = ("mixed", "persistent", "append")
BODIES_PER_CYCLE = 3
MESSAGE_POOL = 200  # distinct gen_cpm messages the sessions append, round robin
MAX_ERROR_SAMPLES = 20
READ_LIMIT = 1 << 20  # longest response line; FLAGS and LIST lines are far shorter

_LITERAL = re.compile(rb"\{(\d+)\+?\}$")
_NUMBERED = re.compile(rb"\* (\d+) (EXISTS|EXPUNGE|FETCH)\b", re.IGNORECASE)
_UID = re.compile(rb"\bUID (\d+)", re.IGNORECASE)
_FLAGS = re.compile(rb"\bFLAGS \(([^)]*)\)", re.IGNORECASE)
_APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]", re.IGNORECASE)
_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]", re.IGNORECASE)
_MESSAGES = re.compile(rb"\bMESSAGES (\d+)", re.IGNORECASE)
_UIDNEXT = re.compile(rb"\bUIDNEXT (\d+)", re.IGNORECASE)
_RECENT = b"\\recent"  # session-specific (RFC 3501 §2.3.2): never part of the model
_DELETED = b"\\deleted"
_TOGGLED = (b"\\Flagged", b"\\Answered")


@dataclasses.dataclass(frozen=True, slots=True)
class Options:
    mix: str = "persistent"
    clients: int = 10
    duration: float = 60.0  # seconds of measured load, unless `commands` bounds it
    commands: int | None = None  # stop every session after this many measured commands in all (per process)
    messages: int = 20  # messages each session appends to its folder before the measured phase
    verify_every: int = 5  # cycles between verification FETCHes (append mix: appends between STATUS checks)
    shared: int = 1  # sessions per folder
    processes: int = 1
    seed: int = 1
    keep: bool = False
    run_id: str = ""  # folder name prefix; one per run so runs never meet


@dataclasses.dataclass(slots=True)
class Stats:
    """What sessions measured; merged across sessions and processes."""

    latencies: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    errors: int = 0
    error_samples: list[str] = dataclasses.field(default_factory=list)
    verifications: int = 0
    cycles: int = 0
    seconds: float = 0.0  # the measured phase's wall time (the longest of the processes)
    cpu_seconds: float = 0.0  # the generator's own CPU time during it, every process summed

    @property
    def commands(self) -> int:
        return sum(len(values) for values in self.latencies.values())

    def error(self, text: str) -> None:
        self.errors += 1
        if len(self.error_samples) < MAX_ERROR_SAMPLES:
            self.error_samples.append(text)

    def merge(self, other: Stats) -> None:
        for name, values in other.latencies.items():
            self.latencies.setdefault(name, []).extend(values)
        self.errors += other.errors
        self.error_samples.extend(other.error_samples[: MAX_ERROR_SAMPLES - len(self.error_samples)])
        self.verifications += other.verifications
        self.cycles += other.cycles
        self.seconds = max(self.seconds, other.seconds)
        self.cpu_seconds += other.cpu_seconds


class Budget:
    """When the measured phase of one process ends: a deadline, or a number of commands."""

    def __init__(self, duration: float, commands: int | None) -> None:
        self.deadline = time.monotonic() + duration if commands is None else None
        self.remaining = commands

    def more(self) -> bool:
        if self.deadline is not None:
            return time.monotonic() < self.deadline
        return self.remaining > 0

    def spend(self) -> None:
        if self.remaining is not None:
            self.remaining -= 1


class SessionError(Exception):
    """The connection can no longer be trusted (closed, or an answer the framing cannot follow)."""


def _flags(text: bytes) -> frozenset[bytes]:
    return frozenset(flag.lower() for flag in text.split()) - {_RECENT}


class Session:
    """One simulated device: a connection, the folder it works in, and the model of that folder.

    `view` is the folder as the server has described it to this connection, in sequence order (UID or None
    until a FETCH names it, flags); `owned` maps every UID this session appended and has not expunged to
    the flags it must carry; `bodies` to the bytes it must return. Only the owner changes its messages.
    """

    def __init__(self, number: int, port: int, user: str, password: str, folder: str, exclusive: bool,
                 options: Options, pool: Sequence[bytes], stats: Stats, budget: Budget) -> None:
        self.number, self.port, self.user, self.password = number, port, user, password
        self.folder, self.exclusive, self.options = folder, exclusive, options
        self.pool, self.stats, self.budget = pool, stats, budget
        self.rng = random.Random(options.seed * 100_003 + number)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.tag_number = 0
        self.measuring = False
        self.selected = False
        self.view_uids: list[int | None] = []
        self.view_flags: list[frozenset[bytes] | None] = []
        self.owned: dict[int, frozenset[bytes]] = {}
        self.bodies: dict[int, bytes] = {}
        self.gone: set[int] = set()  # UIDs this session expunged: never seen again
        self.highest_uid = 0  # the highest UID the server has shown this session in the folder
        self.uidvalidity: int | None = None
        self.appended = 0
        # what the untagged responses of the current command said, for the command to check
        self.expunged: list[int | None] = []
        self.fetched: list[tuple[int, int | None, frozenset[bytes] | None, tuple[bytes, ...]]] = []
        self.status_lines: list[bytes] = []
        self.arrived = 0  # messages EXISTS added during the command

    # -- wire -----------------------------------------------------------------------------------------
    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port, limit=READ_LIMIT)
        greeting, _ = await self._read_response()
        if not greeting.upper().startswith(b"* OK"):
            raise SessionError(f"greeting {greeting[:80]!r}")
        self.selected = False
        credentials = imapbench.quoted(self.user) + b" " + imapbench.quoted(self.password)
        await self.command("LOGIN", b"LOGIN " + credentials)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None
        self.selected = False

    async def logout(self) -> None:
        await self.command("LOGOUT", b"LOGOUT", bye_expected=True)
        self.close()

    async def _read_response(self) -> tuple[bytes, tuple[bytes, ...]]:
        """One response: its text (each literal's `{n}` kept, its bytes left out) and its literals."""
        try:
            line = (await self.reader.readuntil(b"\r\n"))[:-2]
            if not line.endswith(b"}"):
                return line, ()
            parts: list[bytes] = []
            literals: list[bytes] = []
            # Bounded by the server: each turn reads one literal and the line after it.
            while (match := _LITERAL.search(line)) is not None:
                parts.append(line)
                literals.append(await self.reader.readexactly(int(match.group(1))))
                line = (await self.reader.readuntil(b"\r\n"))[:-2]
            parts.append(line)
            return b"".join(parts), tuple(literals)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError) as failure:
            raise SessionError(f"connection lost: {type(failure).__name__}") from None

    async def command(self, name: str, line: bytes, bye_expected: bool = False) -> tuple[bool, bytes]:
        """Send one command, apply its untagged responses to the view, time it; (OK?, the tagged line).

        A tagged NO or BAD is counted as an error here (the mixes only send what must succeed)."""
        self.tag_number += 1
        tag = b"L%d" % self.tag_number
        self.expunged, self.fetched, self.status_lines = [], [], []
        self.arrived = 0
        started = time.perf_counter()
        self.writer.write(tag + b" " + line + b"\r\n")
        prefix = tag + b" "
        # Bounded by the server: every turn consumes one response or raises on a closed connection.
        while True:
            text, literals = await self._read_response()
            if text.startswith(prefix):
                break
            if text.startswith(b"* "):
                if text[2:5].upper() == b"BYE" and not bye_expected:
                    raise SessionError(f"{name}: unexpected {text[:100]!r}")
                self._untagged(name, text, literals)
            elif text.startswith(b"+"):
                raise SessionError(f"{name}: unexpected continuation request {text[:100]!r}")
        elapsed = time.perf_counter() - started
        status = text[len(prefix):].split(b" ", 1)[0].upper()
        if self.measuring:
            self.stats.latencies.setdefault(name, []).append(elapsed)
            self.budget.spend()
        if status != b"OK":
            self.fail(f"{name}: {text[:160]!r}")
        return status == b"OK", text

    def fail(self, text: str) -> None:
        self.stats.error(f"session {self.number} ({self.user} {self.folder}): {text}")

    # -- the model --------------------------------------------------------------------------------------
    def _untagged(self, name: str, text: bytes, literals: tuple[bytes, ...]) -> None:
        match = _NUMBERED.match(text)
        if match is None:
            if text[2:8].upper() == b"STATUS":
                self.status_lines.append(text)
            elif (validity := _UIDVALIDITY.search(text)) is not None:
                self._uidvalidity(int(validity.group(1)))
            return
        number, kind = int(match.group(1)), match.group(2).upper()
        if not self.selected:
            self.fail(f"{name}: {kind.decode()} with no folder selected: {text[:100]!r}")
            return
        if kind == b"EXISTS":
            if number < len(self.view_uids):
                self.fail(f"{name}: EXISTS {number} below {len(self.view_uids)} without EXPUNGE")
                return
            added = number - len(self.view_uids)
            self.arrived += added
            self.view_uids.extend([None] * added)
            self.view_flags.extend([None] * added)
            return
        if not 1 <= number <= len(self.view_uids):
            self.fail(f"{name}: {kind.decode()} of message {number}, the view holds {len(self.view_uids)}")
            return
        index = number - 1
        if kind == b"EXPUNGE":
            self.expunged.append(self.view_uids.pop(index))
            self.view_flags.pop(index)
            return
        uid_match = _UID.search(text)
        uid = int(uid_match.group(1)) if uid_match else None
        if uid is not None:
            known = self.view_uids[index]
            if known is None:
                self._learn_uid(name, index, uid)
            elif known != uid:
                self.fail(f"{name}: message {number} is UID {uid}, tracked as UID {known}")
                return
        flags_match = _FLAGS.search(text)
        flags = _flags(flags_match.group(1)) if flags_match else None
        if flags is not None:
            self.view_flags[index] = flags
        self.fetched.append((number, uid, flags, literals))

    def _learn_uid(self, name: str, index: int, uid: int) -> None:
        before = next((u for u in reversed(self.view_uids[:index]) if u is not None), 0)
        after = next((u for u in self.view_uids[index + 1:] if u is not None), None)
        if uid <= before or (after is not None and uid >= after):
            self.fail(f"{name}: UID {uid} at message {index + 1} is out of order (between {before} and {after})")
        if uid in self.gone:
            self.fail(f"{name}: UID {uid} was expunged and is back")
        self.view_uids[index] = uid
        self.highest_uid = max(self.highest_uid, uid)

    def _uidvalidity(self, value: int) -> None:
        if self.uidvalidity is None:
            self.uidvalidity = value
        elif value != self.uidvalidity:
            self.fail(f"UIDVALIDITY changed from {self.uidvalidity} to {value}")

    def _expect_view_flags(self, name: str, uid: int) -> None:
        """The server just named `uid`'s flags: they must be the model's."""
        for number, fetched_uid, flags, _ in self.fetched:
            if fetched_uid == uid and flags is not None and flags != self.owned[uid]:
                self.fail(f"{name}: UID {uid} has flags {sorted(flags)}, expected {sorted(self.owned[uid])}")

    # -- the steps of a cycle ---------------------------------------------------------------------------
    async def create_and_fill(self, create: bool) -> None:
        if create:
            await self.command("CREATE", b"CREATE " + imapbench.quoted(self.folder))
        for _ in range(self.options.messages):
            await self.append()

    async def list(self) -> None:
        await self.command("LIST", b'LIST "" "*"')

    async def status(self) -> None:
        highest = max(self.highest_uid, max(self.owned, default=0))
        await self.command("STATUS", b"STATUS " + imapbench.quoted(self.folder) + b" (MESSAGES UIDNEXT)")
        if len(self.status_lines) != 1:
            self.fail(f"STATUS: {len(self.status_lines)} STATUS responses")
            return
        messages, uidnext = _MESSAGES.search(self.status_lines[0]), _UIDNEXT.search(self.status_lines[0])
        if messages is None or uidnext is None:
            self.fail(f"STATUS: {self.status_lines[0][:100]!r}")
            return
        if self.exclusive and int(messages.group(1)) != len(self.owned):
            self.fail(f"STATUS: MESSAGES {int(messages.group(1))}, the model holds {len(self.owned)}")
        if int(uidnext.group(1)) <= highest:
            self.fail(f"STATUS: UIDNEXT {int(uidnext.group(1))} not above UID {highest}")

    async def select(self) -> None:
        self.selected = True
        self.view_uids, self.view_flags = [], []
        await self.command("SELECT", b"SELECT " + imapbench.quoted(self.folder))
        if self.exclusive and len(self.view_uids) != len(self.owned):
            self.fail(f"SELECT: EXISTS {len(self.view_uids)}, the model holds {len(self.owned)}")

    async def fetch_flags(self) -> None:
        await self.command("FETCH flags", b"UID FETCH 1:* (FLAGS)")

    async def fetch_bodies(self) -> None:
        live = [uid for uid, flags in self.owned.items() if _DELETED not in flags]
        wanted = sorted(self.rng.sample(live, min(BODIES_PER_CYCLE, len(live))))
        if not wanted:
            return
        await self.command("FETCH bodies", b"UID FETCH " + b",".join(b"%d" % uid for uid in wanted)
                           + b" (BODY.PEEK[])")
        returned = {}
        for number, uid, _, literals in self.fetched:
            if literals:
                returned[uid] = literals[0]
        for uid in wanted:
            if uid not in returned:
                self.fail(f"FETCH bodies: no body for UID {uid}")
            elif returned[uid] != self.bodies[uid]:
                self.fail(f"FETCH bodies: UID {uid} returned {len(returned[uid])} bytes that differ from the "
                          f"{len(self.bodies[uid])} appended")

    async def store(self) -> None:
        live = [uid for uid, flags in self.owned.items() if _DELETED not in flags]
        if not live:
            return
        uid = self.rng.choice(live)
        flag = self.rng.choice(_TOGGLED)
        has = flag.lower() in self.owned[uid]
        ok, _ = await self.command("STORE", b"UID STORE %d %sFLAGS (%s)" % (uid, b"-" if has else b"+", flag))
        if ok:
            self.owned[uid] = self.owned[uid] - {flag.lower()} if has else self.owned[uid] | {flag.lower()}
            self._expect_view_flags("STORE", uid)

    async def expunge_oldest(self) -> None:
        live = [uid for uid, flags in self.owned.items() if _DELETED not in flags]
        if len(live) < 2:  # keep one so the folder is never empty (FETCH 1:* of nothing is a BAD on some)
            return
        uid = min(live)
        ok, _ = await self.command("STORE", b"UID STORE %d +FLAGS.SILENT (\\Deleted)" % uid)
        if ok:
            self.owned[uid] = self.owned[uid] | {_DELETED}
        await self.command("EXPUNGE", b"EXPUNGE")
        expunged = set(self.expunged)
        for owned_uid in [u for u, flags in self.owned.items() if _DELETED in flags]:
            if owned_uid in self.view_uids:
                self.fail(f"EXPUNGE: UID {owned_uid} (\\Deleted) is still in the folder")
            del self.owned[owned_uid]
            del self.bodies[owned_uid]
            self.gone.add(owned_uid)
        if self.exclusive and (None in expunged or not expunged <= self.gone):
            self.fail(f"EXPUNGE: removed {sorted(u or 0 for u in expunged)}, which were not all \\Deleted")

    async def append(self) -> None:
        body = self.pool[(self.number * 7919 + self.appended) % len(self.pool)]
        self.appended += 1
        flags = (b"\\Seen",) if self.rng.random() < 0.5 else ()
        highest = self.highest_uid  # a UID shown during the APPEND may be another session's later one
        ok, reply = await self.command("APPEND", b"APPEND " + imapbench.quoted(self.folder) + b" ("
                                       + b" ".join(flags) + b") {%d+}\r\n" % len(body) + body)
        match = _APPENDUID.search(reply)
        if match is None:
            if ok:
                self.fail(f"APPEND: no APPENDUID in {reply[:100]!r}")
            return
        validity, uid = int(match.group(1)), int(match.group(2))
        self._uidvalidity(validity)
        if uid <= highest or uid in self.gone or uid in self.owned:
            self.fail(f"APPEND: UID {uid} not above every UID seen before ({highest})")
        self.highest_uid = max(self.highest_uid, uid)
        self.owned[uid] = frozenset(flag.lower() for flag in flags)
        self.bodies[uid] = body

    async def verify(self) -> None:
        """UID FETCH every message's flags and compare the folder with the model.

        UID FETCH, not FETCH: another session's EXPUNGE may then be reported during it (RFC 3501 §7.4.1),
        where a FETCH would have to answer NO for a message this session still sees (RFC 2180 §4.1)."""
        self.view_flags = [None] * len(self.view_flags)  # every message must be answered afresh
        await self.command("FETCH verify", b"UID FETCH 1:* (FLAGS)")
        self.stats.verifications += 1
        # Messages announced during the command (another session's APPEND) may fall outside its 1:*.
        answerable = len(self.view_uids) - self.arrived
        unanswered = sum(1 for uid, flags in zip(self.view_uids[:answerable], self.view_flags) if
                         uid is None or flags is None)
        if unanswered:
            self.fail(f"FETCH verify: {unanswered} of {answerable} messages not answered with UID and FLAGS")
        known = [uid for uid in self.view_uids if uid is not None]
        if any(a >= b for a, b in zip(known, known[1:])):
            self.fail("FETCH verify: UIDs are not in ascending order")
        positions = {uid: index for index, uid in enumerate(self.view_uids) if uid is not None}
        for uid, expected in self.owned.items():
            index = positions.get(uid)
            if index is None:
                if self.exclusive or _DELETED not in expected:  # shared: another session may expunge it
                    self.fail(f"FETCH verify: UID {uid} is missing")
            elif self.view_flags[index] != expected:
                self.fail(f"FETCH verify: UID {uid} has flags {sorted(self.view_flags[index] or ())}, "
                          f"expected {sorted(expected)}")
        if self.exclusive:
            extra = sorted(set(positions) - set(self.owned))
            if extra:
                self.fail(f"FETCH verify: UIDs {extra[:5]} are in the folder and not in the model")
        if returned := set(positions) & self.gone:
            self.fail(f"FETCH verify: expunged UIDs {sorted(returned)[:5]} are back")

    async def check_count(self) -> None:
        """The append mix: STATUS MESSAGES must be what this session appended (its folder alone)."""
        await self.status()
        self.stats.verifications += 1

    # -- cycles -----------------------------------------------------------------------------------------
    async def cycle(self, cycle_number: int) -> None:
        mix = self.options.mix
        if self.writer is None:
            await self.connect()
        if mix == "append":
            await self.append()
            if cycle_number % self.options.verify_every == 0 and self.exclusive:
                await self.check_count()
            return
        await self.list()
        await self.status()
        await self.select()
        await self.fetch_flags()
        await self.fetch_bodies()
        await self.store()
        await self.expunge_oldest()
        await self.append()
        if cycle_number % self.options.verify_every == 0:
            await self.verify()
        if mix == "mixed":
            await self.logout()

    async def run(self) -> None:
        """Cycles until the budget ends; a lost connection is an error and a new one is opened."""
        cycle_number = 0
        while self.budget.more():
            cycle_number += 1
            try:
                await self.cycle(cycle_number)
            except (SessionError, OSError) as failure:
                self.fail(str(failure))
                self.close()
            self.stats.cycles += 1


# -- one process's sessions ---------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class Assignment:
    number: int
    user: str
    password: str
    folder: str
    creator: bool  # the first session of its folder creates and finally deletes it
    exclusive: bool


def assignments(options: Options, users: Sequence[tuple[str, str]]) -> list[Assignment]:
    """Session i works in folder i // shared, as user (i // shared) modulo the users there are."""
    out = []
    for number in range(options.clients):
        group = number // options.shared
        user, password = users[group % len(users)]
        out.append(Assignment(
            number=number, user=user, password=password, folder=f"{options.run_id}-f{group}",
            creator=number % options.shared == 0, exclusive=options.shared == 1,
        ))
    return out


async def run_sessions(port: int, options: Options, work: Sequence[Assignment],
                       sample: Callable[[], None] | None = None, sample_every: float = 10.0) -> Stats:
    """Set up every session (not measured), run the mix, then delete the folders; the merged Stats."""
    stats = Stats()
    pool = [message.raw for message in gen_cpm.generate(MESSAGE_POOL, options.seed)]
    setup_budget = Budget(float("inf"), None)
    sessions = [Session(a.number, port, a.user, a.password, a.folder, a.exclusive, options, pool, stats,
                        setup_budget) for a in work]
    creators = [s for s, a in zip(sessions, work) if a.creator]

    async def setup(session: Session, creator: bool) -> None:
        await session.connect()
        await session.create_and_fill(create=creator)
        if options.mix == "mixed":
            await session.logout()

    # Creators first: the other sessions of a shared folder APPEND to it.
    await asyncio.gather(*(setup(s, True) for s in creators))
    await asyncio.gather(*(setup(s, False) for s, a in zip(sessions, work) if not a.creator))

    budget = Budget(options.duration, options.commands)
    for session in sessions:
        session.budget, session.measuring = budget, True
    sampler = asyncio.create_task(_sample_loop(sample, sample_every)) if sample is not None else None
    cpu, started = time.process_time(), time.perf_counter()
    await asyncio.gather(*(session.run() for session in sessions))
    stats.seconds = time.perf_counter() - started
    stats.cpu_seconds = time.process_time() - cpu
    if sampler is not None:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
    for session in sessions:
        session.measuring = False
        if session.writer is not None and options.mix != "mixed":
            with contextlib.suppress(SessionError, OSError):
                await session.logout()
        session.close()
    if not options.keep:
        for session in creators:
            try:
                await session.connect()
                await session.command("DELETE", b"DELETE " + imapbench.quoted(session.folder))
                await session.logout()
            except (SessionError, OSError) as failure:
                session.fail(f"cleanup: {failure}")
    return stats


async def _sample_loop(sample: Callable[[], None], every: float) -> None:
    while True:
        sample()
        await asyncio.sleep(every)


def _process_main(port: int, options: Options, work: list[Assignment]) -> Stats:
    return asyncio.run(run_sessions(port, options, work))


def run(port: int, users: Sequence[tuple[str, str]], options: Options,
        sample: Callable[[], None] | None = None, sample_every: float = 10.0) -> Stats:
    """The whole load against one server: sessions split over `options.processes` processes by folder.

    `sample` (if given) is called every `sample_every` seconds during the measured phase, in this process.
    """
    if options.shared < 1 or options.clients < 1 or options.processes < 1 or options.messages < 1:
        raise ValueError("--clients, --shared, --processes and --messages must be at least 1")
    work = assignments(options, users)
    if options.processes == 1:
        return asyncio.run(run_sessions(port, options, work, sample, sample_every))
    shares: list[list[Assignment]] = [[] for _ in range(options.processes)]
    for a in work:  # a folder's sessions stay in one process, so its creator deletes it after all are done
        shares[(a.number // options.shared) % options.processes].append(a)
    per_process = None if options.commands is None else max(1, options.commands // options.processes)
    child_options = dataclasses.replace(options, commands=per_process, processes=1)
    context = multiprocessing.get_context("fork")
    stats = Stats()
    with context.Pool(len([s for s in shares if s])) as pool:
        pending = pool.starmap_async(_process_main, [(port, child_options, share) for share in shares if share])
        # Bounded by the sessions' own budget: the workers end when it is spent.
        while not pending.ready():
            if sample is not None:
                sample()
            pending.wait(sample_every)
        for part in pending.get():
            stats.merge(part)
    return stats


# -- targets and report -------------------------------------------------------------------------------------
def add_cpmstore_users(target: large_folder.Target, count: int) -> list[tuple[str, str]]:
    """Users load1..loadN / pass in the users file of a server from large_folder.cpmstore_server.

    That server re-reads its users file when the file changes; the new one is written beside it and
    renamed over it, so the server never reads half of it."""
    users_file = target.log_path.parent / "users"
    users = [(f"load{n}", "pass") for n in range(1, count + 1)]
    temporary = users_file.with_suffix(".tmp")
    temporary.write_text(f"{target.user}:{{PLAIN}}{target.password}\n"
                         + "".join(f"{name}:{{PLAIN}}{password}\n" for name, password in users))
    os.replace(temporary, users_file)
    return users


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU jiffies of the whole machine since boot, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [float(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    return sum(fields) - idle, sum(fields)


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name: [state, ppid, ..., utime (11), stime, cutime, cstime, ...]."""
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()


def server_root(port: int, user: str, password: str) -> int:
    """The process whose tree does the server's work: twistd itself, or the Dovecot master (the parent of the
    per-session `imap` process that holds a logged-in connection)."""
    probe = imapbench.Connection(port)
    try:
        probe.login(user, password)
        pid = imapbench.server_pid(probe)
        # Read while the session lives: Dovecot's `imap` process exits at LOGOUT.
        name, parent = imapbench.process_name(pid), int(_stat_fields(pid)[1])
    finally:
        probe.logout()
    return pid if name == "twistd" else parent


def tree_cpu_seconds(root: int) -> float:
    """CPU time of `root` (with its reaped children's) and of its living children. A difference of two
    readings counts every child that ran in between, living or exited, once its parent has reaped it."""
    fields = _stat_fields(root)
    ticks = sum(int(value) for value in fields[11:15])
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                child = _stat_fields(int(entry))
                if int(child[1]) == root:
                    ticks += int(child[11]) + int(child[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


@dataclasses.dataclass(frozen=True, slots=True)
class TargetRun:
    name: str
    stats: Stats
    machine_busy: float  # fraction of all cores busy during the run (every process on the machine)
    server_cpu: float | None  # the server's CPU seconds over the run's wall time, or None if unknown


def run_target(name: str, args: argparse.Namespace, options: Options) -> TargetRun:
    if name == "cpmstore":
        server = large_folder.cpmstore_server(options.keep, workers=getattr(args, "workers", 1),
                                              fsync=getattr(args, "fsync", "always"))
    else:
        first_user = args.dovecot_user.split(",")[0]
        server = large_folder.dovecot_server(args.dovecot_port, first_user, args.dovecot_password)
    with server as target:
        if name == "cpmstore":
            users = add_cpmstore_users(target, -(-options.clients // options.shared))
        else:
            users = [(user, args.dovecot_password) for user in args.dovecot_user.split(",")]
        try:
            root: int | None = server_root(target.port, *users[0])
        except (LookupError, OSError, imapbench.ImapError):
            root = None  # not root: other users' processes are hidden
        cpu_before = tree_cpu_seconds(root) if root else 0.0
        busy_before, total_before, started = *machine_busy(), time.perf_counter()
        stats = run(target.port, users, options)
        busy_after, total_after, wall = *machine_busy(), time.perf_counter() - started
        server_cpu = (tree_cpu_seconds(root) - cpu_before) / wall if root else None
    return TargetRun(name, stats, (busy_after - busy_before) / max(1.0, total_after - total_before), server_cpu)


def round_order(names: Sequence[str], rounds: int) -> list[str]:
    """The order of `rounds` runs of each server, alternated and mirrored (A B B A A B ...): a machine that
    grows slower or faster during the measurement (these are shared virtual machines) then weighs on each
    server alike, which one long run of each, one after the other, does not."""
    order: list[str] = []
    for number in range(rounds):
        order += list(names) if number % 2 == 0 else list(reversed(names))
    return order


def combine(parts: Sequence[TargetRun]) -> TargetRun:
    """Runs of one server one after the other as one run: their commands over their summed measured time;
    machine busy and server CPU weighted by each part's measured time."""
    stats = Stats()
    for part in parts:
        seconds = stats.seconds
        stats.merge(part.stats)
        stats.seconds = seconds + part.stats.seconds  # merge keeps the longest: right for parallel parts only
    total = stats.seconds or 1.0

    def weighted(values: Sequence[float | None]) -> float | None:
        if any(value is None for value in values):
            return None
        return sum(value * part.stats.seconds for value, part in zip(values, parts)) / total

    return TargetRun(parts[0].name, stats, weighted([p.machine_busy for p in parts]) or 0.0,
                     weighted([p.server_cpu for p in parts]))


def run_rounds(names: Sequence[str], args: argparse.Namespace, options: Options, rounds: int,
               around: Callable[[str], contextlib.AbstractContextManager] | None = None,
               failed: Callable[[str, BaseException], None] | None = None) -> dict[str, TargetRun]:
    """`options.duration` of load on each server in `names`, split into `rounds` runs in `round_order`, each
    on a fresh server start and folders of its own; every server's runs are then `combine`d. `around(name)`
    wraps each run of that server (a setting of the reference for the run); a run that raises OSError,
    RuntimeError, ValueError or subprocess.SubprocessError is reported to `failed` and that server's other
    runs are skipped (without `failed`, the error goes on)."""
    part = dataclasses.replace(options, duration=options.duration / rounds,
                               commands=None if options.commands is None else max(1, options.commands // rounds))
    parts: dict[str, list[TargetRun]] = {name: [] for name in names}
    broken: set[str] = set()
    for number, name in enumerate(round_order(names, rounds)):
        if name in broken:
            continue
        print(f"{name}: {options.mix} mix, {options.clients} clients, round {len(parts[name]) + 1} of "
              f"{rounds} ({part.duration:g} s) ...", flush=True)
        setting = around(name) if around is not None else contextlib.nullcontext()
        try:
            with setting:
                parts[name].append(run_target(name, args, dataclasses.replace(
                    part, run_id=f"{options.run_id}-r{number}" if rounds > 1 else options.run_id)))
        except (OSError, RuntimeError, ValueError, subprocess.SubprocessError) as failure:
            if failed is None:
                raise
            failed(name, failure)
            broken.add(name)
    return {name: combine(runs) for name, runs in parts.items() if runs and name not in broken}


def render(runs: dict[str, TargetRun], options: Options) -> list[str]:
    ours, theirs = runs.get("cpmstore"), runs.get("dovecot")

    def figure(run_: TargetRun | None, what: Callable[[TargetRun], float], digits: int) -> str:
        value = None if run_ is None else what(run_)
        return "-" if value is None or value != value else f"{value:.{digits}f}"  # NaN: not measured

    def ratio(what: Callable[[TargetRun], float]) -> str:
        if ours is None or theirs is None or not what(theirs) or what(theirs) != what(theirs):
            return "-"  # missing, zero or not measured (NaN)
        return f"{what(ours) / what(theirs):.2f}"

    def everything(r: TargetRun) -> list[float]:
        return [value for values in r.stats.latencies.values() for value in values]

    metrics: list[tuple[str, Callable[[TargetRun], float], int]] = [
        ("commands", lambda r: r.stats.commands, 0),
        ("commands/s", lambda r: r.stats.commands / r.stats.seconds if r.stats.seconds else 0.0, 0),
        ("cycles/s", lambda r: r.stats.cycles / r.stats.seconds if r.stats.seconds else 0.0, 1),
        ("latency p50 ms", lambda r: 1000 * percentile(everything(r), 0.50), 2),
        ("latency p90 ms", lambda r: 1000 * percentile(everything(r), 0.90), 2),
        ("latency p99 ms", lambda r: 1000 * percentile(everything(r), 0.99), 2),
        ("errors", lambda r: r.stats.errors, 0),
        ("verifications", lambda r: r.stats.verifications, 0),
        ("generator CPU % of one core", lambda r: 100 * r.stats.cpu_seconds / r.stats.seconds
         if r.stats.seconds else 0.0, 0),
        ("server CPU % of one core (whole run)",
         lambda r: 100 * r.server_cpu if r.server_cpu is not None else float("nan"), 0),
        ("machine busy % (all cores)", lambda r: 100 * r.machine_busy, 0),
    ]
    rows = [("metric", "cpmstore", "Dovecot", "ratio")]
    rows += [(label, figure(ours, what, digits), figure(theirs, what, digits), ratio(what))
             for label, what, digits in metrics]
    out = [f"mix {options.mix}, {options.clients} clients, {options.shared} per folder, "
           f"{options.processes} generator process(es); ratio = cpmstore / Dovecot"]
    out += imapbench.table(rows)
    names = sorted({name for r in runs.values() for name in r.stats.latencies})
    rows = [("command", "cpmstore p50 ms", "Dovecot p50 ms", "ratio", "cpmstore p99 ms", "Dovecot p99 ms")]
    for name in names:
        def at(r: TargetRun | None, fraction: float, name: str = name) -> str:
            values = r.stats.latencies.get(name) if r is not None else None
            return f"{1000 * percentile(values, fraction):.2f}" if values else "-"
        mine, reference = at(ours, 0.5), at(theirs, 0.5)
        rows.append((name, mine, reference,
                     f"{float(mine) / float(reference):.2f}" if "-" not in (mine, reference) else "-",
                     at(ours, 0.99), at(theirs, 0.99)))
    out.append("")
    out += imapbench.table(rows)
    for r in runs.values():
        for sample in r.stats.error_samples:
            out.append(f"[{r.name}] error: {sample}")
    return out


def options_from(args: argparse.Namespace) -> Options:
    return Options(
        mix=args.mix, clients=args.clients, duration=args.duration, commands=args.commands,
        messages=args.messages, verify_every=args.verify_every, shared=args.shared,
        processes=args.processes, seed=args.seed, keep=args.keep,
        run_id=time.strftime("load-%H%M%S-") + str(os.getpid()),
    )


def add_load_options(parser: argparse.ArgumentParser, clients: int, duration: float, mix: str | None) -> None:
    """The options of the load itself (soak.py takes the same, with its own defaults)."""
    if mix is None:
        parser.add_argument("--mix", choices=MIXES, default="persistent")
    else:
        parser.set_defaults(mix=mix)
    parser.add_argument("--clients", type=int, default=clients, help=f"concurrent sessions (default {clients})")
    parser.add_argument("--duration", type=float, default=duration,
                        help=f"seconds of measured load (default {duration:g})")
    parser.add_argument("--commands", type=int, default=None,
                        help="stop after this many commands instead of after --duration")
    parser.add_argument("--verify-every", type=int, default=5, metavar="K",
                        help="cycles between verification FETCHes (default 5)")
    parser.add_argument("--shared", type=int, default=1, metavar="K",
                        help="sessions per folder; they follow each other's changes (default 1: own folder)")
    parser.add_argument("--processes", type=int, default=1, help="generator processes (default 1)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    imapbench.target_options(parser, "user1,user2,user3,user4,user5",
                             "not used here (the fill APPENDs one message per command)")
    parser.set_defaults(messages=20)  # here: messages each session appends to its folder first
    add_load_options(parser, clients=10, duration=60.0, mix=None)
    parser.add_argument("--workers", type=int, default=1,
                        help="cpmstore's [server] workers: processes serving connections (default 1)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="split --duration (or --commands) into this many runs per server, the servers "
                             "alternated A B B A ... and each server's runs summed (default 1)")
    parser.add_argument("--fsync", choices=("always", "optimized"), default="always",
                        help="cpmstore's [server] fsync (default always; the reference Dovecot runs with its "
                             "default mail_fsync = optimized)")
    args = parser.parse_args(argv)
    if min(args.clients, args.shared, args.processes, args.verify_every, args.rounds) < 1 or args.messages < 2:
        parser.error("--clients, --shared, --processes, --verify-every, --rounds must be >= 1 and --messages >= 2")
    options = options_from(args)
    names = ("cpmstore", "dovecot") if args.target == "both" else (args.target,)
    failures: list[str] = []
    runs = run_rounds(names, args, options, args.rounds,
                      failed=lambda name, failure: failures.append(f"{name}: FAILED: {type(failure).__name__}: "
                                                                   f"{failure}"))
    if failures:
        print("\n".join(failures))
        return 1
    print("\n".join(render(runs, options)))
    return 1 if any(r.stats.errors for r in runs.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
