"""Several worker processes (issue 9, [server] workers): a real twistd with
workers = 2. Each user belongs to one worker (owner_of); a connection
accepted by the other worker moves there when it logs in: the socket itself
over plaintext, a relay over TLS. Which worker accepted a connection and
which one holds it afterwards is read from /proc (the process holding the
server side of the TCP connection), so every test knows which path it took.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from cpmstore.config import ConfigError, load_config, make_config
from cpmstore.imap.framing import Framer
from cpmstore.server.control import call
from cpmstore.server.handoff import Decoder, HandOff, HandOffError, encode, owner_of
from cpmstore.server.workers import config_from_state, config_state
from transcript import Connection
from twistd_proc import free_port, start_twistd

PASSWORD = "pw"


def users_of(worker: int, count: int = 10) -> list[str]:
    """User names that worker ``worker`` of 2 owns."""
    found = []
    n = 0
    while len(found) < count:
        name = f"user{n}"
        if owner_of(name, 2) == worker:
            found.append(name)
        n += 1
    return found


OWNED = {0: users_of(0), 1: users_of(1)}


# -- pure pieces --------------------------------------------------------------------------------------

def test_owner_is_a_hash_of_the_name_the_same_in_every_process():
    # sha256, not Python's hash(): a process started with another hash seed agrees.
    names = [f"name{n}" for n in range(200)] + ["alice", "ünïcode"]
    here = [owner_of(name, 3) for name in names]
    code = f"from cpmstore.server.handoff import owner_of; print([owner_of(n, 3) for n in {names!r}])"
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": "12345"}).stdout
    assert here == json.loads(there)
    assert owner_of("alice", 2) == int.from_bytes(hashlib.sha256(b"alice").digest()[:8], "big") % 2
    assert all(owner_of(name, 1) == 0 for name in names)


def test_owners_are_spread_over_the_workers():
    counts = [0, 0]
    for n in range(2000):
        counts[owner_of(f"u{n}", 2)] += 1
    assert 900 < counts[0] < 1100


def test_handoff_message_survives_any_chunking():
    message = HandOff(user="ünï", tag=b"a1", mechanism="PLAIN", proxy="cpf", listener=1, tls=True,
                      family=socket.AF_UNIX, remote="[::1]:4000", session="abc", connected_at=12.5,
                      pending=b"a2 APPEND INBOX {3+}\r\n\x00\xff\r\r\n")
    data = encode(message)
    decoder = Decoder()
    results = [decoder.feed(data[i:i + 1]) for i in range(len(data))]
    assert results[:-1] == [None] * (len(data) - 1)
    assert results[-1] == message
    assert Decoder().feed(data) == message


def test_handoff_message_refuses_what_is_not_one():
    with pytest.raises(HandOffError):
        Decoder().feed(b"\xff\xff\xff\xff")  # a header far over the limit
    with pytest.raises(HandOffError):
        Decoder().feed(b"\x00\x00\x00\x02{}")  # no fields
    message = encode(HandOff("u", b"t", "LOGIN", "", 0, False, socket.AF_INET, "x", "s", 0.0, b"ab"))
    with pytest.raises(HandOffError):
        Decoder().feed(message + b"c")  # more than the message holds


def test_framer_pending_is_the_unfinished_command_as_sent():
    framer = Framer(1000, 1000)
    events = framer.feed(b"a1 NOOP\r\na2 APPEND INBOX {10}\r\nhello")
    assert len(events) == 2  # a1, and the continuation request of a2's literal
    assert framer.pending() == b"a2 APPEND INBOX {10}\r\nhello"
    framer.feed(b" worl")
    assert framer.pending() == b"a2 APPEND INBOX {10}\r\nhello worl"
    framer = Framer(10, 1000)
    framer.feed(b"a1 " + b"x" * 20)  # over max_line_bytes: being dropped
    assert framer.pending() is None


def test_config_reaches_a_worker_by_key_name(tmp_path):
    """A worker restarted after an upgrade may know more or fewer keys than the
    supervisor that read the file: keys are matched by name, never position."""
    config = load_config(Path(__file__).resolve().parents[2] / "conf" / "cpmstore.toml")
    assert config_from_state(config_state(config)) == config
    state = config_state(config)
    state["server"]["a_key_from_a_newer_version"] = 1
    del state["server"]["workers"]
    del state["cpm"]
    restored = config_from_state(state)
    assert restored.server.workers == 1 and restored.server.data_dir == config.server.data_dir
    assert restored.cpm == type(config.cpm)()
    assert restored.listeners == config.listeners and restored.tls == config.tls


def test_workers_must_be_at_least_one(tmp_path):
    with pytest.raises(ConfigError, match="server.workers"):
        make_config(tmp_path, workers=0)
    assert make_config(tmp_path).server.workers == 1


# -- which worker holds a connection ----------------------------------------------------------------------

def worker_pids(supervisor: int) -> dict[int, int]:
    """worker index -> pid of the supervisor's living workers."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == supervisor and b"cpmstore.server.worker" in argv:
            found[int(argv[argv.index(b"cpmstore.server.worker") + 1])] = int(entry)
    return found


