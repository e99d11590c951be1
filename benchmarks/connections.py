"""Connections benchmark (issue 10, "Load and limits"): N clients logged in and IDLE at once.

    python benchmarks/connections.py [--connections 10000] [--users 1000] [--clients 2]
                                     [--target cpmstore|dovecot|both] [--dovecot-connections 500] [--keep]

For cpmstore it starts `twistd -n cpmstore` on a temporary data directory (users user0..user<U-1> / pass,
[limits] max_connections above N, RLIMIT_NOFILE raised for the server and for the clients), reads the
server's VmRSS, then opens N connections that each LOGIN (spread over the users, N/U each, under the default
max_connections_per_user of 50), SELECT INBOX and IDLE, from several client processes running asyncio so the
clients are not what limits the run. With every connection idling it reads VmRSS again and reports KiB per
connection; checks that a fresh client is still served (greeting, LOGIN, SELECT, LOGOUT) and how long that
took; then APPENDs one message to every user's INBOX and counts the idling connections that hear
`* 1 EXISTS` (RFC 2177). Exit status 1 if a connection failed or a notification was missed.

For Dovecot (the reference instance of shared/tools/dovecot, already started, users user1..user5) it opens
fewer connections (--dovecot-connections, default 500: its config allows 1024 `imap` processes in all,
shared with whoever else uses it, and is not changed here) and sums the RSS and PSS of the `imap` processes
that appeared. Nothing is appended there (other people's tests read those INBOXes).

It never asserts on a time and talks to 127.0.0.1 only. Run it as root (RLIMIT_NOFILE, other users' /proc).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import imapbench

REPO_ROOT = Path(__file__).resolve().parent.parent
NOFILE = 200_000
SETUP_CONCURRENCY = 64  # connections being set up at once, per client process
NOTIFY_SECONDS = 300.0  # how long the clients wait for every EXISTS
MESSAGE = (b"From: bench@example.com\r\nTo: user@example.com\r\nSubject: idle check\r\n"
           b"Message-ID: <idle-check@example.com>\r\n\r\nHello.\r\n")


def raise_nofile() -> None:
    """As many file descriptors as a run of this size needs (root may raise the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(NOFILE, soft)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# -- /proc ----------------------------------------------------------------------------------------------------
def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def pss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def processes_named(name: str) -> set[int]:
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == name:
                    pids.add(int(entry.name))
    return pids


# -- the client processes ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Slice:
    port: int
    logins: list[tuple[str, str]]  # (user, password) per connection


async def _reply(reader: asyncio.StreamReader, tag: bytes) -> bytes:
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("closed by the server")
        if line.startswith(tag + b" "):
            return line


async def _idle(port: int, user: str, password: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 16)
    greeting = await reader.readline()
    if not greeting.startswith(b"* OK"):
        raise ConnectionError(f"greeting {greeting!r}")
    writer.write(b"a1 LOGIN %s %s\r\n" % (user.encode(), password.encode()))
    if not (line := await _reply(reader, b"a1")).startswith(b"a1 OK"):
        raise ConnectionError(f"LOGIN {line!r}")
    writer.write(b"a2 SELECT INBOX\r\n")
    if not (line := await _reply(reader, b"a2")).startswith(b"a2 OK"):
        raise ConnectionError(f"SELECT {line!r}")
    writer.write(b"a3 IDLE\r\n")
    while not (line := await reader.readline()).startswith(b"+"):
        if not line:
            raise ConnectionError("closed during IDLE")
    return reader, writer


async def _wait_exists(reader: asyncio.StreamReader, got: asyncio.Event) -> None:
    while line := await reader.readline():
        if line.startswith(b"* ") and line.rstrip().endswith(b" EXISTS"):
            got.set()
            return


async def _client(work: Slice, pipe) -> None:
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)
    errors: list[str] = []

    async def one(user: str, password: str):
        async with gate:
            try:
                return await _idle(work.port, user, password)
            except (OSError, ConnectionError) as e:
                errors.append(f"{user}: {e}")
                return None

    connections = [c for c in await asyncio.gather(*(one(u, p) for u, p in work.logins)) if c]
    events = [asyncio.Event() for _ in connections]
    watchers = [asyncio.ensure_future(_wait_exists(r, e)) for (r, _w), e in zip(connections, events)]
    pipe.send(("ready", len(connections), errors[:5], len(errors)))
    command = await loop.run_in_executor(None, pipe.recv)
    if command == "watch":
        deadline = loop.time() + NOTIFY_SECONDS
        while loop.time() < deadline and not all(e.is_set() for e in events):
            await asyncio.sleep(0.2)
        pipe.send(("notified", sum(e.is_set() for e in events)))
        await loop.run_in_executor(None, pipe.recv)
    for task in watchers:
        task.cancel()
    for _r, writer in connections:
        writer.close()


