"""Several worker processes serving one data directory ([server] workers > 1).

This module owns the process layout of a multi-core server:

- ``Supervisor``: what ``twistd cpmstore`` runs when ``server.workers`` is
  more than 1. It binds every listener (so ``tcp:0`` and privileged ports work
  as with one process), holds ``<data_dir>/server.lock``, makes the demo user
  and a missing self-signed certificate, and spawns the workers
  (``python -m cpmstore.server.worker``) with the listening sockets as
  inherited descriptors and the configuration on their standard input. It
  restarts a worker that dies, forwards SIGHUP (TLS reload), and on stop sends
  SIGTERM to every worker and waits for them. It never accepts a connection
  and never opens a user's store.
- ``WorkerRole``: what ``service.make_service`` is given inside a worker: the
  adopted listening sockets, a store that only opens the accounts this worker
  owns (``PinnedStore``), the hand-over socket (``server.handoff``) and the
  worker's own control socket.
- The control socket of ``cpmstore-admin`` stays where it is configured, served
  by the supervisor, which sends each request to the worker owning its
  ``user`` (``who`` and ``kick`` to every worker, answers merged), so the CLI
  is the same for one process or many.
- The metrics endpoint, likewise served by the supervisor: every worker's
  series, each with a ``worker`` label (summing them is the server's total).

A user's account is open in at most one process: the owner
(``handoff.owner_of``). Another user's folders (sharing, URLFETCH of another
user's URL, NOTIFY of their folders) are reachable only when that user has
the same owner; otherwise they answer as a folder that is not shared.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import shutil
import signal
import struct
import sys
import tempfile
import typing
from dataclasses import dataclass
from typing import Any

from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import MultiService, Service
from twisted.internet import endpoints
from twisted.internet.defer import Deferred, DeferredList, succeed
from twisted.internet.endpoints import UNIXClientEndpoint
from twisted.internet.interfaces import IStreamServerEndpoint
from twisted.internet.protocol import Factory, ProcessProtocol, Protocol
from twisted.logger import ILogObserver, Logger
from twisted.protocols.basic import LineOnlyReceiver
from twisted.python.components import Componentized
from twisted.python.failure import Failure
from zope.interface import implementer

from ..config import Config, ConfigError
from ..store.store import MaildirStore
from .handoff import Handoff, ReceiverFactory, connect_quietly, handoff_path, owner_of

__all__ = ["PinnedStore", "Supervisor", "WorkerRole", "control_path", "make_supervisor", "owner_of"]

log = Logger()

# The configuration goes to a worker on its standard input, length first.
CONFIG_LENGTH = struct.Struct("!Q")
# A worker that dies sooner than this after its start is restarted after a
# growing pause (a worker that cannot start must not spin the machine).
QUICK_DEATH_SECONDS = 10.0
MAX_RESTART_DELAY = 30.0
STOP_SECONDS = 30.0


def control_path(run_dir: str, worker: int) -> str:
    """The control socket of worker ``worker`` (the supervisor's router talks to it)."""
    return os.path.join(run_dir, f"control-{worker}.sock")


# -- inside a worker -----------------------------------------------------------------------------

class NotOwned(Exception):
    """An account of a user another worker owns was asked for: a routing bug."""


class PinnedStore(MaildirStore):
    """The store of one worker: only its own users' accounts are ever opened.

    ``existing_account`` answers None for another worker's user, which every
    cross-user path (access.locate, LIST of shared folders, NOTIFY, URLFETCH,
    retention) already treats as "no such user shares anything"."""

    def __init__(self, data_dir: str, reactor: Any, index: int, count: int, fsync: str = "always") -> None:
        super().__init__(data_dir, reactor, fsync=fsync)
        self.index = index
        self.count = count

    def owns(self, username: str) -> bool:
        return owner_of(username, self.count) == self.index

    async def account(self, username: str) -> Any:
        if not self.owns(username):
            raise NotOwned(f"{username} belongs to worker {owner_of(username, self.count)}, this is {self.index}")
        return await super().account(username)

    async def existing_account(self, username: str) -> Any:
        if not self.owns(username):
            return None
        return await super().existing_account(username)

    async def usernames(self) -> list[str]:
        return [name for name in await super().usernames() if self.owns(name)]


@implementer(IStreamServerEndpoint)
@dataclass(frozen=True, slots=True)
class _AdoptedEndpoint:
    """A listening socket the supervisor bound, adopted by this worker."""

    reactor: Any
    fd: int
    family: int

    def listen(self, factory: Any) -> Deferred:
        port = self.reactor.adoptStreamPort(self.fd, self.family, factory)
        os.close(self.fd)  # adopted as a duplicate
        return succeed(port)


@dataclass(frozen=True, slots=True)
class WorkerRole:
    """Worker ``index`` of ``count``; ``listen_fds`` the (descriptor, family)
    of each listener in config order; ``run_dir`` holds the sockets."""

    index: int
    count: int
    run_dir: str
    listen_fds: tuple[tuple[int, int], ...]

    def make_store(self, data_dir: str, reactor: Any, fsync: str = "always") -> PinnedStore:
        return PinnedStore(data_dir, reactor, self.index, self.count, fsync)

    def listener_service(self, reactor: Any, i: int, factory: Any) -> StreamServerEndpointService:
        fd, family = self.listen_fds[i]
        service = StreamServerEndpointService(_AdoptedEndpoint(reactor, fd, family), factory)
        service._raiseSynchronously = True
        return service

    def attach(self, top: Any) -> None:
        """Add the hand-over socket and this worker's control socket to ``top``."""
        from .control import ControlService

        context = top.context
        top.data_dir_lock = None  # the supervisor holds <data_dir>/server.lock
        context.handoff = Handoff(context, self.index, self.count, self.run_dir)
        if context.config.metrics.endpoint:
            from .metrics import exposition_source

            context.exposition = exposition_source(context)
        _UnixService(context.reactor, handoff_path(self.run_dir, self.index), ReceiverFactory(context),
                     "handoff").setServiceParent(top)
        ControlService(context, control_path(self.run_dir, self.index)).setServiceParent(top)


class _UnixService(Service):
    """A private (0600) UNIX socket listening while the service runs."""

    def __init__(self, reactor: Any, path: str, factory: Any, name: str) -> None:
        from .control import check_socket_path

        check_socket_path(path)
        self.reactor = reactor
        self.path = path
        self.factory = factory
        self.name = name
        self.port: Any = None

    def startService(self) -> None:
        super().startService()
        previous = os.umask(0o177)  # never looser than 0600, not even for a moment
        try:
            self.port = self.reactor.listenUNIX(self.path, self.factory, mode=0o600)
        finally:
            os.umask(previous)

    def stopService(self) -> Deferred:
        super().stopService()
        port, self.port = self.port, None
        return port.stopListening() if port is not None else succeed(None)


# -- the supervisor -------------------------------------------------------------------------------

class _Worker(ProcessProtocol):
    """One worker process as the supervisor sees it: its output is logged
    line by line, its end reported back."""

    def __init__(self, supervisor: "Supervisor", index: int) -> None:
        self.supervisor = supervisor
        self.index = index
        self.ended: Deferred = Deferred()
        self._partial = {1: b"", 2: b""}

    def connectionMade(self) -> None:
        config = self.supervisor.config
        # The supervisor made the demo user; workers never write the users file.
        config = dataclasses.replace(config, server=dataclasses.replace(config.server, create_demo_user=False))
        config = pickle.dumps(config_state(config))
        # Standard input stays open: its end tells the worker the supervisor is gone.
        self.transport.write(CONFIG_LENGTH.pack(len(config)) + config)

    def childDataReceived(self, fd: int, data: bytes) -> None:
        lines = (self._partial.get(fd, b"") + data).split(b"\n")
        self._partial[fd] = lines.pop()
        for line in lines:
            text = line.decode("utf-8", "replace").rstrip()
            if not text:
                continue
            if fd == 2:
                log.warn("worker {worker}: {line}", worker=self.index, line=text)
            else:
                log.info("worker {worker}: {line}", worker=self.index, line=text)

    def processEnded(self, reason: Failure) -> None:
        self.ended.callback(reason.value)
        self.supervisor.worker_ended(self, reason.value)


class Supervisor(MultiService):
    """The parent process of ``count`` workers; see the module docstring."""

    def __init__(self, config: Config, reactor: Any, reload_on_sighup: bool) -> None:
        super().__init__()
        self.config = config
        self.reactor = reactor
        self.count = config.server.workers
        self.reload_on_sighup = reload_on_sighup
        self.ports: list[Any] = []
        self.workers: dict[int, _Worker] = {}
        self.started_at: dict[int, float] = {}
        self.delays: dict[int, float] = {}
        self.stopping = False
        self.run_dir = ""
        self.data_dir_lock: Any = None
        self.log_observer: Any = None
        self._previous_sighup: Any = None

    def setServiceParent(self, parent: Any) -> None:
        super().setServiceParent(parent)
        # As CPMStoreService: [logging] replaces twistd's observer.
        if self.log_observer is not None and isinstance(parent, Componentized):
            parent.setComponent(ILogObserver, self.log_observer)

    # -- start --------------------------------------------------------------------------
    def privilegedStartService(self) -> None:
        self._bind()
        super().privilegedStartService()

    def _bind(self) -> None:
        if self.ports:
            return
        for i, listener in enumerate(self.config.listeners):
            try:
                endpoint = endpoints.serverFromString(self.reactor, listener.endpoint)
            except (ValueError, KeyError, TypeError) as e:
                raise ConfigError(f"listener[{i}].endpoint: cannot use {listener.endpoint!r}: {e}") from None
            results: list[Any] = []
            endpoint.listen(Factory.forProtocol(Protocol)).addBoth(results.append)
            if not results or isinstance(results[0], Failure):
                (results[0] if results else Failure(RuntimeError("no port"))).raiseException()
            port = results[0]
            port.stopReading()  # the workers accept, never this process
            self.ports.append(port)
            log.info("listener[{i}] bound on {address}", i=i, address=port.getHost())

    def startService(self) -> None:
        from ..service import announce_demo_user

        self._bind()
        announce_demo_user(self.config.server)
        # The workers' sockets: short paths (a UNIX socket path has at most 107
        # bytes), private (0700), made now, after twistd's --uid took effect,
        # so that the workers may use it; removed at stop.
        self.run_dir = tempfile.mkdtemp(prefix="cpmstore-")
        if self.reload_on_sighup:
            self._previous_sighup = signal.signal(signal.SIGHUP, self._on_sighup)
        super().startService()
        for index in range(self.count):
            self._spawn(index)

    def _spawn(self, index: int) -> None:
        child_fds: dict[int, Any] = {0: "w", 2: "r"}
        logging = self.config.logging
        # Text to twistd's own log comes back through a pipe and is logged
        # here; a [logging] file or JSON on standard output the worker writes itself.
        child_fds[1] = "r" if logging.format == "text" and not logging.file else 1
        listen = []
        for i, port in enumerate(self.ports):
            child_fds[3 + i] = port.fileno()
            listen.append(f"{3 + i}:{int(port.addressFamily)}")
        worker = _Worker(self, index)
        args = [sys.executable, "-m", "cpmstore.server.worker", str(index), str(self.count), self.run_dir,
                ",".join(listen)]
        env = os.environ.copy()
        # The worker imports this very cpmstore, installed or run from a source tree.
        source = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [source, env.get("PYTHONPATH")]))
        self.reactor.spawnProcess(worker, sys.executable, args, env=env, path=os.getcwd(), childFDs=child_fds)
        self.workers[index] = worker
        self.started_at[index] = self.reactor.seconds()
        log.info("worker {worker} started (pid {pid})", worker=index, pid=worker.transport.pid)

    def worker_ended(self, worker: _Worker, reason: Any) -> None:
        if self.workers.get(worker.index) is not worker:
            return
        del self.workers[worker.index]
        if self.stopping:
            return
        lived = self.reactor.seconds() - self.started_at.get(worker.index, 0.0)
        delay = 0.0
        if lived < QUICK_DEATH_SECONDS:
            delay = min(MAX_RESTART_DELAY, max(0.5, self.delays.get(worker.index, 0.25) * 2))
        self.delays[worker.index] = delay
        log.error("worker {worker} ended ({reason}); restarting it in {delay}s",
                  worker=worker.index, reason=str(reason), delay=delay)
        self.reactor.callLater(delay, self._restart, worker.index)

    def _restart(self, index: int) -> None:
        if not self.stopping and index not in self.workers:
            self._spawn(index)

    def _on_sighup(self, signum: int, frame: Any) -> None:
        for worker in list(self.workers.values()):
            try:
                worker.transport.signalProcess("HUP")
            except Exception:
                pass

    # -- stop ----------------------------------------------------------------------------
    def stopService(self) -> Deferred:
        return Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        self.stopping = True
        if self._previous_sighup is not None:
            signal.signal(signal.SIGHUP, self._previous_sighup)
            self._previous_sighup = None
        await super().stopService()
        running = list(self.workers.values())
        for worker in running:
            try:
                worker.transport.signalProcess("TERM")
            except Exception:
                pass
        kill = self.reactor.callLater(STOP_SECONDS, self._kill, running)
        await DeferredList([worker.ended for worker in running])
        if kill.active():
            kill.cancel()
        ports, self.ports = self.ports, []
        await DeferredList([port.stopListening() for port in ports])
        if self.run_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)
        if self.data_dir_lock is not None:
            self.data_dir_lock.release()

    def _kill(self, running: list[_Worker]) -> None:
        for worker in running:
            if not worker.ended.called:
                log.error("worker {worker} did not stop in {seconds}s; killing it",
                          worker=worker.index, seconds=STOP_SECONDS)
                try:
                    worker.transport.signalProcess("KILL")
                except Exception:
                    pass