def _server_inode(ports: tuple[int, int]) -> str | None:
    client_port, server_port = ports
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == client_port:
            return fields[9]
    return None


def holder(ports: tuple[int, int], pids: dict[int, int]) -> int | None:
    """The index of the worker holding the server side of the client's
    connection ``ports`` (client port, server port)."""
    inode = _server_inode(ports)
    for index, pid in pids.items():
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    return index
            except OSError:
                continue
    return None


def tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test server's self-signed certificate
    return context


def accepted_by(server, worker: int, kind: str = "plain") -> tuple[Connection, tuple[int, int]]:
    """A connection greeted by worker ``worker``: (IMAP connection, its (client
    port, server port)). ``kind``: "plain", "implicit" (TLS from the start) or "starttls"."""
    port = {"plain": server.port, "implicit": server.tls_port, "starttls": server.starttls_port}[kind]
    for _attempt in range(200):
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        ports = (raw.getsockname()[1], port)
        sock = tls_context().wrap_socket(raw) if kind == "implicit" else raw
        conn = Connection(port, sock=sock)
        assert conn.read_line().startswith(b"* OK")
        if holder(ports, worker_pids(server.proc.pid)) == worker:
            if kind == "starttls":
                assert conn.command(b"s1", b"STARTTLS")[-1].startswith(b"s1 OK")
                conn = Connection(port, sock=tls_context().wrap_socket(raw))
            return conn, ports
        conn.close()
    raise AssertionError(f"worker {worker} accepted none of 200 connections")


def login(conn: Connection, user: str, tag: bytes = b"a1") -> bytes:
    return conn.command(tag, b"LOGIN " + user.encode() + b" " + PASSWORD.encode())[-1]


class Server:
    def __init__(self, tmp_path: Path, proc: subprocess.Popen, port: int, tls_port: int, starttls_port: int,
                 metrics_port: int) -> None:
        self.tmp_path = tmp_path
        self.proc = proc
        self.port = port
        self.tls_port = tls_port
        self.starttls_port = starttls_port
        self.metrics_port = metrics_port
        self.control = str(tmp_path / "data" / "control.sock")


def start(tmp_path: Path, workers: int = 2, extra: str = "", server_extra: str = "") -> Server:
    """twistd with ``workers`` worker processes (plaintext, implicit TLS and
    STARTTLS listeners, metrics) on ``tmp_path``'s data; ``extra`` is more
    TOML, ``server_extra`` more keys of its [server] table."""
    port, tls_port, starttls_port, metrics_port = free_port(), free_port(), free_port(), free_port()
    users = {name: PASSWORD for names in OWNED.values() for name in names}
    proc = start_twistd(tmp_path, port, (
        f'[[listener]]\nendpoint = "tcp:{tls_port}:interface=127.0.0.1"\ntls = "implicit"\n'
        f'[[listener]]\nendpoint = "tcp:{starttls_port}:interface=127.0.0.1"\ntls = "starttls"\n'
        f'[tls]\ncertificate = "{tmp_path / "cert.pem"}"\nprivate_key = "{tmp_path / "key.pem"}"\n'
        'generate_self_signed = true\n'
        f'[metrics]\nendpoint = "tcp:{metrics_port}:interface=127.0.0.1"\n' + extra),
        users=users, more_ports=(tls_port, starttls_port), server_config=f"workers = {workers}\n{server_extra}")
    server = Server(tmp_path, proc, port, tls_port, starttls_port, metrics_port)
    deadline = time.monotonic() + 30
    while workers > 1 and len(worker_pids(proc.pid)) < workers:
        assert time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.05)
    return server