def client_main(work: Slice, pipe) -> None:
    raise_nofile()
    asyncio.run(_client(work, pipe))


class Clients:
    """``processes`` client processes sharing ``logins`` between them."""

    def __init__(self, port: int, logins: list[tuple[str, str]], processes: int) -> None:
        ctx = multiprocessing.get_context("fork")
        self.pipes, self.procs = [], []
        for index in range(processes):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=client_main, args=(Slice(port, logins[index::processes]), child), daemon=True)
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)

    def ready(self) -> tuple[int, list[str], int]:
        held, errors, failed = 0, [], 0
        for pipe in self.pipes:
            _, count, some_errors, error_count = pipe.recv()
            held += count
            errors += some_errors
            failed += error_count
        return held, errors, failed

    def notified(self) -> int:
        for pipe in self.pipes:
            pipe.send("watch")
        return sum(pipe.recv()[1] for pipe in self.pipes)

    def close(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send("close")
        for proc in self.procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()


# -- a plain blocking client for the checks -------------------------------------------------------------------
class Plain:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.file = self.sock.makefile("rb")
        self.greeting = self.file.readline()

    def command(self, tag: bytes, line: bytes, literal: bytes | None = None) -> bytes:
        if literal is None:
            self.sock.sendall(tag + b" " + line + b"\r\n")
        else:
            self.sock.sendall(tag + b" " + line + b" {%d+}\r\n" % len(literal) + literal + b"\r\n")
        while True:
            got = self.file.readline()
            if not got:
                raise ConnectionError("closed by the server")
            if got.startswith(tag + b" "):
                return got.rstrip()

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def fresh_client(port: int, user: str, password: str) -> tuple[bool, float]:
    started = time.monotonic()
    try:
        client = Plain(port)
        ok = client.greeting.startswith(b"* OK")
        ok = ok and client.command(b"f1", b"LOGIN %s %s" % (user.encode(), password.encode())).startswith(b"f1 OK")
        ok = ok and client.command(b"f2", b"SELECT INBOX").startswith(b"f2 OK")
        ok = ok and client.command(b"f3", b"LOGOUT").startswith(b"f3 OK")
        client.close()
    except OSError:
        ok = False
    return ok, time.monotonic() - started


def append_to_every_inbox(port: int, users: list[str], password: str) -> int:
    appended = 0
    for user in users:
        client = Plain(port)
        if client.command(b"p1", b"LOGIN %s %s" % (user.encode(), password.encode())).startswith(b"p1 OK"):
            appended += client.command(b"p2", b"APPEND INBOX", MESSAGE).startswith(b"p2 OK")
        client.command(b"p3", b"LOGOUT")
        client.close()
    return appended


# -- the servers ----------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def cpmstore_server(users: list[str], connections: int, keep: bool):
    workdir = Path(tempfile.mkdtemp(prefix="cpmstore-conns-"))
    (workdir / "users").write_text("".join(f"{user}:{{PLAIN}}pass\n" for user in users))
    port = _free_port()
    config = workdir / "cpmstore.toml"
    config.write_text(
        "[server]\n"
        f"data_dir = {json.dumps(str(workdir / 'data'))}\n"
        f"users_file = {json.dumps(str(workdir / 'users'))}\n"
        'hostname = "localhost"\n'
        "[[listener]]\n"
        f'endpoint = "tcp:{port}:interface=127.0.0.1:backlog=1024"\n'
        'tls = "none"\n'
        "allow_plaintext_auth = true\n"
        "[limits]\n"
        f"max_connections = {connections + 100}\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    log_path = workdir / "twistd.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", "from twisted.scripts.twistd import run; run()", "-n", "--pidfile=",
             "--logfile", str(log_path), "cpmstore", "--config", str(config)],
            cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=raise_nofile)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"twistd did not start:\n{log_path.read_text()[-3000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            time.sleep(0.2)
        yield port, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


# -- the runs -------------------------------------------------------------------------------------------------
@dataclass
class Result:
    target: str
    connections: int
    held: int = 0
    failed: int = 0
    rss_before_kib: int = 0
    rss_after_kib: int = 0
    pss_before_kib: int = 0
    pss_after_kib: int = 0
    setup_seconds: float = 0.0
    fresh_ok: bool = False
    fresh_seconds: float = 0.0
    appended: int = 0
    notified: int | None = None
    errors: tuple[str, ...] = ()

    @property
    def kib_per_connection(self) -> float:
        return (self.rss_after_kib - self.rss_before_kib) / max(self.held, 1)

    @property
    def pss_kib_per_connection(self) -> float:
        return (self.pss_after_kib - self.pss_before_kib) / max(self.held, 1)