# -- the control socket, routed ----------------------------------------------------------------

class _OneRequest(Protocol):
    """Sends one request line to a worker's control socket; fires with the answer line."""

    def __init__(self, line: bytes) -> None:
        self.line = line
        self.buffer = b""
        self.answer: Deferred = Deferred()

    def connectionMade(self) -> None:
        self.transport.write(self.line + b"\n")

    def dataReceived(self, data: bytes) -> None:
        self.buffer += data
        if b"\n" in self.buffer and not self.answer.called:
            self.answer.callback(self.buffer.split(b"\n", 1)[0])
            self.transport.loseConnection()

    def connectionLost(self, reason: Any = None) -> None:
        if not self.answer.called:
            self.answer.callback(json.dumps({"ok": False, "error": "the worker closed the request"}).encode())


async def ask_worker(reactor: Any, run_dir: str, index: int, line: bytes) -> bytes:
    """The answer line of worker ``index`` to one control request line."""
    endpoint = UNIXClientEndpoint(reactor, control_path(run_dir, index), timeout=10)
    try:
        request = await connect_quietly(endpoint, _OneRequest(line))
    except Exception as e:
        return json.dumps({"ok": False, "error": f"worker {index} does not answer: {e}"}).encode()
    return await request.answer


class _RouterProtocol(LineOnlyReceiver):
    delimiter = b"\n"
    MAX_LENGTH = 1 << 20

    def connectionMade(self) -> None:
        self._previous: Deferred = succeed(None)  # answered in order, as the workers' sockets do

    def lineReceived(self, line: bytes) -> None:
        self._previous = self._previous.addBoth(lambda _: Deferred.fromCoroutine(self._answer(line)))

    async def _answer(self, line: bytes) -> None:
        answer = await route(self.factory.supervisor, line)
        if self.transport is not None:
            self.sendLine(answer)