def stop(server: Server) -> int:
    server.proc.send_signal(signal.SIGTERM)
    return server.proc.wait(60)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = start(tmp_path_factory.mktemp("workers"))
    yield server
    if server.proc.poll() is None:
        stop(server)


def pick(worker: int) -> str:
    """A user of ``worker`` no other test has used."""
    return OWNED[worker].pop()


# -- logging in anywhere -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["plain", "implicit", "starttls"])
@pytest.mark.parametrize("acceptor,owner", [(0, 1), (1, 0), (0, 0)])
def test_login_lands_on_the_owner_with_pipelined_commands(server, kind, acceptor, owner):
    """RFC 3501 §5.5: commands pipelined behind LOGIN run after it, in order,
    also when the connection moves to another worker on LOGIN."""
    user = pick(owner) if kind == "plain" else OWNED[owner][0]
    folder = f"F-{kind}-{acceptor}{owner}"
    conn, raw = accepted_by(server, acceptor, kind)
    conn.send(f"a1 LOGIN {user} {PASSWORD}\r\n"
              f"a2 CREATE {folder}\r\n"
              f"a3 APPEND {folder} {{11+}}\r\nhello world\r\n"
              f"a4 SELECT {folder}\r\n"
              f"a5 UID FETCH 1:* (BODY[])\r\n".encode())
    lines = conn.until(b"a5")
    tagged = [line for line in lines if re.match(rb"a\d ", line)]
    assert [line.split(b" ")[:2] for line in tagged] == [[b"a%d" % n, b"OK"] for n in range(1, 6)]
    assert tagged[0].startswith(b"a1 OK [CAPABILITY IMAP4rev1") and b" IDLE" in tagged[0]
    assert any(b"BODY[] {11}\r\nhello world" in line for line in lines)
    pids = worker_pids(server.proc.pid)
    if kind == "plain":
        assert holder(raw, pids) == owner  # the socket itself moved (or stayed)
    else:
        assert holder(raw, pids) == acceptor  # TLS stays where it was accepted; the owner gets a relay
    assert conn.command(b"a6", b"LOGOUT")[-1].startswith(b"a6 OK")
    conn.close()


@pytest.mark.parametrize("kind", ["plain", "implicit"])
@pytest.mark.parametrize("together", [True, False])
def test_a_synchronizing_literal_behind_the_login_gets_one_go_ahead(server, kind, together):
    """RFC 3501 §7.5: one "+" per synchronizing literal, also when the
    connection moves to the owner on LOGIN. The accepting worker answers the
    literal announced behind the LOGIN (in the same packet, or while the login
    runs); the owner replays those bytes and must not answer it again, or the
    client would take the second "+" for another literal's go-ahead."""
    user = OWNED[1][0]
    conn, _raw = accepted_by(server, 0, kind)
    login_line = f"a1 LOGIN {user} {PASSWORD}\r\n".encode()
    append_line = b"a2 APPEND INBOX {11}\r\n"
    if together:
        conn.send(login_line + append_line)
    else:
        conn.send(login_line)
        conn.send(append_line)
    first = conn.read_line()
    while not first.startswith(b"+ "):  # the go-ahead may follow a1's answer or come before it
        first = conn.read_line()
    conn.send(b"hello world\r\na3 NOOP\r\n")
    lines = conn.until(b"a3")
    assert not [line for line in lines if line.startswith(b"+")], lines
    tagged = [line.split(b" ")[:2] for line in lines if re.match(rb"a\d ", line)]
    assert [b"a2", b"OK"] in tagged and tagged[-1] == [b"a3", b"OK"]
    assert conn.command(b"a4", b"LOGOUT")[-1].startswith(b"a4 OK")
    conn.close()


@pytest.mark.parametrize("kind", ["plain", "implicit"])
def test_a_moved_session_ends_once_in_the_log(tmp_path, kind):
    """The accepting worker logs that the session moved, the owner its login
    and its end; no "disconnect" from the worker it left."""
    server = start(tmp_path)
    try:
        user = OWNED[1][0]
        conn, _raw = accepted_by(server, 0, kind)
        assert login(conn, user).startswith(b"a1 OK")
        assert conn.command(b"a2", b"LOGOUT")[-1].startswith(b"a2 OK")
        conn.close()
        log = tmp_path / "twistd.log"
        ended = re.compile(rf"worker 1: logout: user={user} session=(\S+) ")
        deadline = time.monotonic() + 10
        while not (found := ended.search(log.read_text())):
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.05)
    finally:
        stop(server)
    session = found.group(1)
    lines = log.read_text().splitlines()
    assert any(f"worker 0: session={session} of {user} moved to worker 1" in line for line in lines)
    ends = [line for line in lines if f"session={session} " in line and re.search(r": (logout|disconnect): ", line)]
    assert len(ends) == 1, ends