def settle(seconds: float = 3.0) -> None:
    time.sleep(seconds)  # let the last replies be written and freed before reading RSS


def run_cpmstore(args) -> Result:
    users = [f"user{n}" for n in range(args.users)]
    result = Result("cpmstore", args.connections)
    with cpmstore_server(users, args.connections, args.keep) as (port, pid):
        # Every user's store is opened before the baseline, so what is measured is connections, not
        # accounts (and so the login storm below never waits for a store being opened: a few hundred
        # logins waiting at once for Store.account's DeferredLock overflow the stack, see the report).
        warm_ok = all(fresh_client(port, user, "pass")[0] for user in users)
        settle()
        result.rss_before_kib = status_kib(pid, "VmRSS")
        result.pss_before_kib = pss_kib(pid)
        logins = [(users[n % len(users)], "pass") for n in range(args.connections)]
        started = time.monotonic()
        clients = Clients(port, logins, args.clients)
        try:
            result.held, errors, result.failed = clients.ready()
            result.errors = tuple(errors)
            result.setup_seconds = time.monotonic() - started
            settle()
            result.rss_after_kib = status_kib(pid, "VmRSS")
            result.pss_after_kib = pss_kib(pid)
            result.fresh_ok, result.fresh_seconds = fresh_client(port, users[0], "pass")
            result.fresh_ok = result.fresh_ok and warm_ok
            result.appended = append_to_every_inbox(port, users, "pass")
            result.notified = clients.notified()
        finally:
            clients.close()
    return result


def run_dovecot(args) -> Result:
    users = [f"user{n}" for n in range(1, 6)]
    result = Result("dovecot", args.dovecot_connections)
    before = processes_named("imap")
    result.rss_before_kib = 0  # the imap processes that appear are the connections' whole cost
    logins = [(users[n % len(users)], "pass") for n in range(args.dovecot_connections)]
    started = time.monotonic()
    clients = Clients(args.dovecot_port, logins, args.clients)
    try:
        result.held, errors, result.failed = clients.ready()
        result.errors = tuple(errors)
        result.setup_seconds = time.monotonic() - started
        settle()
        new = processes_named("imap") - before
        for pid in new:
            with contextlib.suppress(OSError, KeyError):
                result.rss_after_kib += status_kib(pid, "VmRSS")
                result.pss_after_kib += pss_kib(pid)
        result.fresh_ok, result.fresh_seconds = fresh_client(args.dovecot_port, users[0], "pass")
    finally:
        clients.close()
    return result


def render(results: list[Result]) -> list[str]:
    rows = [["target", "connections held", "failed", "setup s", "RSS before MiB", "RSS after MiB",
             "KiB/conn (RSS)", "KiB/conn (PSS)", "fresh client", "EXISTS heard"]]
    for r in results:
        rows.append([r.target, f"{r.held}/{r.connections}", str(r.failed), f"{r.setup_seconds:.1f}",
                     f"{r.rss_before_kib / 1024:.1f}", f"{r.rss_after_kib / 1024:.1f}",
                     f"{r.kib_per_connection:.1f}", f"{r.pss_kib_per_connection:.1f}",
                     f"{'ok' if r.fresh_ok else 'FAILED'} {r.fresh_seconds:.2f}s",
                     "-" if r.notified is None else f"{r.notified}/{r.held}"])
    return imapbench.table(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=10_000, help="idling connections for cpmstore (10000)")
    parser.add_argument("--users", type=int, default=1000, help="users they are spread over (1000)")
    parser.add_argument("--clients", type=int, default=2, help="client processes (2)")
    parser.add_argument("--target", choices=("cpmstore", "dovecot", "both"), default="cpmstore")
    parser.add_argument("--dovecot-port", type=int, default=10143)
    parser.add_argument("--dovecot-connections", type=int, default=500,
                        help="connections for the reference Dovecot (500; its config allows 1024 imap processes)")
    parser.add_argument("--keep", action="store_true", help="keep cpmstore's data directory and log")
    args = parser.parse_args(argv)
    raise_nofile()
    results = []
    if args.target in ("cpmstore", "both"):
        results.append(run_cpmstore(args))
    if args.target in ("dovecot", "both"):
        results.append(run_dovecot(args))
    for line in render(results):
        print(line)
    ok = True
    for r in results:
        if r.errors:
            print(f"{r.target}: first errors: {'; '.join(r.errors)}")
        if r.target == "cpmstore":
            print(f"cpmstore: appended one message to {r.appended} INBOXes")
            ok = ok and r.notified == r.held
        ok = ok and r.failed == 0 and r.fresh_ok and r.held == r.connections
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
