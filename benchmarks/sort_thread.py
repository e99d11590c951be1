"""SORT and THREAD benchmark: a large folder of threaded messages sorted four ways and threaded, beside Dovecot.

    python benchmarks/sort_thread.py [--messages 100000] [--target cpmstore|dovecot|both]
                                     [--dovecot-port 10143] [--dovecot-user user4] [--keep]

Per target server: fill a fresh folder with N messages (the fill of large_folder.py: pipelined MULTIAPPEND
with LITERAL+), then on a new connection SELECT it and time, each twice in a row (Dovecot caches sort keys in
its index the first time, cpmstore reads them from its index both times):

    UID SORT (ARRIVAL) UTF-8 ALL      UID SORT (DATE) UTF-8 ALL      UID SORT (SUBJECT) UTF-8 ALL
    UID SORT (FROM) UTF-8 ALL         UID THREAD REFERENCES UTF-8 ALL

The messages are `gen_cpm`'s CPM bodies under mail-like outer headers made here (gen_cpm has no Subject and
no reply chains): subjects from a few thousand topics with `Re:`, `RE:`, `Re[2]:`, `Fwd:`, `[cpm]` and
`(fwd)` decorations and some RFC 2047 encoded words; From addresses with display names from a pool of 600;
Dates out of arrival order, in eight time zones, some equal to the second; and reply chains (Message-ID,
In-Reply-To, folded References) whose parents are mostly recent messages, some missing from the folder.
The same (count, seed) gives the same bytes, so both servers get the same folder in the same order.

Checks: each answer names every UID once; the second answer equals the first; ARRIVAL and DATE list the same
messages in the same order on both servers (a difference is an error); for SUBJECT, FROM and THREAD the
differences are counted and shown, not treated as errors, since collation and ties may differ. Answers are
compared by append position (the rank of each UID in `UID SEARCH ALL`), not by raw UID. It never asserts on a
time, talks to 127.0.0.1 only, and deletes its folder at the end unless --keep. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import base64
import collections
import dataclasses
import os
import random
import re
import sys
import time
import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import gen_cpm
import imapbench
import large_folder

COMMANDS = (
    ("ARRIVAL", b"UID SORT (ARRIVAL) UTF-8 ALL"),
    ("DATE", b"UID SORT (DATE) UTF-8 ALL"),
    ("SUBJECT", b"UID SORT (SUBJECT) UTF-8 ALL"),
    ("FROM", b"UID SORT (FROM) UTF-8 ALL"),
    ("THREAD", b"UID THREAD REFERENCES UTF-8 ALL"),
)
MUST_MATCH = frozenset({"ARRIVAL", "DATE"})  # no collation involved: any difference is a wrong answer
RUNS = ("first", "second")


# -- the workload -------------------------------------------------------------------------------------------
_EPOCH = datetime(2024, 3, 1, 9, 0, 0, tzinfo=timezone.utc)
_ZONES = tuple(timezone(timedelta(minutes=m)) for m in (0, 60, 120, -300, -480, 330, 540, -180))
_FIRST = ("Alice", "Bruno", "Chloé", "David", "Émilie", "Farid", "Gaëlle", "Hugo", "Inès", "Jérôme", "Karim",
          "Léa", "Marc", "Nadia", "Olivier", "Paul", "Quentin", "Rémi", "Sophie", "Thomas", "Ugo", "Valérie",
          "William", "Xavier", "Yasmine", "Zoé", "Łukasz", "Ömer", "anne", "bob")
_LAST = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
         "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "Müller", "Nguyen", "O'Brien", "Da Silva", "Zhang")
_DOMAINS = ("orange.fr", "example.com", "mail.example.org", "wanadoo.fr", "corp.example.net")
_TOPIC_WORDS = ("budget", "meeting", "photos", "weekend", "train", "tickets", "project", "review", "dinner",
                "holiday", "invoice", "report", "birthday", "party", "contract", "update", "release", "plan",
                "café", "déjà vu", "naïve question", "crème brûlée", "Zürich", "été", "Ñandú", "日本", "résumé",
                "agenda", "minutes", "draft", "slides", "football", "concert", "moving", "keys", "car")
_REPLY_PREFIXES = ("Re: ", "Re: ", "Re: ", "RE: ", "re: ", "Re: Re: ", "Re[2]: ", "Fwd: Re: ", "[cpm] Re: ",
                   "Re:  ", "AW: ")  # "AW:" is German: not a reply leader to RFC 5256, so a distinct subject
REPLY_SHARE, FORWARD_SHARE, LOST_PARENT_SHARE, NO_REFERENCES_SHARE = 0.55, 0.05, 0.02, 0.05
REFERENCES_KEPT = 10  # RFC 5322 §3.6.4 allows trimming; long chains keep their last ten IDs


@dataclasses.dataclass(frozen=True, slots=True)
class Generated:
    """One message and the header values a mismatch report shows."""

    raw: bytes
    date: str
    sender: str
    subject: str  # as written in the header (encoded words left encoded)


@dataclasses.dataclass(frozen=True, slots=True)
class _Sent:
    message_id: str
    references: tuple[str, ...]
    topic: str  # the subject text without reply decorations


def _encoded_word(text: str, rng: random.Random) -> str:
    """RFC 2047: the whole text as one UTF-8 encoded word, B or Q, chosen by the seed."""
    data = text.encode("utf-8")
    if rng.random() < 0.5:
        return "=?UTF-8?B?" + base64.b64encode(data).decode("ascii") + "?="
    quoted = "".join(chr(b) if (chr(b).isalnum() and b < 128) else "_" if b == 32 else "=%02X" % b for b in data)
    return "=?UTF-8?Q?" + quoted + "?="


def _header_text(prefix: str, topic: str, rng: random.Random) -> str:
    return prefix + (topic if topic.isascii() else _encoded_word(topic, rng))


def _senders(rng: random.Random, count: int = 600) -> list[str]:
    out = []
    for number in range(count):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        local = unicodedata.normalize("NFKD", f"{first}.{last}".replace("Ł", "L")).encode("ascii", "ignore")
        local = local.decode().replace("'", "").replace(" ", "")
        if rng.random() < 0.7:
            local = local.lower()  # FROM sorts case-insensitively: "Alice.Martin" and "alice.martin" tie
        address = f"{local}{number % 7 or ''}@{rng.choice(_DOMAINS)}"
        name = f"{first} {last}"
        if rng.random() < 0.1:
            out.append(address)
        elif name.isascii():
            out.append(f'"{name}" <{address}>')
        else:
            out.append(f"{_encoded_word(name, rng)} <{address}>")
    return out


def _topic(rng: random.Random) -> str:
    return " ".join(rng.sample(_TOPIC_WORDS, rng.randrange(1, 4))).capitalize()


def make_messages(count: int, seed: int) -> list[Generated]:
    """`count` messages, the same bytes for the same (count, seed): gen_cpm's bodies under threaded headers."""
    rng = random.Random(f"sort-thread:{seed}")
    senders = _senders(rng)
    history: list[_Sent] = []
    out = []
    for number, cpm in enumerate(gen_cpm.generate(count, seed)):
        outer, _, body = cpm.raw.partition(b"\r\n\r\n")
        kept = [line for line in outer.split(b"\r\n") if not line.startswith((b"Date:", b"From:", b"To:"))]
        message_id = f"<{cpm.imdn_message_id}@cpm.bench.invalid>"
        links: list[bytes] = []
        roll = rng.random()
        if history and roll < REPLY_SHARE:
            # Parents are mostly recent (a conversation goes on) with a long tail: deep chains and wide trees.
            parent = history[max(0, len(history) - 1 - int(rng.expovariate(1 / 40)))]
            topic = parent.topic
            subject = _header_text(rng.choice(_REPLY_PREFIXES), topic, rng)
            references = parent.references + (parent.message_id,)
            if rng.random() < LOST_PARENT_SHARE:  # the parent was never filed here: THREAD makes a dummy
                references = (f"<lost-{number}@elsewhere.invalid>",)
            references = references[-REFERENCES_KEPT:]
            links.append(b"In-Reply-To: " + references[-1].encode())
            if rng.random() >= NO_REFERENCES_SHARE:
                links.append(b"References: " + b"\r\n ".join(ref.encode() for ref in references))
        elif history and roll < REPLY_SHARE + FORWARD_SHARE:
            topic = rng.choice(history).topic
            references = ()
            subject = (_header_text("Fwd: ", topic, rng) if rng.random() < 0.7
                       else _header_text("", topic, rng) + " (fwd)")
        else:
            topic, references = _topic(rng), ()
            subject = _header_text("", topic, rng)
        history.append(_Sent(message_id, references, topic))
        seconds = number * 37 + rng.randrange(-5400, 5400)
        if rng.random() < 0.2:
            seconds -= seconds % 60  # whole minutes: equal Dates, broken by sequence number
        date = (_EPOCH + timedelta(seconds=seconds)).astimezone(rng.choice(_ZONES))
        date_text = date.strftime("%a, %d %b %Y %H:%M:%S %z")
        sender = rng.choice(senders)
        head = [f"Date: {date_text}".encode(), f"From: {sender}".encode(), b"To: <cpm.user@orange.fr>",
                f"Subject: {subject}".encode()] + links + kept
        out.append(Generated(b"\r\n".join(head) + b"\r\n\r\n" + body, date_text, sender, subject))
    return out


