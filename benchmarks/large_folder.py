"""Large-folder benchmark: fill one folder with N small CPM messages, then time what a syncing client does.

    python benchmarks/large_folder.py [--messages 100000] [--target cpmstore|dovecot|both]
                                      [--dovecot-port 10143] [--keep]

For each target server it APPENDs N messages from `gen_cpm` to a fresh folder (pipelined APPENDs with LITERAL+
`{n+}` literals, the same bytes and method for every server), logs out, and on a new connection times SELECT,
`FETCH 1:* (FLAGS)`, `FETCH 1:* (UID FLAGS)`, `UID FETCH 1:* (UID RFC822.SIZE)`,
`UID SEARCH HEADER Conversation-ID <id>` and `IMDN-Message-ID <id>`, `UID SEARCH TEXT tonight`,
`UID FETCH 1:* BODY.PEEK[]` and a second SELECT. Every answer is checked (message count, byte totals, search
hits), the peak RSS of the process serving the session is read per operation, and an inotify watch on the
folder's Maildir directories counts message files opened during the first SELECT. cpmstore is started here
as a `twistd` subprocess on a temporary data directory; Dovecot is the reference instance of
shared/tools/dovecot (already started). See benchmarks/README.md for what each figure means.

It never asserts on a time, talks to 127.0.0.1 only, and removes its folder at the end unless --keep.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import dataclasses
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import gen_cpm
import imapbench

REPO_ROOT = Path(__file__).resolve().parent.parent
DOVECOT_LAB = Path(os.environ.get("LAB", "/opt/dovecot-ref"))
MAILDIR_SUBDIRS = ("cur", "new", "tmp")
SERVER_START_SECONDS = 60.0


# -- the workload -------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class Workload:
    messages: list[bytes]
    total_bytes: int
    conversation_id: str  # the one searched for
    conversation_hits: int  # how many messages carry it
    imdn_message_id: str  # one object's own ID (unique): the CPM lookup of a single object
    text_hits: int  # how many messages hold TEXT_WORD anywhere (headers or body, any case)


# A word of gen_cpm's chat texts that no header holds and no other word contains: a TEXT search for it hits
# exactly the messages whose bytes hold it (about a third of them).
TEXT_WORD = "tonight"


def make_workload(count: int, seed: int) -> Workload:
    generated = list(gen_cpm.generate(count, seed))
    wanted = gen_cpm.conversation_ids(seed)[0]
    word = TEXT_WORD.encode()
    return Workload(
        messages=[message.raw for message in generated],
        total_bytes=sum(len(message.raw) for message in generated),
        conversation_id=wanted,
        conversation_hits=sum(message.conversation_id == wanted for message in generated),
        imdn_message_id=generated[len(generated) // 2].imdn_message_id,
        text_hits=sum(word in message.raw.lower() for message in generated),
    )


# -- results ------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class Step:
    operation: str
    seconds: float
    peak_rss_kib: int | None  # the serving process's VmHWM over this step alone (reset before it)
    check: str  # what was verified, or what went wrong
    opened: str = "not counted"  # message files opened and Maildir directories listed during the step


@dataclasses.dataclass(slots=True)
class TargetResult:
    name: str
    steps: list[Step] = dataclasses.field(default_factory=list)
    fill_rate: float | None = None  # messages per second
    process: str = ""
    select_opens: str = "n/a"
    error: str | None = None
    notes: list[str] = dataclasses.field(default_factory=list)


# -- counting message-file opens with inotify ----------------------------------------------------------------
IN_OPEN, IN_Q_OVERFLOW, IN_ISDIR = 0x20, 0x4000, 0x40000000
IN_NONBLOCK, IN_CLOEXEC = os.O_NONBLOCK, os.O_CLOEXEC
_EVENT = struct.Struct("iIII")


class OpenWatch:
    """Counts opens of files in Maildir `cur/new/tmp` directories under a root, by any process.

    inotify reports every open(2) of a file inside a watched directory, with no cost to the server and
    without attaching to it. A server cannot read a message file without opening it, unless it kept a
    descriptor open from before the watch started; the README says so.
    """

    def __init__(self, root: Path) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self._libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        self.directories = 0
        for directory in _maildir_directories(root):
            if self._libc.inotify_add_watch(self.fd, os.fsencode(directory), IN_OPEN) < 0:
                raise OSError(ctypes.get_errno(), f"inotify_add_watch {directory}")
            self.directories += 1

    def drain(self) -> tuple[int, int, bool]:
        """(file opens, directory listings, queue overflowed) since the last drain."""
        files = listings = 0
        overflowed = False
        while True:  # bounded: each read empties part of a finite kernel queue
            try:
                chunk = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return files, listings, overflowed
            offset = 0
            while offset < len(chunk):
                _, mask, _, name_length = _EVENT.unpack_from(chunk, offset)
                offset += _EVENT.size + name_length
                if mask & IN_Q_OVERFLOW:
                    overflowed = True
                elif mask & IN_ISDIR:
                    listings += 1
                elif mask & IN_OPEN:
                    files += 1

    def close(self) -> None:
        os.close(self.fd)


def _maildir_directories(root: Path) -> Iterator[Path]:
    for directory, subdirectories, _ in os.walk(root):
        if Path(directory).name in MAILDIR_SUBDIRS:
            subdirectories.clear()  # Maildir++ folders nest beside cur/new/tmp, never inside them
            yield Path(directory)


# -- targets ------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    name: str
    port: int
    user: str
    password: str
    maildir_root: Callable[[str], Path | None]  # folder name -> directory holding its message files
    log_path: Path | None = None  # the server's log, shown when something fails


@contextlib.contextmanager
def cpmstore_server(keep: bool, workdir: Path | None = None, workers: int = 1,
                    fsync: str = "always") -> Iterator[Target]:
    """Start `twistd -n cpmstore` on a temporary data directory and a free loopback port
    (`workers`: its [server] workers, the processes that serve connections; `fsync`: its [server] fsync).

    With `workdir` (from an earlier run with `keep`) the server starts on that store again, users and data
    as they were, and the directory is never removed here: a restart of the same server."""
    twistd = shutil.which("twistd")
    if twistd is None:
        raise RuntimeError("twistd is not on PATH (pip install twisted)")
    restarted = workdir is not None
    workdir = workdir if restarted else Path(tempfile.mkdtemp(prefix="cpmstore-bench-"))
    data_dir = workdir / "data"
    users_file = workdir / "users"
    if not restarted:
        users_file.write_text("bench:{PLAIN}pass\n")
    port = _free_port()
    config = workdir / "cpmstore.toml"
    config.write_text(
        "[server]\n"
        f"data_dir = {_toml_string(data_dir)}\n"
        f"users_file = {_toml_string(users_file)}\n"
        'hostname = "localhost"\n'
        f"workers = {workers}\n"
        f"fsync = {_toml_string(fsync)}\n"
        "[[listener]]\n"
        # Twisted's default backlog (50) overflows when 200 load sessions connect at once: the kernel then
        # drops the handshake's last ACK, and a client that thinks it is connected waits for a greeting forever.
        f'endpoint = "tcp:{port}:interface=127.0.0.1:backlog=1024"\n'
        'tls = "none"\n'
        "allow_plaintext_auth = true\n"
    )
    log_path = workdir / "twistd.log"
    env = dict(os.environ)
    # The plugin lives in the work tree (twisted/plugins/), so the tree must be importable even uninstalled.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [twistd, "-n", "--pidfile=", "cpmstore", "--config", str(config)],
            cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    try:
        _wait_for_listener(port, process, log_path)
        yield Target(
            name="cpmstore", port=port, user="bench", password="pass",
            maildir_root=lambda folder: data_dir, log_path=log_path,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
        if keep:
            print(f"cpmstore data kept in {workdir}")
        elif not restarted:
            shutil.rmtree(workdir, ignore_errors=True)


def _toml_string(path: Path) -> str:
    # A JSON string is a valid TOML basic string, escapes included.
    return json.dumps(str(path))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_listener(port: int, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"twistd exited with {process.returncode}:\n{_tail(log_path)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.2)
    raise RuntimeError(f"cpmstore did not listen on {port} within {SERVER_START_SECONDS:.0f}s:\n{_tail(log_path)}")


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def dovecot_server(port: int, user: str, password: str) -> Iterator[Target]:
    """The already running reference Dovecot (shared/tools/dovecot); only its Maildir is looked up here."""
    home = _dovecot_home(user)
    yield Target(
        name="dovecot", port=port, user=user, password=password,
        maildir_root=lambda folder: home / "Maildir" / folder if home else None,
    )


def _dovecot_home(user: str) -> Path | None:
    """The user's home from the lab's passwd-file (name:password:uid:gid:gecos:home:shell)."""
    with contextlib.suppress(OSError):
        for line in (DOVECOT_LAB / "etc" / "users").read_text().splitlines():
            fields = line.split(":")
            if fields[0] == user and len(fields) > 5 and fields[5]:
                return Path(fields[5])
    return None


# -- the benchmark ------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class Probe:
    """One timed command of the read phase and how its answer is checked."""

    operation: str
    command: bytes
    verify: Callable[[imapbench.Reply, list[bytes]], str]
    # Keeping 100k FLAGS or BODY lines would only measure our own memory; those checks use counters.
    keep_lines: bool = True


def read_probes(workload: Workload, folder: str) -> list[Probe]:
    """The reads this benchmark times, in order, on one session; the first is the session's first SELECT."""
    count = len(workload.messages)
    select = b"SELECT " + imapbench.quoted(folder)
    return [
        Probe("SELECT (first)", select, lambda r, lines: _check_exists(lines, count)),
        Probe("FETCH 1:* (FLAGS)", b"FETCH 1:* (FLAGS)",
              lambda r, lines: _verdict(r.untagged == count, f"{r.untagged} FETCH responses"), keep_lines=False),
        Probe("FETCH 1:* (UID FLAGS)", b"FETCH 1:* (UID FLAGS)",
              lambda r, lines: _verdict(r.untagged == count, f"{r.untagged} FETCH responses"), keep_lines=False),
        Probe("UID FETCH 1:* (UID RFC822.SIZE)", b"UID FETCH 1:* (UID RFC822.SIZE)",
              lambda r, lines: _check_sizes(lines, count, workload.total_bytes)),
        Probe("UID SEARCH HEADER Conversation-ID",
              b"UID SEARCH HEADER Conversation-ID " + workload.conversation_id.encode(),
              lambda r, lines: _check_search(lines, workload.conversation_hits)),
        Probe("UID SEARCH HEADER IMDN-Message-ID",
              b"UID SEARCH HEADER IMDN-Message-ID " + workload.imdn_message_id.encode(),
              lambda r, lines: _check_search(lines, 1)),
        Probe(f"UID SEARCH TEXT {TEXT_WORD}", b"UID SEARCH TEXT " + TEXT_WORD.encode(),
              lambda r, lines: _check_search(lines, workload.text_hits)),
        Probe("UID FETCH 1:* BODY.PEEK[]", b"UID FETCH 1:* BODY.PEEK[]",
              lambda r, lines: _verdict(r.literals == count and r.literal_bytes == workload.total_bytes,
                                        f"{r.literals} bodies, {r.literal_bytes} bytes"), keep_lines=False),
        Probe("SELECT (second, warm)", select, lambda r, lines: _check_exists(lines, count)),
    ]