def test_authenticate_plain_moves_too(server):
    user = pick(1)
    conn, raw = accepted_by(server, 0)
    import base64

    token = base64.b64encode(f"\0{user}\0{PASSWORD}".encode())
    assert conn.command(b"a1", b"AUTHENTICATE PLAIN " + token)[-1].startswith(b"a1 OK [CAPABILITY")
    assert holder(raw, worker_pids(server.proc.pid)) == 1
    assert conn.command(b"a2", b"NAMESPACE")[-1].startswith(b"a2 OK")
    conn.close()


def test_wrong_password_stays_where_it_was(server):
    user = OWNED[1][0]
    conn, raw = accepted_by(server, 0)
    assert conn.command(b"a1", f"LOGIN {user} wrong".encode())[-1].startswith(b"a1 NO [AUTHENTICATIONFAILED]")
    assert holder(raw, worker_pids(server.proc.pid)) == 0
    conn.close()


def test_idle_hears_an_append_made_through_the_other_worker(server):
    """RFC 2177: an IDLE session hears of a message another session of the same
    user appended; here the two sessions were accepted by different workers,
    and both live in the owner, whose change bus tells one of the other."""
    user = pick(1)
    idler, _ = accepted_by(server, 0, "implicit")
    assert login(idler, user).startswith(b"a1 OK")
    assert idler.command(b"a2", b"SELECT INBOX")[-1].startswith(b"a2 OK")
    idler.send(b"a3 IDLE\r\n")
    assert idler.read_line().startswith(b"+")
    writer, _ = accepted_by(server, 1)
    assert login(writer, user).startswith(b"a1 OK")
    assert writer.command(b"a2", b"APPEND INBOX {5+}\r\nhello")[-1].startswith(b"a2 OK")
    assert idler.read_line() == b"* 1 EXISTS"
    idler.send(b"DONE\r\n")
    assert idler.until(b"a3")[-1].startswith(b"a3 OK")
    for conn in (idler, writer):
        conn.close()


def test_large_messages_cross_the_tls_relay_intact(server):
    """Megabytes each way through a relay (TLS accepted by worker 0, user owned
    by worker 1), the answer read only after the server had to stop writing:
    back-pressure holds data back, it never drops it."""
    user = pick(1)
    body = b"".join(b"Line %07d of a large message.\r\n" % n for n in range(100_000))  # 3.2 MB
    conn, _ = accepted_by(server, 0, "implicit")
    assert login(conn, user).startswith(b"a1 OK")
    conn.send(b"a2 APPEND INBOX {%d+}\r\n" % len(body) + body + b"\r\n")
    assert conn.until(b"a2")[-1].startswith(b"a2 OK")
    assert conn.command(b"a3", b"SELECT INBOX")[-1].startswith(b"a3 OK")
    conn.send(b"a4 FETCH 1:* (BODY.PEEK[])\r\n" * 4)
    time.sleep(1)  # not a timing assertion: lets the socket buffers fill while nobody reads
    fetched = [line for line in conn.until(b"a4") if b"FETCH" in line]
    for _ in range(3):
        fetched += [line for line in conn.until(b"a4") if b"FETCH" in line]
    assert len(fetched) == 4 and all(line.endswith(body + b")") for line in fetched)
    conn.close()


# -- what several processes cannot do ------------------------------------------------------------------------

def test_sharing_with_another_user_is_refused_with_cannot(server):
    owner, other = pick(0), OWNED[1][0]
    conn, _ = accepted_by(server, 0)
    assert login(conn, owner).startswith(b"a1 OK")
    answer = conn.command(b"a2", f"SETACL INBOX {other} lr".encode())[-1]
    assert answer.startswith(b"a2 NO [CANNOT]") and b"[server] workers" in answer
    # The owner's own rights are still the owner's to set (RFC 4314 §2.1 keeps them anyway).
    assert conn.command(b"a3", f"SETACL INBOX {owner} lrswipkxtecda".encode())[-1].startswith(b"a3 OK")
    conn.close()


