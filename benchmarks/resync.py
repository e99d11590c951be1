"""Resync benchmark: a device that knew a large folder comes back after 1,000 changes and catches up with QRESYNC.

    python benchmarks/resync.py [--messages 100000] [--target cpmstore|dovecot|both] [--changes 1000]
                                [--dovecot-port 10143] [--dovecot-user user1] [--keep]

Per target server: fill a fresh folder with N messages of `gen_cpm` (the fill of large_folder.py); a "device"
selects it with CONDSTORE and records UIDVALIDITY, HIGHESTMODSEQ and every UID with its flags, then logs out;
another session makes the changes (by default 400 flag changes, 300 expunges and 300 appends, shuffled with
the seed, one command each); then the device reconnects and resynchronizes headers only, RFC 7162 §3.2.5:

    ENABLE QRESYNC
    SELECT <folder> (QRESYNC (<uidvalidity> <highestmodseq> <known uids>))
    UID FETCH <highest known uid + 1>:* (UID FLAGS)

Those three commands are "the resync": wall time from the first byte of ENABLE sent to the last byte of the
FETCH's tagged reply, and the bytes sent and received on the socket meanwhile (login excluded). The state it
yields (known UIDs minus VANISHED, flags from the FETCH responses, the new UIDs) is then compared with a fresh
`UID FETCH 1:* (FLAGS)` of the whole folder, and with what the changes should have done (how many UIDs
vanished, appeared and changed flags). cpmstore is started here as large_folder.py starts it; Dovecot is the
reference instance of shared/tools/dovecot, already running. See benchmarks/README.md.

It never asserts on a time, talks to 127.0.0.1 only, and deletes its folder at the end unless --keep.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import os
import random
import re
import sys
import time
from collections.abc import Iterator

import gen_cpm
import imapbench
import large_folder

NEW_FLAGS = (b"\\Seen", b"\\Flagged", b"\\Answered", b"$CPMkeyword")

_UID = re.compile(rb"[( ]UID (\d+)", re.IGNORECASE)
_FLAGS = re.compile(rb"[( ]FLAGS \(([^)]*)\)", re.IGNORECASE)
_VANISHED = re.compile(rb"^\* VANISHED \(EARLIER\) ([0-9:,]+)$", re.IGNORECASE)
_CODE = re.compile(rb"\[(UIDVALIDITY|HIGHESTMODSEQ) (\d+)\]", re.IGNORECASE)

# The example device's compact UID set (1:3,7,9:10) is what a real client sends as known-uids.
_spec = importlib.util.spec_from_file_location("sync_device", large_folder.REPO_ROOT / "examples" / "sync_device.py")
sync_device = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sync_device)

Mirror = dict[int, frozenset[bytes]]  # UID -> flags, \Recent left out (it belongs to one session)


# -- the wire -----------------------------------------------------------------------------------------------
class CountingConnection(imapbench.Connection):
    """An imapbench connection that also counts the bytes it writes (it already counts those it reads)."""

    def __init__(self, port: int) -> None:
        self.sent = 0
        super().__init__(port)

    def send(self, data: bytes) -> None:
        self.sent += len(data)
        super().send(data)


def expand(spec: bytes) -> Iterator[int]:
    for part in spec.split(b","):
        low, _, high = part.partition(b":")
        a, b = int(low), int(high or low)
        yield from range(min(a, b), max(a, b) + 1)


def apply_fetches(mirror: Mirror, lines: list[bytes]) -> int:
    """Every `* n FETCH (... UID u ... FLAGS (...))` into `mirror`; returns how many there were."""
    count = 0
    for line in lines:
        uid, flags = _UID.search(line), _FLAGS.search(line)
        if uid and flags and b" FETCH " in line[:40].upper():
            mirror[int(uid.group(1))] = frozenset(f for f in flags.group(1).split() if f.lower() != b"\\recent")
            count += 1
    return count


def codes(lines: list[bytes]) -> dict[bytes, int]:
    return {m.group(1).upper(): int(m.group(2)) for line in lines for m in _CODE.finditer(line)}


# -- results ------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class Step:
    operation: str
    seconds: float
    sent: int  # bytes written on the socket
    received: int  # bytes read from the socket
    check: str


@dataclasses.dataclass(slots=True)
class TargetResult:
    name: str
    steps: list[Step] = dataclasses.field(default_factory=list)
    checks: list[str] = dataclasses.field(default_factory=list)
    error: str | None = None


def _verdict(ok: bool, detail: str) -> str:
    return ("ok: " if ok else "WRONG: ") + detail


# -- the benchmark ------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    flag_changes: int
    expunges: int
    appends: int


def run_target(target: large_folder.Target, fill: list[bytes], extra: list[bytes], plan: Plan, folder: str,
               seed: int, keep: bool, per_command: int, result: TargetResult) -> None:
    quoted = imapbench.quoted(folder)

    # 1. Fill, as large_folder.py does (MULTIAPPEND with LITERAL+, pipelined).
    filler = CountingConnection(target.port)
    filler.login(target.user, target.password)
    filler.command(b"CREATE " + quoted)
    started = time.perf_counter()
    appended, appended_bytes = filler.append_pipelined(folder, fill, per_command)
    result.steps.append(Step(f"fill, {len(fill)} messages", time.perf_counter() - started, 0, 0,
                             _verdict(appended == len(fill), f"{appended} messages, {appended_bytes} bytes")))
    filler.logout()
    change_and_resync(target, len(fill), extra, plan, folder, seed, keep, result)


def change_and_resync(target: large_folder.Target, count: int, extra: list[bytes], plan: Plan, folder: str,
                      seed: int, keep: bool, result: TargetResult) -> None:
    """Steps 2-5 on `folder`, which holds `count` messages: first sync, changes, the resync and its check."""
    quoted = imapbench.quoted(folder)

    # 2. The device's first sync, headers only: what it knows when it goes away.
    device = CountingConnection(target.port)
    device.login(target.user, target.password)
    selected: list[bytes] = []
    fetched: list[bytes] = []
    sent = device.sent
    select = device.command(b"SELECT " + quoted + b" (CONDSTORE)", on_untagged=selected.append)
    fetch = device.command(b"UID FETCH 1:* (UID FLAGS)", on_untagged=fetched.append)
    known: Mirror = {}
    apply_fetches(known, fetched)
    before = codes(selected)
    result.steps.append(Step(
        "first sync: SELECT (CONDSTORE) + UID FETCH 1:* (UID FLAGS)", select.seconds + fetch.seconds,
        device.sent - sent, select.received + fetch.received,
        _verdict(len(known) == count and b"HIGHESTMODSEQ" in before,
                 f"{len(known)} UIDs, UIDVALIDITY {before.get(b'UIDVALIDITY')}, "
                 f"HIGHESTMODSEQ {before.get(b'HIGHESTMODSEQ')}")))
    device.logout()

    # 3. Another session changes things, one command per change, in a seeded random order.
    rng = random.Random(seed)
    touched = rng.sample(sorted(known), plan.flag_changes + plan.expunges)
    changes = ([(b"flag", uid) for uid in touched[: plan.flag_changes]]
               + [(b"expunge", uid) for uid in touched[plan.flag_changes:]]
               + [(b"append", index) for index in range(plan.appends)])
    rng.shuffle(changes)
    changer = CountingConnection(target.port)
    changer.login(target.user, target.password)
    changer.command(b"SELECT " + quoted)
    started = time.perf_counter()
    for kind, number in changes:
        if kind == b"flag":
            changer.command(b"UID STORE %d +FLAGS.SILENT (%s)" % (number, rng.choice(NEW_FLAGS)))
        elif kind == b"expunge":
            changer.command(b"UID STORE %d +FLAGS.SILENT (\\Deleted)" % number)
            changer.command(b"UID EXPUNGE %d" % number)  # RFC 4315: this message only
        else:
            changer.command(b"APPEND " + quoted + b" {%d+}\r\n" % len(extra[number]) + extra[number])
    commands = len(changes) + plan.expunges
    result.steps.append(Step(f"{len(changes)} changes ({commands} commands, one at a time)",
                             time.perf_counter() - started, 0, 0, "ok: every command answered OK"))
    changer.logout()

    # 4. The device comes back: the resync, measured alone (login excluded).
    device = CountingConnection(target.port)
    device.login(target.user, target.password)
    vanished: list[bytes] = []
    selected, fetched = [], []

    def on_select(line: bytes) -> None:
        (vanished if _VANISHED.match(line) else selected).append(line)

    top = max(known)
    qresync = b" (QRESYNC (%d %d %s))" % (before[b"UIDVALIDITY"], before[b"HIGHESTMODSEQ"],
                                           sync_device.uid_set(list(known)).encode())
    sent, started = device.sent, time.perf_counter()
    enable = device.command(b"ENABLE QRESYNC")
    select = device.command(b"SELECT " + quoted + qresync, on_untagged=on_select)
    fetch = device.command(b"UID FETCH %d:* (UID FLAGS)" % (top + 1), on_untagged=fetched.append)
    seconds, resync_sent = time.perf_counter() - started, device.sent - sent
    received = enable.received + select.received + fetch.received

    resynced = dict(known)
    gone = {uid for line in vanished for uid in expand(_VANISHED.match(line).group(1))}
    for uid in gone:
        resynced.pop(uid, None)
    changed_in_select = apply_fetches(resynced, selected)
    fetched_after = apply_fetches(resynced, fetched)
    result.steps.append(Step("resync: ENABLE QRESYNC + SELECT (QRESYNC ...) + UID FETCH new (UID FLAGS)",
                             seconds, resync_sent, received,
                             f"{len(gone)} UIDs in VANISHED (EARLIER), {changed_in_select} FETCH in the SELECT, "
                             f"{fetched_after} FETCH in the UID FETCH"))
    for name, reply in (("  of which ENABLE QRESYNC", enable), ("  of which SELECT (QRESYNC ...)", select),
                        ("  of which UID FETCH <max+1>:* (UID FLAGS)", fetch)):
        result.steps.append(Step(name, reply.seconds, 0, reply.received, ""))

    # 5. The check: a full fetch in the same session, and what the changes should have done.
    full: Mirror = {}
    sent = device.sent
    check = device.command(b"UID FETCH 1:* (FLAGS)", on_untagged=lambda line: apply_fetches(full, [line]))
    same = resynced == full
    differing = sorted(uid for uid in resynced.keys() | full.keys() if resynced.get(uid) != full.get(uid))
    result.steps.append(Step("check: UID FETCH 1:* (FLAGS), the whole folder again", check.seconds,
                             device.sent - sent, check.received,
                             _verdict(same, f"resynced state == full fetch ({len(full)} messages)"
                                      + ("" if same else f"; {len(differing)} UIDs differ, first {differing[:10]}"))))
    expunged = set(touched[plan.flag_changes:])
    flagged = sum(1 for uid in touched[: plan.flag_changes] if full.get(uid) != known[uid])
    new = [uid for uid in full if uid > top]
    result.checks += [
        _verdict(gone == expunged, f"VANISHED (EARLIER) names exactly the {len(expunged)} expunged UIDs"),
        _verdict(len(new) == plan.appends, f"{len(new)} new UIDs, {plan.appends} appended"),
        _verdict(flagged == plan.flag_changes, f"{flagged} of the {plan.flag_changes} flag changes seen"),
        _verdict(len(full) == count - plan.expunges + plan.appends, f"{len(full)} messages now"),
        f"resync answers: {len(vanished)} VANISHED lines, {select.untagged} untagged responses in the SELECT",
    ]
    if not keep:
        device.command(b"CLOSE")
        device.command(b"DELETE " + quoted)
    device.logout()


# -- report -------------------------------------------------------------------------------------------------
def render(results: dict[str, TargetResult]) -> str:
    ours, theirs = results.get("cpmstore"), results.get("dovecot")
    operations: list[str] = []
    for result in results.values():
        operations += [s.operation for s in result.steps if s.operation not in operations]

    def step(result: TargetResult | None, operation: str) -> Step | None:
        return next((s for s in result.steps if s.operation == operation), None) if result else None

    def ratio(a: float | None, b: float | None) -> str:
        return f"{a / b:.2f}" if a is not None and b else "-"

    header = ("operation", "cpmstore s", "Dovecot s", "ratio", "cpmstore recv", "Dovecot recv", "ratio",
              "cpmstore sent", "Dovecot sent")
    rows = [header]
    for operation in operations:
        mine, reference = step(ours, operation), step(theirs, operation)
        rows.append((
            operation,
            f"{mine.seconds:.3f}" if mine else "-", f"{reference.seconds:.3f}" if reference else "-",
            ratio(mine and mine.seconds, reference and reference.seconds),
            f"{mine.received:,}" if mine and mine.received else "-",
            f"{reference.received:,}" if reference and reference.received else "-",
            ratio(mine and mine.received, reference and reference.received),
            f"{mine.sent:,}" if mine and mine.sent else "-",
            f"{reference.sent:,}" if reference and reference.sent else "-",
        ))
    out = ["ratio = cpmstore / Dovecot; recv / sent = bytes on the device's socket (login excluded)"]
    out += imapbench.table(rows)
    for result in results.values():
        out.append(f"\n[{result.name}]")
        if result.error:
            out.append(f"  FAILED: {result.error}")
        out += [f"  {s.operation.strip()}: {s.check}" for s in result.steps if s.check]
        out += [f"  {check}" for check in result.checks]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    imapbench.target_options(parser, "user1")
    parser.add_argument("--changes", type=int, default=1000,
                        help="split 40%% flag changes, 30%% expunges, 30%% appends")
    args = parser.parse_args(argv)
    flag_changes, expunges = args.changes * 4 // 10, args.changes * 3 // 10
    plan = Plan(flag_changes, expunges, args.changes - flag_changes - expunges)
    if args.messages < plan.flag_changes + plan.expunges or args.append_batch < 1:
        parser.error("--messages must cover the flag changes and expunges; --append-batch must be at least 1")

    generated = [message.raw for message in gen_cpm.generate(args.messages + plan.appends, args.seed)]
    fill, extra = generated[: args.messages], generated[args.messages:]
    folder = time.strftime("resync-%Y%m%d-%H%M%S-") + str(os.getpid())
    print(f"folder {folder!r}: {args.messages} messages, then {plan.flag_changes} flag changes, "
          f"{plan.expunges} expunges, {plan.appends} appends", flush=True)
    results = large_folder.run_targets(
        args, TargetResult, "filling, changing, resyncing",
        lambda target, result: run_target(target, fill, extra, plan, folder, args.seed, args.keep,
                                          args.append_batch, result),
        errors=(KeyError,))
    print(render(results))
    failed = any(r.error or any("WRONG" in c for c in [s.check for s in r.steps] + r.checks)
                 for r in results.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