async def route(supervisor: Supervisor, line: bytes) -> bytes:
    """One cpmstore-admin request: to the owner of its ``user``, or to every
    worker for ``who`` (sessions merged, oldest first) and ``kick`` (counts added)."""
    reactor, run_dir, count = supervisor.reactor, supervisor.run_dir, supervisor.count
    try:
        request = json.loads(line)
        op, args = request["op"], request.get("args", {})
    except (ValueError, TypeError, KeyError):
        request, op, args = None, None, None
    if op in ("who", "kick"):
        answers = [json.loads(await ask_worker(reactor, run_dir, i, line)) for i in range(count)]
        failed = [a for a in answers if not a.get("ok")]
        if failed:
            return json.dumps(failed[0]).encode()
        if op == "who":
            rows = sorted((row for a in answers for row in a["result"]), key=lambda row: row["since"])
            return json.dumps({"ok": True, "result": rows}).encode()
        return json.dumps({"ok": True, "result": {"closed": sum(a["result"]["closed"] for a in answers)}}).encode()
    user = args.get("user") if isinstance(args, dict) else None
    # A request without a user (or not a request at all) gets worker 0's answer: its error.
    index = owner_of(user, count) if isinstance(user, str) else 0
    return await ask_worker(reactor, run_dir, index, line)