# -- answers ------------------------------------------------------------------------------------------------
_THREAD_TOKEN = re.compile(rb"[()]|\d+")


def sort_answer(lines: list[bytes], rank: dict[int, int]) -> list[int]:
    """The `* SORT` numbers as append positions (an unknown UID u as -u)."""
    return [rank.get(int(n), -int(n)) for line in lines if line[:7].upper() == b"* SORT " or line.upper() == b"* SORT"
            for n in line.split()[2:]]


def thread_answer(lines: list[bytes], rank: dict[int, int]) -> list[tuple]:
    """The `* THREAD` thread-lists as nested tuples of append positions, one tuple per top-level thread."""
    stack: list[list] = [[]]
    for line in lines:
        if line[:9].upper() not in (b"* THREAD ", b"* THREAD"):
            continue
        for token in _THREAD_TOKEN.findall(line, 8):
            if token == b"(":
                stack.append([])
            elif token == b")" and len(stack) > 1:
                done = tuple(stack.pop())
                stack[-1].append(done)
            elif token not in (b"(", b")"):
                stack[-1].append(rank.get(int(token), -int(token)))
    return stack[0]


def flatten(threads: list) -> list[int]:
    """Every number in nested tuples, iteratively (a thread can nest deeper than Python's stack)."""
    out: list[int] = []
    pending = list(reversed(threads))
    while pending:
        item = pending.pop()
        if isinstance(item, tuple):
            pending.extend(reversed(item))
        else:
            out.append(item)
    return out


