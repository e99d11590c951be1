"""The service tree: a Config -> store, portal, TLS and listeners (DESIGN §7).

This module owns assembling a running server from a ``Config``: the store
over ``server.data_dir``, the cred portal over ``server.users_file``, the
first-run ``demo`` user, the TLS settings built from ``[tls]`` (cpmstore.tls:
a self-signed certificate on a first run if allowed, reloaded on SIGHUP under
twistd), and one strports listener per ``[[listener]]``, wrapped in TLS for
``tls = "implicit"``. It never speaks IMAP (``server.protocol`` does) and
never reads message data.

``make_service`` is what twistd runs; ``start_server`` starts the same tree
inside a test's reactor and reports the bound ports (``tcp:0`` endpoints).
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
from dataclasses import dataclass
from typing import Any

from twisted.application import strports
from twisted.application.service import MultiService
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.interfaces import IListeningPort, IStreamServerEndpoint
from twisted.logger import ILogObserver, Logger, LoggingFile
from twisted.python.components import Componentized
from twisted.python.failure import Failure
from zope.interface import implementer

from .auth.passwd import PasswdFile
from .auth.portal import build_portal
from .config import Config, ConfigError
from .server.context import ServerContext
from .server.logs import make_observer
from .tls import ServerTLS, ensure_certificate, load_tls_options

__all__ = [
    "CPMStoreService",
    "RunningServer",
    "ensure_demo_user",
    "load_tls_options",
    "make_service",
    "start_server",
]

log = Logger()

DEMO_USER = "demo"


DEMO_PASSWORD_FILE = "demo-password"


def ensure_demo_user(users_file: str, data_dir: str) -> str | None:
    """Create the ``demo`` user with a random password if the file lacks one,
    and write the password to ``<data_dir>/demo-password`` (mode 0600): a
    password never goes into a log, and under twistd the terminal is the log.

    Returns the new password, or None when ``demo`` already existed.
    """
    users = PasswdFile.load(users_file)
    if users.get(DEMO_USER) is not None:
        return None
    password = secrets.token_urlsafe(12)
    os.makedirs(data_dir, exist_ok=True)
    path = os.path.join(data_dir, DEMO_PASSWORD_FILE)
    if os.path.exists(path):
        os.unlink(path)  # an old one, from a demo user since deleted
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(password + "\n")
        f.flush()
        os.fsync(f.fileno())
    users.set_password(DEMO_USER, password)
    users.save()
    return password


def announce_demo_user(server: Any) -> None:
    """``[server] create_demo_user``: make the user if missing and say where its password is."""
    if server.create_demo_user:
        password = ensure_demo_user(server.users_file, server.data_dir)
        if password is not None:
            path = os.path.join(server.data_dir, DEMO_PASSWORD_FILE)
            # Under twistd stdout is the log, where no password may go.
            if not isinstance(sys.stdout, LoggingFile):
                print(f"demo user created: {DEMO_USER} / {password}", flush=True)
            log.info("demo user created: {user}, its password is in {path}", user=DEMO_USER, path=path)


@implementer(IStreamServerEndpoint)
class _ListeningEndpoint:
    """Wraps a server endpoint to remember the port it bound (``tcp:0``)."""

    def __init__(self, endpoint: Any) -> None:
        self.endpoint = endpoint
        self._result: IListeningPort | Failure | None = None
        self._waiters: list[Deferred] = []

    def listen(self, factory: Any) -> Deferred:
        return self.endpoint.listen(factory).addBoth(self._record)

    def _record(self, result: Any) -> Any:
        self._result = result
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.errback(result) if isinstance(result, Failure) else waiter.callback(result)
        return result

    def when_listening(self) -> Deferred:
        d: Deferred = Deferred()
        if self._result is None:
            self._waiters.append(d)
        elif isinstance(self._result, Failure):
            d.errback(self._result)
        else:
            d.callback(self._result)
        return d


class CPMStoreService(MultiService):
    """The whole server: one listener service per ``[[listener]]``.

    Stopping it stops listening, closes the open connections, then closes
    the store and releases ``<data_dir>/server.lock``, in that order.
    """

    def __init__(self, context: ServerContext, reload_on_sighup: bool = False) -> None:
        super().__init__()
        self.context = context
        self.endpoints: list[_ListeningEndpoint] = []
        self.reload_on_sighup = reload_on_sighup
        self._previous_sighup: Any = None
        self.metrics_endpoint: _ListeningEndpoint | None = None  # [metrics] endpoint
        self.log_observer: Any = None  # [logging], for twistd (setServiceParent)

    def setServiceParent(self, parent: Any) -> None:
        super().setServiceParent(parent)
        # twistd makes the application, adds this service to it, then starts
        # logging to the application's ILogObserver component if it has one
        # (twisted.application.app.AppLogger.start): the way for [logging]
        # to replace twistd's text observer rather than write beside it.
        if self.log_observer is not None and isinstance(parent, Componentized):
            parent.setComponent(ILogObserver, self.log_observer)
        # server.control.DataDirLock, taken by make_service, released once the store is closed.
        self.data_dir_lock: Any = None

    async def reload_tls(self) -> bool:
        """Load the ``[tls]`` files again (what SIGHUP does): new handshakes
        use them, open TLS sessions go on. False when there is no TLS or the
        files could not be used (the current certificate stays)."""
        tls = self.context.tls_options
        if not isinstance(tls, ServerTLS):
            log.info("reload: no [tls] configured, nothing to reload")
            return False
        return await tls.reload()

    def _on_sighup(self, signum: int, frame: Any) -> None:
        # A signal handler must not run Twisted code; the reactor runs it next.
        self.context.reactor.callFromThread(lambda: Deferred.fromCoroutine(self.reload_tls()))

    def startService(self) -> None:
        announce_demo_user(self.context.config.server)
        if self.reload_on_sighup:
            # Only under twistd (make_service(reload_on_sighup=True)): a test
            # process keeps its own SIGHUP and calls reload_tls itself.
            self._previous_sighup = signal.signal(signal.SIGHUP, self._on_sighup)
        super().startService()

    def stopService(self) -> Deferred:
        return Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        if self._previous_sighup is not None:
            signal.signal(signal.SIGHUP, self._previous_sighup)
            self._previous_sighup = None
        await super().stopService()
        for protocol in list(self.context.protocols):
            protocol.close()
        await self.context.store.close()
        self._release_data_dir()

    def _release_data_dir(self) -> None:
        if self.data_dir_lock is not None:
            self.data_dir_lock.release()

    async def wait_listening(self) -> list[IListeningPort]:
        """The bound ports, one per listener in config order, once all bound."""
        results = await DeferredList([e.when_listening() for e in self.endpoints],
                                     fireOnOneErrback=True, consumeErrors=True)
        return [port for _ok, port in results]


def make_service(config: Config, reactor: Any = None, *, reload_on_sighup: bool = False,
                 worker: Any = None) -> Any:
    """The service tree twistd starts; nothing listens until it is started.

    With a TLS listener and ``[tls] generate_self_signed``, a missing
    certificate is made now (cpmstore.tls.ensure_certificate).
    ``reload_on_sighup`` (twistd's plugin sets it) makes SIGHUP reload the
    TLS files while the service runs. ConfigError when a listener's endpoint
    cannot be parsed, the TLS files cannot be used, another server holds the
    data directory's lock or the control socket's path cannot be used.

    With ``[server] workers`` > 1 this is the supervisor of that many worker
    processes (``server.workers``); inside each of them ``worker`` is its
    ``server.workers.WorkerRole``: listeners adopted from the supervisor, a
    store of the worker's own users, no lock (the supervisor holds it).
    """
    if reactor is None:
        from twisted.internet import reactor
    if worker is None and config.server.workers > 1:
        from .server.workers import make_supervisor

        return make_supervisor(config, reactor, reload_on_sighup)
    from twisted.protocols.tls import TLSMemoryBIOFactory

    from .server.protocol import IMAPFactory
    from .store.store import MaildirStore

    os.makedirs(config.server.data_dir, mode=0o700, exist_ok=True)
    tls_options = None
    if config.tls is not None:
        if any(listener.tls != "none" for listener in config.listeners):
            ensure_certificate(config.tls, config.server.hostname)
        tls_options = ServerTLS(config.tls, reactor)
        cert = tls_options.certificate
        log.info("TLS certificate {path}: {subject}, SHA-256 {sha256}, valid until {not_after}",
                 path=cert.path, subject=cert.subject, sha256=cert.sha256, not_after=cert.not_after.isoformat())
    store = MaildirStore(config.server.data_dir, reactor, fsync=config.server.fsync) if worker is None \
        else worker.make_store(config.server.data_dir, reactor, config.server.fsync)
    context = ServerContext(config, store,
                            build_portal(config.server.users_file, reactor), tls_options, reactor)
    top = CPMStoreService(context, reload_on_sighup)
    top.log_observer = make_observer(config.logging)
    if config.metrics.endpoint and worker is not None:
        from .server.metrics import Metrics

        context.metrics = Metrics()  # read through the control socket by the supervisor's endpoint
    elif config.metrics.endpoint:
        from .server.metrics import Metrics, metrics_site

        context.metrics = Metrics()
        site = metrics_site(context)  # ConfigError without prometheus-client
        try:
            child = strports.service(config.metrics.endpoint, site, reactor=reactor)
        except (ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"metrics.endpoint: cannot use {config.metrics.endpoint!r}: {e}") from None
        top.metrics_endpoint = child.endpoint = _ListeningEndpoint(child.endpoint)
        child.setName("metrics")
        child.setServiceParent(top)
    from .store.backup import BackupService

    # Stopped with the tree before the store closes, copying once more then.
    BackupService(context.store, config.server.index_backup_interval_seconds, clock=reactor,
                  expunge_history=config.server.expunge_history).setServiceParent(top)
    if config.server.unload_idle_after_seconds:
        from .store.unload import UnloadService

        # Before the store closes too; a logged-in session holds its own account.
        UnloadService(context.store, config.server.unload_idle_after_seconds,
                      lambda name: name in context.connections_by_user,
                      expunge_history=config.server.expunge_history, clock=reactor).setServiceParent(top)
    from .server.malloc import TrimService

    # Freed heap pages back to the OS every minute (glibc keeps them otherwise).
    TrimService(reactor).setServiceParent(top)
    retention_period = config.cpm.expunge_deleted_after_seconds
    if retention_period:
        from .store.retention import RetentionService

        # [cpm] expunge_deleted_after: stopped with the tree, before the store closes.
        RetentionService(context.store, retention_period, clock=reactor).setServiceParent(top)
    for i, listener in enumerate(config.listeners):
        factory = IMAPFactory(context, listener)
        if listener.tls == "implicit":
            factory = TLSMemoryBIOFactory(tls_options, False, factory)
        try:
            # strports.service makes bind errors raise at start (a port in
            # use stops twistd) instead of being only logged.
            child = strports.service(listener.endpoint, factory, reactor=reactor) if worker is None \
                else worker.listener_service(reactor, i, factory)
        except (ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"listener[{i}].endpoint: cannot use {listener.endpoint!r}: {e}") from None
        endpoint = _ListeningEndpoint(child.endpoint)
        child.endpoint = endpoint
        child.setName(f"listener[{i}]")
        child.setServiceParent(top)
        top.endpoints.append(endpoint)
    from .server.control import ControlService, DataDirLock

    if worker is not None:
        # A worker process: the supervisor holds the lock and the configured control socket.
        worker.attach(top)
        return top
    # Last, so that nothing after it can fail while the lock is held: no other
    # server, and no cpmstore-admin working offline, may use this data_dir now.
    top.data_dir_lock = DataDirLock.take_for_server(config.server.data_dir)
    if config.server.control_socket:
        try:
            ControlService(context, config.server.control_socket).setServiceParent(top)
        except BaseException:
            top._release_data_dir()
            raise
    return top


@dataclass(slots=True)
class RunningServer:
    service: CPMStoreService
    ports: list[IListeningPort]
    metrics_port: IListeningPort | None = None  # the [metrics] endpoint's, when set

    @property
    def context(self) -> ServerContext:
        return self.service.context

    async def stop(self) -> None:
        await self.service.stopService()


async def start_server(config: Config, reactor: Any = None) -> RunningServer:
    """Start the service tree in this reactor; returns once every port is bound.

    ``server.ports[i].getHost().port`` is the port of ``config.listeners[i]``;
    ``server.metrics_port`` that of ``[metrics] endpoint`` (None without one).
    One process: ``[server] workers`` > 1 runs only under twistd (ConfigError).
    """
    if config.server.workers > 1:
        raise ConfigError("server.workers: start_server runs one process; several workers run under twistd")
    service = make_service(config, reactor)
    try:
        service.startService()
        ports = await service.wait_listening()
        metrics_port = None
        if service.metrics_endpoint is not None:
            metrics_port = await service.metrics_endpoint.when_listening()
    except BaseException:
        # Only the listeners that got as far as starting can be stopped.
        for child in list(service):
            if child.running:
                await child.stopService()
        await service.context.store.close()
        service._release_data_dir()
        raise
    return RunningServer(service, ports, metrics_port)