def _merged_metrics_site(supervisor: Supervisor) -> Any:
    """The ``[metrics] endpoint`` of a supervisor: every worker's page, its
    series labelled ``worker="N"``; a worker that does not answer (restarting)
    is left out of that scrape and logged."""
    from .metrics import merge_expositions, metrics_site

    request = json.dumps({"op": "metrics"}).encode()

    async def render() -> bytes:
        pages = []
        for index in range(supervisor.count):
            answer = json.loads(await ask_worker(supervisor.reactor, supervisor.run_dir, index, request))
            if answer.get("ok"):
                pages.append((str(index), answer["result"]))
            else:
                log.warn("metrics: worker {worker} left out: {error}", worker=index, error=answer.get("error"))
        return merge_expositions(pages).encode("utf-8")

    return metrics_site(None, render)


class _RouterFactory(Factory):
    protocol = _RouterProtocol

    def __init__(self, supervisor: Supervisor) -> None:
        self.supervisor = supervisor


def make_supervisor(config: Config, reactor: Any, reload_on_sighup: bool) -> Supervisor:
    """The service tree of a server with ``config.server.workers`` > 1.
    ConfigError as ``service.make_service`` gives it."""
    from .control import DataDirLock
    from .logs import make_observer

    server = config.server
    os.makedirs(server.data_dir, mode=0o700, exist_ok=True)
    if config.tls is not None and any(listener.tls != "none" for listener in config.listeners):
        from ..tls import ServerTLS, ensure_certificate

        ensure_certificate(config.tls, server.hostname)
        ServerTLS(config.tls, reactor)  # unusable files stop the start here, not in every worker
    supervisor = Supervisor(config, reactor, reload_on_sighup)
    supervisor.log_observer = make_observer(config.logging)
    if config.metrics.endpoint:
        from twisted.application import strports

        site = _merged_metrics_site(supervisor)  # ConfigError without prometheus-client
        try:
            child = strports.service(config.metrics.endpoint, site, reactor=reactor)
        except (ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"metrics.endpoint: cannot use {config.metrics.endpoint!r}: {e}") from None
        child.setName("metrics")
        child.setServiceParent(supervisor)
    supervisor.data_dir_lock = DataDirLock.take_for_server(server.data_dir)
    try:
        # Made once here, not by two workers racing over a fresh data directory.
        from ..store.shares import Shares

        Shares(server.data_dir).close()
        if server.control_socket:
            from .control import check_socket_path

            check_socket_path(server.control_socket)
            _UnixService(reactor, server.control_socket, _RouterFactory(supervisor), "control").setServiceParent(
                supervisor)
    except BaseException:
        supervisor.data_dir_lock.release()
        raise
    return supervisor