def run_target(
    target: Target, workload: Workload, folder: str, keep: bool, per_command: int, result: TargetResult
) -> None:
    """Fill `folder` and time the reads, recording into `result` as it goes (so a failure keeps what ran)."""
    fill_folder(target, workload, folder, per_command, result)
    time_reads(target, workload, folder, read_probes(workload, folder), not keep, result)
    if keep:
        result.notes.append(f"folder {folder!r} kept")


def fill_folder(target: Target, workload: Workload, folder: str, per_command: int, result: TargetResult) -> None:
    """CREATE `folder` and APPEND every message of `workload` on one connection; the fill step into `result`."""
    count = len(workload.messages)

    filler = imapbench.Connection(target.port)
    filler.login(target.user, target.password)
    capabilities = filler.capabilities()
    needed = [b"LITERAL+"] + ([b"MULTIAPPEND"] if per_command > 1 else [])
    missing = [name.decode() for name in needed if name not in capabilities]
    if missing:
        raise RuntimeError(f"{target.name} does not advertise {' '.join(missing)}, which this fill method needs"
                           + (" (try --append-batch 1)" if per_command > 1 else ""))
    filler.command(b"CREATE " + imapbench.quoted(folder))
    fill_pid = imapbench.server_pid(filler)
    imapbench.reset_peak_rss(fill_pid)
    started = time.perf_counter()
    appended, appended_bytes = filler.append_pipelined(folder, workload.messages, per_command)
    fill_seconds = time.perf_counter() - started
    fill_peak = imapbench.peak_rss_kib(fill_pid)
    filler.logout()
    result.fill_rate = appended / fill_seconds if fill_seconds else None
    method = f"MULTIAPPEND x{per_command}" if per_command > 1 else "APPEND"
    result.steps.append(Step(
        f"fill ({method}, LITERAL+, pipelined)", fill_seconds, fill_peak,
        _verdict(appended == count and appended_bytes == workload.total_bytes,
                 f"{appended} msgs, {appended_bytes} bytes"),
    ))