def _every_once(numbers: list[int], count: int) -> tuple[bool, str]:
    ok = len(numbers) == count and sorted(numbers) == list(range(1, count + 1))
    if ok:
        return True, f"{count} UIDs, each once"
    seen = collections.Counter(numbers)
    return False, (f"{len(numbers)} numbers, {len(seen)} distinct, {sum(1 for n in seen if n < 0)} unknown UIDs, "
                   f"{count - sum(1 for n in seen if 1 <= n <= count)} missing")


# -- results ------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class Step:
    operation: str
    seconds: float
    received: int  # bytes read from the socket for this command
    peak_rss_kib: int | None  # the serving process's VmHWM during this step alone
    check: str


@dataclasses.dataclass(slots=True)
class TargetResult:
    name: str
    steps: list[Step] = dataclasses.field(default_factory=list)
    answers: dict[str, list] = dataclasses.field(default_factory=dict)  # key -> first answer, by append position
    process: str = ""
    error: str | None = None
    notes: list[str] = dataclasses.field(default_factory=list)


def _verdict(ok: bool, detail: str) -> str:
    return ("ok: " if ok else "WRONG: ") + detail


# -- the benchmark ------------------------------------------------------------------------------------------
def run_target(target: large_folder.Target, messages: list[bytes], folder: str, keep: bool, per_command: int,
               result: TargetResult) -> None:
    count = len(messages)
    quoted = imapbench.quoted(folder)

    filler = imapbench.Connection(target.port)
    filler.login(target.user, target.password)
    missing = [n.decode() for n in (b"LITERAL+", b"MULTIAPPEND", b"SORT", b"THREAD=REFERENCES")
               if n not in filler.capabilities()]
    if missing:
        raise RuntimeError(f"{target.name} does not advertise {' '.join(missing)}")
    filler.command(b"CREATE " + quoted)
    fill_pid = imapbench.server_pid(filler)
    imapbench.reset_peak_rss(fill_pid)
    started = time.perf_counter()
    appended, appended_bytes = filler.append_pipelined(folder, messages, per_command)
    result.steps.append(Step(f"fill, MULTIAPPEND x{per_command}", time.perf_counter() - started, 0,
                             imapbench.peak_rss_kib(fill_pid),
                             _verdict(appended == count, f"{appended} messages, {appended_bytes} bytes")))
    filler.logout()

    session = imapbench.Connection(target.port)
    session.login(target.user, target.password)
    pid = imapbench.server_pid(session)
    result.process = f"{imapbench.process_name(pid)} pid {pid}"
    if not imapbench.reset_peak_rss(pid):
        result.notes.append("VmHWM could not be reset (not root?): peaks are since the process started")

    def timed(operation: str, command: bytes, keep_line: Callable[[bytes], bool]) -> list[bytes]:
        lines: list[bytes] = []
        imapbench.reset_peak_rss(pid)
        reply = session.command(command, on_untagged=lambda line: keep_line(line) and lines.append(line))
        result.steps.append(Step(operation, reply.seconds, reply.received, imapbench.peak_rss_kib(pid), ""))
        return lines

    try:
        selected = timed("SELECT (first)", b"SELECT " + quoted, lambda line: line.upper().endswith(b" EXISTS"))
        found: list[bytes] = []  # untimed: the UIDs in append order, to compare answers by position
        session.command(b"UID SEARCH ALL", on_untagged=found.append)
        all_uids = sorted(int(n) for line in found if line.upper().startswith(b"* SEARCH") for n in line.split()[2:])
        rank = {uid: position for position, uid in enumerate(all_uids, 1)}
        exists = selected[-1].split()[1].decode() if selected else "missing"
        result.steps[-1] = dataclasses.replace(result.steps[-1], check=_verdict(
            exists == str(count) and len(all_uids) == count, f"EXISTS {exists}, UID SEARCH ALL {len(all_uids)}"))
        for key, command in COMMANDS:
            is_thread = key == "THREAD"
            word = b"* THREAD" if is_thread else b"* SORT"
            answers = []
            for run in RUNS:
                lines = timed(f"{command.decode()} ({run})", command,
                              lambda line, word=word: line[:len(word)].upper() == word)
                answer = thread_answer(lines, rank) if is_thread else sort_answer(lines, rank)
                answers.append(answer)
                ok, detail = _every_once(flatten(answer) if is_thread else answer, count)
                if is_thread:
                    detail += f", {len(answer)} threads"
                if run == "second":
                    ok, detail = ok and answer == answers[0], detail + (
                        ", same as the first" if answer == answers[0] else ", DIFFERENT from the first")
                result.steps[-1] = dataclasses.replace(result.steps[-1], check=_verdict(ok, detail))
            result.answers[key] = answers[0]
        session.command(b"CLOSE")
        if not keep:
            session.command(b"DELETE " + quoted)
    finally:
        session.logout()
    if keep:
        result.notes.append(f"folder {folder!r} kept")


