"""The local control plane of a running server: ``server.lock`` and the control socket.

This module owns two things the server and ``cpmstore-admin`` agree on:

- ``DataDirLock``: an exclusive ``flock`` on ``<data_dir>/server.lock``. The
  running server holds it from ``make_service`` until its store is closed;
  ``cpmstore-admin`` takes it (never waiting) before it opens a store itself,
  so the two never write one user's index at the same time (the server keeps
  folder state in memory and would not see such a write).
- The control socket (``[server] control_socket``): a UNIX socket, mode 0600,
  speaking line-delimited JSON. A request is one line ``{"op": NAME, "args":
  {...}}``; the answer is one line ``{"ok": true, "result": ...}`` or ``{"ok":
  false, "error": TEXT}``. ``who`` and ``kick`` look at the live sessions
  (``ServerContext.protocols``); every other operation is one of
  ``cpmstore.admin.operations.OPERATIONS``, run here through the server's own
  store, so sessions hear of the change on the change bus as if a client had
  made it (``* n EXPUNGE`` to an IDLE client, NOTIFY's LIST).

It never parses IMAP and never touches the store's files itself. ``call`` is
the blocking client ``cpmstore-admin`` uses; everything else runs in the
server's reactor.
"""

from __future__ import annotations

import fcntl
import inspect
import json
import os
import socket
import stat
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from twisted.application.service import Service
from twisted.internet.defer import Deferred, succeed
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.protocols.basic import LineOnlyReceiver

from ..config import ConfigError
from ..errors import IMAPError
from ..imap import response as wire

__all__ = [
    "ControlError",
    "ControlService",
    "DataDirLock",
    "LOCK_FILE",
    "NoServer",
    "SessionInfo",
    "call",
    "check_socket_path",
    "kick",
    "sessions",
]

log = Logger()

LOCK_FILE = "server.lock"
# sockaddr_un.sun_path is 108 bytes on Linux, one of them the terminating NUL.
MAX_SOCKET_PATH = 107
MAX_REQUEST_BYTES = 1 << 20


# -- the data directory lock ------------------------------------------------------

class DataDirLock:
    """An exclusive ``flock`` on ``<data_dir>/server.lock``, held until ``release``.

    ``flock`` (not ``fcntl`` record locks) because it belongs to the open
    file, so it survives twistd's fork into the background, and the kernel
    drops it when the process dies however it dies: no stale lock to clean.
    """

    def __init__(self, fd: int, path: str) -> None:
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def try_take(cls, data_dir: str) -> "DataDirLock | None":
        """The lock, or None when another process holds it. Creates the data
        directory (0700) and the lock file (0600) when missing."""
        os.makedirs(data_dir, mode=0o700, exist_ok=True)
        path = os.path.join(data_dir, LOCK_FILE)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return cls(fd, path)

    @classmethod
    def take_for_server(cls, data_dir: str) -> "DataDirLock":
        """The lock for a starting server; ConfigError when it is held."""
        try:
            lock = cls.try_take(data_dir)
        except OSError as e:
            raise ConfigError(f"server.data_dir: cannot lock {os.path.join(data_dir, LOCK_FILE)}: "
                              f"{e.strerror or e}") from None
        if lock is None:
            raise ConfigError(f"server.data_dir: {data_dir} is in use by another cpmstore server "
                              f"or cpmstore-admin (it holds {LOCK_FILE})")
        return lock

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the only descriptor drops the flock


# -- live sessions ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SessionInfo:
    """One logged-in session, as ``who`` shows it."""

    user: str
    remote: str
    listener: str
    mailbox: str | None
    state: str  # "idle", "notify", "idle,notify" or ""
    since: str  # when the connection was made, ISO 8601 UTC

    def as_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def _address(address: Any) -> str:
    host, port = getattr(address, "host", None), getattr(address, "port", None)
    if host is not None and port is not None:
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    name = getattr(address, "name", None)
    if name is not None:
        return os.fsdecode(name) if name else "unix"
    return str(address)


def _remote(protocol: Any) -> str:
    handoff = getattr(protocol, "handoff", None)
    if handoff is not None:
        # Moved from another worker process (server.handoff): over TLS the
        # socket here is a relay, and the client's address came with it.
        return handoff.remote
    return _address(protocol.transport.getPeer())


def sessions(context: Any) -> list[SessionInfo]:
    """The logged-in sessions of this server, oldest first (connections that
    have not logged in yet are not sessions of anyone)."""
    found = []
    for protocol in context.protocols:
        session = protocol.session
        if session is None or session.user is None or protocol.closed:
            continue
        states = [name for name, on in (("idle", session.idling), ("notify", session.notifier is not None)) if on]
        selected = session.selected
        connected_at = getattr(protocol, "connected_at", None) or time.time()
        found.append((connected_at, SessionInfo(
            user=session.user,
            remote=_remote(protocol),
            listener=protocol.listener.endpoint,
            mailbox=selected.mailbox.name if selected is not None else None,
            state=",".join(states),
            since=datetime.fromtimestamp(connected_at, timezone.utc).isoformat(timespec="seconds"),
        )))
    return [info for _, info in sorted(found, key=lambda pair: pair[0])]


def kick(context: Any, user: str) -> int:
    """Close every session of ``user``, each told ``* BYE`` first (RFC 3501
    §7.1.5); returns how many were closed."""
    closed = 0
    for protocol in list(context.protocols):
        session = protocol.session
        if session is None or session.user != user or protocol.closed:
            continue
        protocol.write(wire.untagged_status(b"BYE", "Disconnected by the administrator."))
        protocol.close()
        closed += 1
    if closed:
        log.info("control: closed {count} session(s) of {user}", count=closed, user=user)
    return closed