def time_reads(target: Target, workload: Workload, folder: str, probes: list[Probe], delete: bool,
               result: TargetResult) -> None:
    """On a new session, time each of `probes` in order (the first is the session's first SELECT of `folder`)
    with its peak RSS and message files opened; then CLOSE, and DELETE the folder if `delete`."""
    session = imapbench.Connection(target.port)
    session.login(target.user, target.password)
    pid = imapbench.server_pid(session)
    result.process = f"{imapbench.process_name(pid)} pid {pid}"
    can_reset = imapbench.reset_peak_rss(pid)
    if not can_reset:
        result.notes.append("VmHWM could not be reset (not root?): peaks are since the process started")

    root = target.maildir_root(folder)
    watch = OpenWatch(root) if root is not None and root.is_dir() else None
    if watch is not None and watch.directories == 0:
        result.notes.append(f"no Maildir cur/new/tmp directory under {root}: file opens not counted")
        watch.close()
        watch = None

    def timed(probe: Probe) -> None:
        lines: list[bytes] = []
        keep_line = lines.append if probe.keep_lines else None
        if watch is not None:
            watch.drain()  # only what this step does counts
        imapbench.reset_peak_rss(pid)
        reply = session.command(probe.command, on_untagged=keep_line)
        peak = imapbench.peak_rss_kib(pid)
        opened = "not counted"
        if watch is not None:
            files, listings, overflowed = watch.drain()
            opened = (f"{files}{'+ (inotify queue overflowed)' if overflowed else ''} message files opened, "
                      f"{listings} directory listings")
        result.steps.append(Step(probe.operation, reply.seconds, peak, probe.verify(reply, lines), opened))

    try:
        for index, probe in enumerate(probes):
            timed(probe)
            if index == 0 and watch is not None:
                result.select_opens = f"{result.steps[-1].opened} ({watch.directories} directories watched by inotify)"
        session.command(b"CLOSE")
        if delete:
            session.command(b"DELETE " + imapbench.quoted(folder))
    finally:
        if watch is not None:
            watch.close()
        session.logout()