def test_shares_made_with_one_process_stay_within_a_worker(tmp_path):
    """Folders shared while the server ran as one process: after the switch to
    two workers the grantee on the owner's worker still sees and opens them;
    one on the other worker finds nothing there, as if nothing were shared
    (RFC 4314 §4: without l or r the folder does not exist for that user)."""
    owner, same, other = OWNED[0][0], OWNED[0][1], OWNED[1][0]
    server = start(tmp_path, workers=1)
    conn = Connection(server.port)
    assert conn.read_line().startswith(b"* OK")
    assert login(conn, owner).startswith(b"a1 OK")
    assert conn.command(b"a2", b"CREATE Shared")[-1].startswith(b"a2 OK")
    for n, grantee in enumerate((same, other)):
        assert conn.command(b"s%d" % n, f"SETACL Shared {grantee} lr".encode())[-1].startswith(b"s%d OK" % n)
    conn.close()
    stop(server)

    server = start(tmp_path)
    try:
        shared = f'"Other Users/{owner}/Shared"'.encode()
        for user, worker, visible in ((same, 1, True), (other, 0, False)):
            conn, _ = accepted_by(server, worker)  # and moved to the user's own worker
            assert login(conn, user).startswith(b"a1 OK")
            listed = conn.command(b"a2", b'LIST "" "Other Users/*"')
            assert any(shared in line for line in listed) is visible
            selected = conn.command(b"a3", b"SELECT " + shared)[-1]
            assert selected.startswith(b"a3 OK" if visible else b"a3 NO [NONEXISTENT]")
            conn.close()
    finally:
        stop(server)


def test_connections_per_user_are_counted_across_workers(tmp_path):
    """limits.max_connections_per_user holds for the user's sessions wherever
    they were accepted: they all end up in the owner, which counts them."""
    user = OWNED[1][0]
    server = start(tmp_path, extra="[limits]\nmax_connections_per_user = 2\n")
    try:
        first, _ = accepted_by(server, 0)
        second, _ = accepted_by(server, 1)
        third, _ = accepted_by(server, 0)
        assert login(first, user).startswith(b"a1 OK")
        assert login(second, user).startswith(b"a1 OK")
        refused = login(third, user)
        assert refused.startswith(b"a1 NO [UNAVAILABLE]") and b"max_connections_per_user=2" in refused
        # Still connected and not logged in (RFC 3501 §6.2: a failed LOGIN keeps the state).
        assert third.command(b"a2", b"SELECT INBOX")[-1].startswith(b"a2 BAD")
        first.close()
        # Once the owner has seen that close, a retry fits.
        for attempt in range(100):
            answer = login(third, user, b"r%d" % attempt)
            if not answer.startswith(b"r%d NO [UNAVAILABLE]" % attempt):
                break
            time.sleep(0.1)
        assert answer.startswith(b"r%d OK" % attempt)
        for conn in (second, third):
            conn.close()
    finally:
        stop(server)


# -- cpmstore-admin and the metrics across workers ------------------------------------------------------------------

def test_admin_who_and_kick_see_every_worker(server):
    first, second = pick(0), pick(1)
    a, _ = accepted_by(server, 1)
    assert login(a, first).startswith(b"a1 OK")
    b, b_raw = accepted_by(server, 0, "implicit")  # relayed by worker 0 to worker 1
    assert login(b, second).startswith(b"a1 OK")
    rows = call(server.control, "who")
    mine = {row["user"]: row for row in rows if row["user"] in (first, second)}
    assert set(mine) == {first, second}
    # The relayed session shows the client's own address, not the relay's.
    assert mine[second]["remote"] == f"127.0.0.1:{b_raw[0]}"
    assert call(server.control, "kick", {"user": second}) == {"closed": 1}
    assert b.read_line().startswith(b"* BYE")
    assert a.command(b"a2", b"NOOP")[-1].startswith(b"a2 OK")
    a.close()
    b.close()


@pytest.mark.parametrize("worker", [0, 1])
def test_admin_changes_reach_the_owner(server, worker):
    """A change cpmstore-admin asks for is made by the worker owning the user,
    through its store, as with one process (a second process never opens it)."""
    user = pick(worker)
    created = call(server.control, "mailbox-create", {"user": user, "name": "FromAdmin", "create": True})
    assert created
    conn, _ = accepted_by(server, 1 - worker)
    assert login(conn, user).startswith(b"a1 OK")
    assert any(b'"FromAdmin"' in line or b" FromAdmin" in line
               for line in conn.command(b"a2", b'LIST "" "*"'))
    conn.close()


