"""Moving a connection that just logged in to the worker process owning its user ([server] workers > 1).

With several worker processes (``server.workers``) every user belongs to one
of them (``owner_of``): only that process opens the user's account, so its
UIDs, MODSEQs, in-memory folder state and change bus (IDLE, NOTIFY) stay in
one process. Any worker may accept a connection and serves it until LOGIN or
AUTHENTICATE succeeds; when the user belongs to another worker, this module
moves the connection there:

- plaintext TCP: the socket itself is passed (``SCM_RIGHTS`` over the owner's
  hand-over UNIX socket); the accepting process closes its copy without a
  ``shutdown``, so the connection goes on in the owner alone;
- TLS (implicit, or after STARTTLS): the TLS state cannot move, so the
  accepting process keeps the TLS connection and relays the plaintext over a
  socketpair whose other end is passed to the owner (``Relay``), with
  back-pressure both ways (each side pauses the other's reading).

What goes along (``HandOff``, framed by ``encode``/``Decoder``): the user,
the command's tag (the owner answers it, with its CAPABILITY code), the
mechanism and proxy for the log, the listener, the client's address, and the
bytes the client already sent behind the login command (pipelining), which
the owner reads before anything newer. The owner completes the login as a
local one would (``commands.auth.complete_login``: per-user limit, system
folders, log line).

It never checks a password (the accepting worker did), never opens a store
itself, and never parses IMAP beyond the framer's command boundaries.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import struct
from dataclasses import dataclass
from typing import Any

from twisted.internet import defer
from twisted.internet.endpoints import UNIXClientEndpoint
from twisted.internet.interfaces import IFileDescriptorReceiver
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import deferLater
from twisted.logger import Logger
from zope.interface import implementer

from ..errors import IMAPError
from ..imap import response as wire
from ..imap.framing import CommandBytes
from .protocol import IMAPProtocol

__all__ = ["Decoder", "connect_quietly", "HandOff", "HandOffError", "Handoff", "Relay", "encode", "handoff_path", "owner_of"]

log = Logger()

# A header is a few hundred bytes; anything near this is not one of ours.
MAX_HEADER_BYTES = 65536
_LENGTH = struct.Struct("!I")
_ACK = b"K"
# How long a hand-over waits for the owner (restarting after a crash, say)
# and for the client's socket to take what was written to it.
WAIT_SECONDS = 10.0
_POLL_SECONDS = 0.05


def owner_of(user: str, workers: int) -> int:
    """The worker (0 .. workers-1) that owns ``user``: a hash of the name, the
    same in every process and every run (Python's ``hash`` is salted per process)."""
    digest = hashlib.sha256(user.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % workers


def handoff_path(run_dir: str, worker: int) -> str:
    """Where worker ``worker`` takes connections handed to it."""
    return os.path.join(run_dir, f"handoff-{worker}.sock")


class _OneShot(Factory):
    noisy = False  # no "Starting factory" log line for every connection between workers

    def __init__(self, protocol: Protocol) -> None:
        self.protocol_instance = protocol

    def buildProtocol(self, addr: Any) -> Protocol:
        return self.protocol_instance


async def connect_quietly(endpoint: Any, protocol: Protocol) -> Protocol:
    """``endpoints.connectProtocol`` without its log lines (one pair per hand-over)."""
    await endpoint.connect(_OneShot(protocol))
    return protocol


class HandOffError(Exception):
    """A hand-over message that cannot be read."""


@dataclass(frozen=True, slots=True)
class HandOff:
    """One connection moving to the worker owning ``user``."""

    user: str
    tag: bytes           # the login command's tag, answered by the owner
    mechanism: str       # "LOGIN" or "PLAIN", for the log and the metrics
    proxy: str           # the proxy's name for an authzid login, else ""
    listener: int        # index into config.listeners
    tls: bool            # the client's connection is TLS: the descriptor is a relay socket
    family: int          # address family of the passed descriptor
    remote: str          # the client's address, as the log shows it
    session: str         # the session id, so both processes' log lines match
    connected_at: float  # when the client connected (cpmstore-admin who)
    pending: bytes       # what the client sent behind the login command


def encode(handoff: HandOff) -> bytes:
    """The message: a 4-byte length, a JSON header, then the pending bytes."""
    header = json.dumps({
        "user": handoff.user, "tag": handoff.tag.decode("latin-1"), "mechanism": handoff.mechanism,
        "proxy": handoff.proxy, "listener": handoff.listener, "tls": handoff.tls, "family": handoff.family,
        "remote": handoff.remote, "session": handoff.session, "connected_at": handoff.connected_at,
        "pending": len(handoff.pending),
    }).encode("utf-8")
    return _LENGTH.pack(len(header)) + header + handoff.pending


class Decoder:
    """Reads one ``encode``d message fed in any chunking."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._header: dict[str, Any] | None = None

    def feed(self, data: bytes) -> HandOff | None:
        """The message once it is complete, else None; HandOffError if malformed."""
        self._buffer += data
        if self._header is None:
            if len(self._buffer) < _LENGTH.size:
                return None
            (size,) = _LENGTH.unpack_from(self._buffer)
            if size > MAX_HEADER_BYTES:
                raise HandOffError(f"header of {size} bytes")
            if len(self._buffer) < _LENGTH.size + size:
                return None
            try:
                header = json.loads(bytes(self._buffer[_LENGTH.size:_LENGTH.size + size]))
                header["pending"] = int(header["pending"])
            except (ValueError, KeyError, TypeError) as e:
                raise HandOffError(f"bad header: {e}") from None
            self._header = header
            del self._buffer[:_LENGTH.size + size]
        header = self._header
        if len(self._buffer) < header["pending"]:
            return None
        if len(self._buffer) > header["pending"]:
            raise HandOffError("bytes after the message")
        try:
            return HandOff(
                user=str(header["user"]), tag=str(header["tag"]).encode("latin-1"),
                mechanism=str(header["mechanism"]), proxy=str(header["proxy"]),
                listener=int(header["listener"]), tls=bool(header["tls"]), family=int(header["family"]),
                remote=str(header["remote"]), session=str(header["session"]),
                connected_at=float(header["connected_at"]), pending=bytes(self._buffer))
        except (KeyError, TypeError, ValueError) as e:
            raise HandOffError(f"bad header: {e}") from None


# -- the accepting worker ------------------------------------------------------------------------

def _unsent(transport: Any) -> int:
    # Twisted keeps what the socket has not taken in these two buffers
    # (abstract.FileDescriptor); a passed socket must carry nothing of ours.
    return len(getattr(transport, "dataBuffer", b"")) + getattr(transport, "_tempDataLen", 0)


def _take_pending(protocol: IMAPProtocol) -> bytes | None:
    """What the client sent behind the login command, as it sent it; None when
    part of it was already refused (a limit broken) and cannot be replayed."""
    parts = []
    for event in protocol.queue:
        if not isinstance(event, CommandBytes):
            return None
        parts.append(event.raw + b"\r\n")
    unfinished = protocol.framer.pending()
    if unfinished is None:
        return None
    protocol.queue.clear()
    protocol.framer.reset()
    return b"".join(parts) + unfinished


@implementer(IFileDescriptorReceiver)
class _Send(Protocol):
    """Sends one hand-over: the descriptor with the message, then waits for the ack."""

    def __init__(self, fd: int, message: bytes) -> None:
        self.fd = fd
        self.message = message
        self.acked: defer.Deferred = defer.Deferred()

    def connectionMade(self) -> None:
        self.transport.sendFileDescriptor(self.fd)
        self.transport.write(self.message)

    def fileDescriptorReceived(self, fd: int) -> None:
        os.close(fd)  # never sent to us; not kept

    def dataReceived(self, data: bytes) -> None:
        if data.startswith(_ACK) and not self.acked.called:
            self.acked.callback(None)
            self.transport.loseConnection()

    def connectionLost(self, reason: Any = None) -> None:
        if not self.acked.called:
            self.acked.errback(ConnectionError("the owning worker closed the hand-over without taking it"))


class Handoff:
    """``ServerContext.handoff`` of worker ``index`` of ``count``."""

    def __init__(self, context: Any, index: int, count: int, run_dir: str) -> None:
        self.context = context
        self.index = index
        self.count = count
        self.run_dir = run_dir

    def owns(self, user: str) -> bool:
        return owner_of(user, self.count) == self.index

    async def hand_over(self, session: Any, tag: bytes, user: str, mechanism: str, proxy: str) -> None:
        """Move ``session``'s connection to the worker owning ``user``; its
        credentials were checked. Returns once the owner has it (this
        process is then done with the session), or after closing the
        connection with ``* BYE [UNAVAILABLE]`` when the owner cannot be reached."""
        protocol = session.protocol
        transport = protocol.transport
        pending = _take_pending(protocol)
        if pending is None:
            raise IMAPError("Cannot log in with an oversized command pipelined behind the login.", b"LIMIT")
        # From here the client's next bytes stay in the socket for the owner.
        transport.pauseProducing()
        protocol.setTimeout(None)
        if protocol._login_deadline is not None and protocol._login_deadline.active():
            protocol._login_deadline.cancel()
        owner = owner_of(user, self.count)
        listener = self.context.config.listeners.index(protocol.listener)
        relay_end = None
        try:
            # Everything this process said must reach the client before the
            # owner speaks: what the protocol holds (the "+" of a literal
            # pipelined behind the login, written while the login ran), then
            # what Twisted holds.
            protocol._flush()
            await protocol.drained()
            if protocol.tls_active:
                relay_end, passed = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
                fd, family = passed.fileno(), socket.AF_UNIX
            else:
                passed = None
                await self._flushed(transport)
                fd, family = transport.fileno(), transport.socket.family
            message = encode(HandOff(
                user=user, tag=tag, mechanism=mechanism, proxy=proxy, listener=listener,
                tls=protocol.tls_active, family=family, remote=session.remote, session=session.id,
                connected_at=protocol.connected_at, pending=pending))
            try:
                await self._send(owner, fd, message)
            finally:
                if passed is not None:
                    passed.close()
        except Exception as e:
            if relay_end is not None:
                relay_end.close()
            if protocol.closed:
                return  # the client left meanwhile
            log.error("hand-over of {user}'s session={session} to worker {owner} failed: {error}",
                      user=user, session=session.id, owner=owner, error=str(e))
            protocol.write(wire.untagged_status(b"BYE", "Server busy, try again later.", b"UNAVAILABLE"))
            protocol.close()
            return
        log.info("session={session} of {user} moved to worker {owner}", session=session.id, user=user, owner=owner)
        session.moved = True
        if protocol.closed:
            if relay_end is not None:
                relay_end.close()  # the client left meanwhile: the owner's session ends too
            return
        if relay_end is None:
            # The owner holds the socket now: close this copy without the
            # shutdown() that would end the connection for the owner too.
            transport._shouldShutdown = False
            protocol.close()
        else:
            Relay(self.context.reactor, protocol, relay_end)

    async def _flushed(self, transport: Any) -> None:
        waited = 0.0
        while _unsent(transport):
            if waited >= WAIT_SECONDS:
                raise ConnectionError("the client does not read what was sent to it")
            await deferLater(self.context.reactor, _POLL_SECONDS, lambda: None)
            waited += _POLL_SECONDS

    async def _send(self, owner: int, fd: int, message: bytes) -> None:
        reactor = self.context.reactor
        endpoint = UNIXClientEndpoint(reactor, handoff_path(self.run_dir, owner), timeout=WAIT_SECONDS)
        waited = 0.0
        while True:
            try:
                sender = await connect_quietly(endpoint, _Send(fd, message))
                break
            except Exception:
                # The owner restarts after a crash within a second or two.
                if waited >= WAIT_SECONDS:
                    raise
                await deferLater(reactor, 0.2, lambda: None)
                waited += 0.2
        timeout = reactor.callLater(WAIT_SECONDS, sender.transport.abortConnection)
        try:
            await sender.acked
        finally:
            if timeout.active():
                timeout.cancel()


class _RelayEnd(Protocol):
    """The accepting worker's end of the socketpair to the owner."""

    def __init__(self, relay: "Relay") -> None:
        self.relay = relay

    def dataReceived(self, data: bytes) -> None:
        self.relay.to_client(data)

    def connectionLost(self, reason: Any = None) -> None:
        self.relay.owner_lost()


class _RelayEndFactory(Factory):
    def __init__(self, relay: "Relay") -> None:
        self.relay = relay

    def buildProtocol(self, addr: Any) -> _RelayEnd:
        return _RelayEnd(self.relay)


class Relay:
    """Carries a TLS client's plaintext to and from the owning worker.

    Back-pressure: each transport is registered as the other's streaming
    producer, so a full client socket stops reading from the owner (whose
    own writes then wait) and a full socketpair stops reading from the client.
    """

    def __init__(self, reactor: Any, protocol: IMAPProtocol, relay_end: socket.socket) -> None:
        self.client = protocol
        self.pair: Any = None
        self.pair = reactor.adoptStreamConnection(relay_end.fileno(), socket.AF_UNIX, _RelayEndFactory(self))
        relay_end.close()  # adopted as a duplicate
        client = protocol.transport
        client.unregisterProducer()  # was the IMAP protocol, which no longer speaks here
        client.registerProducer(self.pair, True)
        self.pair.registerProducer(client, True)
        protocol.relay = self
        client.resumeProducing()

    def from_client(self, data: bytes) -> None:
        self.pair.write(data)

    def to_client(self, data: bytes) -> None:
        # Straight to the transport: the IMAP protocol's own output handling
        # is for its commands, and it runs none any more.
        if not self.client.closed:
            self.client.transport.write(data)

    def client_lost(self) -> None:
        if self.pair is not None:
            self.pair.loseConnection()

    def owner_lost(self) -> None:
        self.pair = None
        if not self.client.closed:
            self.client.close()


# -- the owning worker -----------------------------------------------------------------------------

class HandedOverProtocol(IMAPProtocol):
    """A connection that logged in on another worker: no greeting; the login
    is completed here as the first command, then the client's pipelined
    commands run in order."""

    def __init__(self, context: Any, listener: Any, handoff: HandOff) -> None:
        super().__init__(context, listener)
        self.handoff = handoff
        self.tls_active = handoff.tls
        self._replaying = False

    def literal_go_ahead(self) -> None:
        # The accepting worker answered every synchronizing literal of the
        # pending bytes with its "+" already: a second one would be read by
        # the client as the go-ahead for a literal it has not announced.
        if not self._replaying:
            super().literal_go_ahead()

    def begin(self) -> None:
        from ..commands.auth import complete_login
        from ..commands.reply import Reply

        handoff = self.handoff
        self.connected_at = handoff.connected_at
        session = self.session
        session.remote = handoff.remote
        session.id = handoff.session

        async def finish() -> None:
            try:
                reply = await complete_login(session, handoff.mechanism, handoff.user, handoff.proxy, lambda: None)
            except IMAPError as exc:
                # Refused here (max_connections_per_user): not logged in, so
                # the login deadline applies as to any new connection.
                reply = Reply(exc.status, exc.text, exc.code)
                timeout = self.context.config.limits.login_timeout
                if timeout:
                    self._login_deadline = self.context.reactor.callLater(timeout, self._login_timed_out)
            self.write(wire.tagged(handoff.tag, reply.status, reply.text, reply.code))

        # The login is the command in progress: what the client pipelined
        # behind it waits in the queue, ahead of anything it sends next.
        self.busy = True
        if handoff.pending:
            self._replaying = True
            try:
                self.dataReceived(handoff.pending)
            finally:
                self._replaying = False
        self._advance(finish())  # as any command: the queue moves on when it ends


class _HandedOverFactory(Factory):
    def __init__(self, context: Any, handoff: HandOff) -> None:
        self.context = context
        self.handoff = handoff

    def buildProtocol(self, addr: Any) -> HandedOverProtocol:
        listener = self.context.config.listeners[self.handoff.listener]
        protocol = HandedOverProtocol(self.context, listener, self.handoff)
        protocol.factory = self
        return protocol


@implementer(IFileDescriptorReceiver)
class _Receive(Protocol):
    """Takes one hand-over on the owner's hand-over socket."""

    def connectionMade(self) -> None:
        self.fd: int | None = None
        self.decoder = Decoder()

    def fileDescriptorReceived(self, fd: int) -> None:
        if self.fd is None:
            self.fd = fd
        else:
            os.close(fd)

    def dataReceived(self, data: bytes) -> None:
        try:
            handoff = self.decoder.feed(data)
        except HandOffError as e:
            log.error("hand-over refused: {error}", error=str(e))
            self.transport.abortConnection()
            return
        if handoff is None:
            return
        fd, self.fd = self.fd, None
        if fd is None:
            log.error("hand-over refused: no socket came with it")
            self.transport.abortConnection()
            return
        try:
            context = self.factory.context
            context.reactor.adoptStreamConnection(fd, handoff.family, _HandedOverFactory(context, handoff))
        finally:
            os.close(fd)  # adopted as a duplicate
        self.transport.write(_ACK)
        self.transport.loseConnection()

    def connectionLost(self, reason: Any = None) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class ReceiverFactory(Factory):
    protocol = _Receive

    def __init__(self, context: Any) -> None:
        self.context = context