def _verdict(ok: bool, detail: str) -> str:
    return ("ok: " if ok else "WRONG: ") + detail


_EXISTS = re.compile(rb"^\* (\d+) EXISTS$", re.IGNORECASE)
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)", re.IGNORECASE)


def _check_exists(lines: list[bytes], count: int) -> str:
    exists = [int(match.group(1)) for line in lines if (match := _EXISTS.match(line))]
    return _verdict(exists[-1:] == [count], f"EXISTS {exists[-1] if exists else 'missing'}")


def _check_sizes(lines: list[bytes], count: int, total: int) -> str:
    sizes = [int(match.group(1)) for line in lines if (match := _SIZE.search(line))]
    return _verdict(len(sizes) == count and sum(sizes) == total, f"{len(sizes)} sizes, sum {sum(sizes)}")


def _check_search(lines: list[bytes], hits: int) -> str:
    found = sum(len(line.split()) - 2 for line in lines if line.upper().startswith(b"* SEARCH"))
    return _verdict(found == hits, f"{found} UIDs, {hits} expected")


# -- report -------------------------------------------------------------------------------------------------
def _mib(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.1f}"


def render(results: dict[str, TargetResult], count: int, total_bytes: int) -> str:
    ours, theirs = results.get("cpmstore"), results.get("dovecot")
    operations: list[str] = []
    for result in results.values():
        for step in result.steps:
            if step.operation not in operations:
                operations.append(step.operation)

    def step(result: TargetResult | None, operation: str) -> Step | None:
        if result is None:
            return None
        return next((s for s in result.steps if s.operation == operation), None)

    header = ("operation", "cpmstore s", "Dovecot s", "ratio", "cpmstore MiB", "Dovecot MiB")
    rows = [header]
    for operation in operations:
        mine, reference = step(ours, operation), step(theirs, operation)
        ratio = (f"{mine.seconds / reference.seconds:.2f}"
                 if mine and reference and reference.seconds > 0 else "-")
        rows.append((
            operation,
            f"{mine.seconds:.3f}" if mine else "-",
            f"{reference.seconds:.3f}" if reference else "-",
            ratio,
            _mib(mine.peak_rss_kib) if mine else "-",
            _mib(reference.peak_rss_kib) if reference else "-",
        ))
    out = [f"{count} messages, {total_bytes} bytes; ratio = cpmstore / Dovecot; MiB = peak RSS during the step"]
    out += imapbench.table(rows)
    for result in results.values():
        out.append(f"\n[{result.name}] {result.process}")
        if result.error:
            out.append(f"  FAILED: {result.error}")
        if result.fill_rate:
            out.append(f"  fill rate: {result.fill_rate:.0f} messages/s")
        out.append(f"  first SELECT: {result.select_opens}")
        for s in result.steps:
            out.append(f"  {s.operation}: {s.check}" + ("" if s.opened == "not counted" else f"; {s.opened}"))
        out.extend(f"  note: {note}" for note in result.notes)
    return "\n".join(out)


