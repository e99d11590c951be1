"""The service tree: a Config -> store, portal, TLS and listeners (DESIGN §7).

This module owns assembling a running server from a ``Config``: the store
over ``server.data_dir``, the cred portal over ``server.users_file``, the
first-run ``demo`` user, the TLS options built from ``[tls]`` (TLS 1.2 or
later), and one strports listener per ``[[listener]]``, wrapped in TLS for
``tls = "implicit"``. It never speaks IMAP (``server.protocol`` does) and
never reads message data.

``make_service`` is what twistd runs; ``start_server`` starts the same tree
inside a test's reactor and reports the bound ports (``tcp:0`` endpoints).
"""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass
from typing import Any

from twisted.application import strports
from twisted.application.service import MultiService
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.interfaces import IListeningPort, IStreamServerEndpoint
from twisted.logger import Logger, LoggingFile
from twisted.python.failure import Failure
from zope.interface import implementer

from .auth.passwd import PasswdFile
from .auth.portal import build_portal
from .config import Config, ConfigError, TLSConfig
from .server.context import ServerContext

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


def _read(path: str, key: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise ConfigError(f"{key}: cannot read {path}: {e.strerror or e}") from None


def load_tls_options(tls: TLSConfig):
    """CertificateOptions for the PEM files of ``[tls]``, TLS 1.2 minimum.

    The certificate file may hold a chain (leaf first, then intermediates),
    which is sent to clients whole, and may hold the key too. ConfigError
    when a file cannot be read or parsed, or the key does not belong to the
    certificate.
    """
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from OpenSSL import SSL
    from twisted.internet.ssl import CertificateOptions, TLSVersion

    cert_pem = _read(tls.certificate, "tls.certificate")
    key_pem = _read(tls.private_key, "tls.private_key")
    try:
        chain = x509.load_pem_x509_certificates(cert_pem)
    except ValueError as e:
        raise ConfigError(f"tls.certificate: no PEM certificate in {tls.certificate}: {e}") from None
    try:
        key = load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise ConfigError(f"tls.private_key: no usable unencrypted PEM key in {tls.private_key}: {e}") from None
    # cryptography objects, not pyOpenSSL's X509/PKey (deprecated there);
    # Twisted hands them to pyOpenSSL as they are.
    options = CertificateOptions(
        privateKey=key,
        certificate=chain[0],
        extraCertChain=chain[1:],
        raiseMinimumTo=TLSVersion.TLSv1_2,
    )
    try:
        # Builds the OpenSSL context now, so a key that does not match the
        # certificate stops the start instead of failing every handshake.
        options.getContext()
    except SSL.Error as e:
        raise ConfigError(f"tls.private_key: does not match tls.certificate: {e}") from None
    return options


def ensure_demo_user(users_file: str) -> str | None:
    """Create the ``demo`` user with a random password if the file lacks one.

    Returns the new password, or None when ``demo`` already existed.
    """
    users = PasswdFile.load(users_file)
    if users.get(DEMO_USER) is not None:
        return None
    password = secrets.token_urlsafe(12)
    users.set_password(DEMO_USER, password)
    users.save()
    return password


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
    the store, in that order.
    """

    def __init__(self, context: ServerContext) -> None:
        super().__init__()
        self.context = context
        self.endpoints: list[_ListeningEndpoint] = []

    def startService(self) -> None:
        server = self.context.config.server
        if server.create_demo_user:
            password = ensure_demo_user(server.users_file)
            if password is not None:
                # Under twistd, stdout is already the log: say it once there.
                if not isinstance(sys.stdout, LoggingFile):
                    print(f"demo user created: {DEMO_USER} / {password}", flush=True)
                log.info("demo user created: {user} / {password}", user=DEMO_USER, password=password)
        super().startService()

    def stopService(self) -> Deferred:
        return Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        await super().stopService()
        for protocol in list(self.context.protocols):
            protocol.transport.loseConnection()
        await self.context.store.close()

    async def wait_listening(self) -> list[IListeningPort]:
        """The bound ports, one per listener in config order, once all bound."""
        results = await DeferredList([e.when_listening() for e in self.endpoints],
                                     fireOnOneErrback=True, consumeErrors=True)
        return [port for _ok, port in results]


def make_service(config: Config, reactor: Any = None) -> CPMStoreService:
    """The service tree twistd starts; nothing listens until it is started.

    ConfigError when a listener's endpoint cannot be parsed or the TLS files
    cannot be used.
    """
    if reactor is None:
        from twisted.internet import reactor
    from twisted.protocols.tls import TLSMemoryBIOFactory

    from .server.protocol import IMAPFactory
    from .store.store import MaildirStore

    os.makedirs(config.server.data_dir, mode=0o700, exist_ok=True)
    tls_options = load_tls_options(config.tls) if config.tls is not None else None
    context = ServerContext(config, MaildirStore(config.server.data_dir, reactor),
                            build_portal(config.server.users_file, reactor), tls_options, reactor)
    top = CPMStoreService(context)
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
            child = strports.service(listener.endpoint, factory, reactor=reactor)
        except (ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"listener[{i}].endpoint: cannot use {listener.endpoint!r}: {e}") from None
        endpoint = _ListeningEndpoint(child.endpoint)
        child.endpoint = endpoint
        child.setName(f"listener[{i}]")
        child.setServiceParent(top)
        top.endpoints.append(endpoint)
    return top


@dataclass(slots=True)
class RunningServer:
    service: CPMStoreService
    ports: list[IListeningPort]

    @property
    def context(self) -> ServerContext:
        return self.service.context

    async def stop(self) -> None:
        await self.service.stopService()


async def start_server(config: Config, reactor: Any = None) -> RunningServer:
    """Start the service tree in this reactor; returns once every port is bound.

    ``server.ports[i].getHost().port`` is the port of ``config.listeners[i]``.
    """
    service = make_service(config, reactor)
    try:
        service.startService()
        ports = await service.wait_listening()
    except BaseException:
        # Only the listeners that got as far as starting can be stopped.
        for child in list(service):
            if child.running:
                await child.stopService()
        await service.context.store.close()
        raise
    return RunningServer(service, ports)