# -- the server side of the socket -------------------------------------------------------------

class _RequestError(Exception):
    """A request the server cannot run: the text goes back to the client."""


async def _dispatch(context: Any, request: object) -> object:
    if not isinstance(request, dict) or not isinstance(request.get("op"), str):
        raise _RequestError('a request is {"op": NAME, "args": {...}}')
    op, args = request["op"], request.get("args", {})
    if not isinstance(args, dict):
        raise _RequestError("args must be an object")
    if op == "who":
        return [info.as_json() for info in sessions(context)]
    if op == "metrics" and context.exposition is not None:
        # A worker's page for the supervisor's endpoint ([server] workers > 1).
        return (await context.exposition()).decode("utf-8")
    if op == "kick":
        user = args.get("user")
        if not isinstance(user, str) or set(args) != {"user"}:
            raise _RequestError('kick takes {"user": NAME}')
        return {"closed": kick(context, user)}
    from ..admin.operations import OPERATIONS, OperationFailed

    operation = OPERATIONS.get(op)
    if operation is None:
        raise _RequestError(f"unknown operation {op!r}")
    try:
        inspect.signature(operation).bind(context.store, **args)
    except TypeError as e:
        raise _RequestError(f"{op}: {e}") from None
    try:
        return await operation(context.store, **args)
    except OperationFailed as e:
        raise _RequestError(str(e)) from None


class _ControlProtocol(LineOnlyReceiver):
    delimiter = b"\n"
    MAX_LENGTH = MAX_REQUEST_BYTES

    def connectionMade(self) -> None:
        # Requests of one connection are answered in the order they came.
        self._previous: Deferred = succeed(None)

    def lineReceived(self, line: bytes) -> None:
        self._previous = self._previous.addBoth(lambda _: Deferred.fromCoroutine(self._answer(line)))

    async def _answer(self, line: bytes) -> None:
        try:
            request = json.loads(line)
            result = await _dispatch(self.factory.context, request)
            answer: dict[str, Any] = {"ok": True, "result": result}
        except (ValueError, _RequestError, IMAPError, OSError) as e:
            # OSError: a directory the server's user may not read or write, say.
            text = e.text if isinstance(e, IMAPError) else str(e)
            answer = {"ok": False, "error": text}
        except Exception:
            log.failure("control request failed")
            answer = {"ok": False, "error": "internal error; the server log says more"}
        if self.transport is not None:
            self.sendLine(json.dumps(answer).encode())

    def lineLengthExceeded(self, line: bytes) -> None:
        self.sendLine(json.dumps({"ok": False, "error": "request too long"}).encode())
        self.transport.loseConnection()


class _ControlFactory(Factory):
    protocol = _ControlProtocol

    def __init__(self, context: Any) -> None:
        self.context = context


def check_socket_path(path: str) -> None:
    """Make ``path`` free for a new control socket: a stale socket (nobody
    answers on it) is removed. ConfigError when the path is too long, is
    something other than a socket, or another server answers on it."""
    key = "server.control_socket"
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:
        raise ConfigError(f"{key}: {path!r} is longer than the {MAX_SOCKET_PATH} bytes a UNIX socket path may have")
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise ConfigError(f"{key}: {path} exists and is not a socket; refusing to replace it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(2)
        probe.connect(path)
    except OSError:
        os.unlink(path)  # left behind by a server that died
        return
    finally:
        probe.close()
    raise ConfigError(f"{key}: another server answers on {path}")


class ControlService(Service):
    """Listens on the control socket while the server runs; the socket file
    is removed when it stops."""

    name = "control"

    def __init__(self, context: Any, path: str) -> None:
        check_socket_path(path)
        self.context = context
        self.path = path
        self.port: Any = None

    def startService(self) -> None:
        super().startService()
        # The socket must never exist with looser permissions, not even
        # between bind and Twisted's chmod: the umask covers bind. It is
        # process-wide, but this runs on the reactor thread while the server
        # starts, before any session could make the store create a file.
        previous = os.umask(0o177)
        try:
            self.port = self.context.reactor.listenUNIX(self.path, _ControlFactory(self.context), mode=0o600)
        finally:
            os.umask(previous)
        log.info("control socket listening on {path}", path=self.path)

    def stopService(self) -> Deferred:
        super().stopService()
        port, self.port = self.port, None
        # stopListening removes the socket file.
        return port.stopListening() if port is not None else succeed(None)


# -- the client (cpmstore-admin) ------------------------------------------------------------------

class NoServer(Exception):
    """Nothing answers on the control socket (no server runs)."""


class ControlError(Exception):
    """The server refused or failed the request; the message is its reason."""


def call(path: str, op: str, args: dict[str, Any] | None = None, timeout: float | None = None) -> Any:
    """Send one request to the server listening on ``path`` and return its
    result. NoServer when nothing listens there; ControlError when the server
    answers with an error. Blocking: ``timeout`` None waits as long as the
    operation takes (an import may take minutes)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(10)
        try:
            sock.connect(path)
        except (FileNotFoundError, ConnectionRefusedError) as e:
            raise NoServer(f"no server answers on {path}: {e.strerror}") from None
        sock.settimeout(timeout)
        sock.sendall(json.dumps({"op": op, "args": args or {}}).encode() + b"\n")
        reader = sock.makefile("rb")
        line = reader.readline()
    finally:
        sock.close()
    if not line.endswith(b"\n"):
        raise ControlError("the server closed the control connection without an answer")
    answer = json.loads(line)
    if not answer.get("ok"):
        raise ControlError(answer.get("error") or "failed")
    return answer.get("result")