def run_targets(args, new_result, doing: str, run, errors: tuple = ()) -> dict:
    """``run(target, result)`` on each target ``--target`` names (cpmstore
    started here, the running reference Dovecot), each with its own
    ``new_result(name=...)``; a failure (OSError, RuntimeError, LookupError,
    ImapError and ``errors``) is kept as that result's ``error``, not raised."""
    names = ("cpmstore", "dovecot") if args.target == "both" else (args.target,)
    results = {}
    for name in names:
        print(f"{name}: {doing} ...", flush=True)
        result = results[name] = new_result(name=name)
        if name == "cpmstore":
            server = cpmstore_server(args.keep)
        else:
            server = dovecot_server(args.dovecot_port, args.dovecot_user, args.dovecot_password)
        try:
            with server as target:
                run(target, result)
        except (OSError, RuntimeError, LookupError, imapbench.ImapError, *errors) as failure:
            result.error = f"{type(failure).__name__}: {failure}"
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    imapbench.target_options(parser, "user5",
                             "messages per MULTIAPPEND command; 1 = one pipelined APPEND per message")
    args = parser.parse_args(argv)
    if args.messages < 1 or args.append_batch < 1:
        parser.error("--messages and --append-batch must be at least 1")

    workload = make_workload(args.messages, args.seed)
    folder = time.strftime("bench-%Y%m%d-%H%M%S-") + str(os.getpid())
    print(f"folder {folder!r}: {args.messages} messages, {workload.total_bytes} bytes", flush=True)
    def run(target, result: TargetResult) -> None:
        try:
            run_target(target, workload, folder, args.keep, args.append_batch, result)
        except (OSError, imapbench.ImapError):
            if target.log_path is not None:
                result.notes.append(f"server log, last lines:\n{_tail(target.log_path)}")
            raise

    results = run_targets(args, TargetResult, "filling and timing", run)
    print(render(results, args.messages, workload.total_bytes))
    failed = any(r.error or any(s.check.startswith("WRONG") for s in r.steps) for r in results.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