def config_state(config: Config) -> dict[str, Any]:
    """``config`` as plain values by section and key name: a worker started
    after the code was upgraded under a running supervisor reads the keys it
    knows by name (a pickled dataclass would be read by field position)."""
    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value):
            return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        if isinstance(value, tuple):
            return [plain(item) for item in value]
        return value

    return {f.name: plain(getattr(config, f.name)) for f in dataclasses.fields(config)}


def config_from_state(state: dict[str, Any]) -> Config:
    hints = typing.get_type_hints(Config)

    def section(cls: Any, values: Any) -> Any:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})

    values: dict[str, Any] = {}
    for f in dataclasses.fields(Config):
        if f.name not in state:
            continue  # a section this code knows and the supervisor's did not: its default
        value, hint = state[f.name], hints[f.name]
        if value is None:
            values[f.name] = None
            continue
        classes = [c for c in typing.get_args(hint) if dataclasses.is_dataclass(c)] or [hint]
        if isinstance(value, list):  # a tuple of tables, [[listener]]
            values[f.name] = tuple(section(classes[0], item) for item in value)
        else:
            values[f.name] = section(classes[0], value)
    return Config(**values)


def read_config(stream: Any) -> Config:
    """The configuration a worker gets on its standard input from ``_Worker``."""
    header = stream.read(CONFIG_LENGTH.size)
    if len(header) != CONFIG_LENGTH.size:
        raise SystemExit("cpmstore worker: no configuration on standard input")
    (size,) = CONFIG_LENGTH.unpack(header)
    data = stream.read(size)
    if len(data) != size:
        raise SystemExit("cpmstore worker: configuration cut short")
    return config_from_state(pickle.loads(data))