# -- comparing the two servers ------------------------------------------------------------------------------
def compare(key: str, ours: list, theirs: list, generated: list[Generated]) -> tuple[bool, list[str]]:
    """Whether the answers are the same, and lines describing how they differ."""
    if ours == theirs:
        unit = "threads" if key == "THREAD" else "UIDs"
        return True, [f"{key}: identical ({len(ours)} {unit} in the same order)"]
    positions = sum(a != b for a, b in zip(ours, theirs)) + abs(len(ours) - len(theirs))
    if key == "THREAD":
        mine, reference = collections.Counter(ours), collections.Counter(theirs)
        only_ours, only_theirs = mine - reference, reference - mine
        out = [f"THREAD: {len(ours)} threads (cpmstore) vs {len(theirs)} (Dovecot); {positions} top-level positions "
               f"differ; {sum(only_ours.values())} threads only in cpmstore's answer, "
               f"{sum(only_theirs.values())} only in Dovecot's (the same tree elsewhere in the order is not counted)"]
        out += [f"    cpmstore only: {_short(thread)}" for thread in list(only_ours)[:3]]
        out += [f"    Dovecot only:  {_short(thread)}" for thread in list(only_theirs)[:3]]
        for thread in list(only_ours)[:1] + list(only_theirs)[:1]:
            for number in flatten([thread])[:4]:
                if 1 <= number <= len(generated):
                    out.append(f"      #{number}: Subject: {generated[number - 1].subject}")
        return False, out
    neighbours = set(zip(theirs, theirs[1:]))
    broken = sum(1 for pair in zip(ours, ours[1:]) if pair not in neighbours)
    out = [f"{key}: {positions} of {len(ours)} positions differ; {broken} adjacent pairs of cpmstore's order "
           f"are not adjacent in Dovecot's"]
    shown = 0
    for index, (a, b) in enumerate(zip(ours, theirs)):
        if a != b and shown < 3:
            shown += 1
            out.append(f"    position {index + 1}: cpmstore #{a}, Dovecot #{b}")
            for number in (a, b):
                if 1 <= number <= len(generated):
                    message = generated[number - 1]
                    value = {"DATE": message.date, "FROM": message.sender}.get(key, message.subject)
                    out.append(f"      #{number}: {value}")
    return False, out