def test_metrics_label_each_worker(server):
    for worker in (0, 1):
        conn, _ = accepted_by(server, worker)
        assert login(conn, OWNED[worker][0]).startswith(b"a1 OK")
        conn.close()
    page = urllib.request.urlopen(f"http://127.0.0.1:{server.metrics_port}/metrics", timeout=10).read().decode()
    logins = [line for line in page.splitlines() if line.startswith("cpmstore_logins")]
    assert any('worker="0"' in line for line in logins) and any('worker="1"' in line for line in logins)
    assert page.count("# TYPE cpmstore_commands") == 1  # one family, both workers' samples in it


# -- a worker's death and the server's stop -------------------------------------------------------------------------

def test_a_killed_worker_is_restarted_and_nothing_is_lost(tmp_path):
    server = start(tmp_path)
    try:
        user = OWNED[1][0]
        conn, _ = accepted_by(server, 1)
        assert login(conn, user).startswith(b"a1 OK")
        for n in range(3):
            assert conn.command(b"b%d" % n, b"APPEND INBOX {4+}\r\nmsg%d" % n)[-1].startswith(b"b%d OK" % n)
        before = [line for line in conn.command(b"a2", b"SELECT INBOX") if b"UIDVALIDITY" in line]
        dead = worker_pids(server.proc.pid)[1]
        os.kill(dead, signal.SIGKILL)
        with pytest.raises(ConnectionError):
            conn.read_line()  # its sessions end with it
        deadline = time.monotonic() + 30
        while worker_pids(server.proc.pid).get(1) in (None, dead):
            assert time.monotonic() < deadline, "worker 1 was not restarted"
            time.sleep(0.05)
        # Accepted by worker 0, moved to the new worker 1: the store is as it was.
        conn, raw = accepted_by(server, 0)
        assert login(conn, user).startswith(b"a1 OK")
        lines = conn.command(b"a2", b"SELECT INBOX")
        assert [line for line in lines if b"UIDVALIDITY" in line] == before
        fetched = conn.command(b"a3", b"UID FETCH 1:* (BODY[])")
        assert [re.search(rb"\{4\}\r\n(msg\d)", line).group(1) for line in fetched if b"BODY[]" in line] \
            == [b"msg0", b"msg1", b"msg2"]
        assert holder(raw, worker_pids(server.proc.pid)) == 1
        conn.close()
    finally:
        if server.proc.poll() is None:
            pids = set(worker_pids(server.proc.pid).values())
            assert stop(server) in (0, -signal.SIGTERM)  # twistd ends by the signal it handled
    # SIGTERM stopped the workers too, and the supervisor waited for them.
    assert pids and not any(Path(f"/proc/{pid}").exists() for pid in pids)
    assert not (tmp_path / "data" / "control.sock").exists()


# -- CPUs ---------------------------------------------------------------------------------------------------

def cpus_of_every_thread(pid: int) -> set[frozenset[int]]:
    return {frozenset(os.sched_getaffinity(int(tid))) for tid in os.listdir(f"/proc/{pid}/task")}


def test_each_worker_runs_on_its_own_cpu(server):
    allowed = sorted(os.sched_getaffinity(0))  # the supervisor's, inherited from this process
    pids = worker_pids(server.proc.pid)
    for worker, pid in pids.items():
        conn, _ = accepted_by(server, worker)
        assert login(conn, pick(worker)).startswith(b"a1 OK")  # the store and its threads are running
        assert cpus_of_every_thread(pid) == {frozenset({allowed[worker % len(allowed)]})}
        conn.close()


def test_pin_workers_false_leaves_the_workers_on_every_cpu(tmp_path):
    server = start(tmp_path, server_extra="pin_workers = false")
    try:
        allowed = frozenset(os.sched_getaffinity(0))
        for worker, pid in worker_pids(server.proc.pid).items():
            conn, _ = accepted_by(server, worker)
            assert login(conn, pick(worker)).startswith(b"a1 OK")
            assert cpus_of_every_thread(pid) == {allowed}
            conn.close()
    finally:
        stop(server)