def _short(thread: tuple, limit: int = 160) -> str:
    text = repr(thread).replace(",)", ")").replace(",", "")
    return text if len(text) <= limit else text[:limit] + " ..."


# -- report -------------------------------------------------------------------------------------------------
def _mib(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.1f}"


def render(results: dict[str, TargetResult], comparison: list[str], count: int) -> str:
    ours, theirs = results.get("cpmstore"), results.get("dovecot")
    operations: list[str] = []
    for result in results.values():
        operations += [s.operation for s in result.steps if s.operation not in operations]

    def step(result: TargetResult | None, operation: str) -> Step | None:
        return next((s for s in result.steps if s.operation == operation), None) if result else None

    rows = [("operation", "cpmstore s", "Dovecot s", "ratio", "cpmstore recv", "Dovecot recv",
             "cpmstore MiB", "Dovecot MiB")]
    for operation in operations:
        mine, reference = step(ours, operation), step(theirs, operation)
        rows.append((
            operation,
            f"{mine.seconds:.3f}" if mine else "-", f"{reference.seconds:.3f}" if reference else "-",
            f"{mine.seconds / reference.seconds:.2f}" if mine and reference and reference.seconds else "-",
            f"{mine.received:,}" if mine and mine.received else "-",
            f"{reference.received:,}" if reference and reference.received else "-",
            _mib(mine.peak_rss_kib) if mine else "-", _mib(reference.peak_rss_kib) if reference else "-",
        ))
    out = [f"{count} messages; ratio = cpmstore / Dovecot; recv = bytes read for the command; "
           "MiB = peak RSS of the serving process during the step"]
    out += imapbench.table(rows)
    for result in results.values():
        out.append(f"\n[{result.name}] {result.process}")
        if result.error:
            out.append(f"  FAILED: {result.error}")
        out += [f"  {s.operation}: {s.check}" for s in result.steps if s.check]
        out += [f"  note: {note}" for note in result.notes]
    if comparison:
        out.append("\n[cpmstore vs Dovecot, first answers, by append position]")
        out += [f"  {line}" for line in comparison]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    imapbench.target_options(parser, "user4")
    args = parser.parse_args(argv)
    if args.messages < 1 or args.append_batch < 1:
        parser.error("--messages and --append-batch must be at least 1")

    generated = make_messages(args.messages, args.seed)
    messages = [message.raw for message in generated]
    folder = time.strftime("sortthread-%Y%m%d-%H%M%S-") + str(os.getpid())
    print(f"folder {folder!r}: {len(messages)} messages, {sum(map(len, messages))} bytes", flush=True)
    results = large_folder.run_targets(
        args, TargetResult, "filling, sorting, threading",
        lambda target, result: run_target(target, messages, folder, args.keep, args.append_batch, result))

    comparison: list[str] = []
    wrong = False
    if len(results) == 2 and not any(r.error for r in results.values()):
        for key, _ in COMMANDS:
            same, lines = compare(key, results["cpmstore"].answers[key], results["dovecot"].answers[key], generated)
            wrong |= key in MUST_MATCH and not same
            comparison += ([f"WRONG: {line}" for line in lines[:1]] + lines[1:]) if key in MUST_MATCH and not same \
                else lines
    print(render(results, comparison, len(messages)))
    failed = wrong or any(r.error or any(s.check.startswith("WRONG") for s in r.steps) for r in results.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
