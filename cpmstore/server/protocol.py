"""The Twisted edge: bytes in, bytes out (DESIGN §3).

This module only moves bytes and schedules work. It frames the stream into
commands (``imap.framing``), runs them strictly one at a time in arrival
order (pipelined commands wait in a queue, so a command sent during a slow
SELECT is never refused), hands lines to a command that asked for one (IDLE's
DONE, an AUTHENTICATE response), switches to TLS on STARTTLS after throwing
away whatever the client sent behind it, and applies back-pressure: a
handler that writes a lot awaits ``drained()`` and so never outruns the
socket; no new command starts while the socket is full; and reading stops
while ``MAX_QUEUED_COMMANDS`` wait, so a client that pipelines without
reading holds a bounded amount of server memory. Everything IMAP-specific
lives in ``session`` and ``commands``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Coroutine

from twisted.internet import defer, tcp
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.protocols.policies import TimeoutMixin
from zope.interface import implementer

from ..imap import response as wire
from ..imap.framing import CommandBytes, Framer, LineTooLong, LiteralTooBig, NeedContinuation
from .session import Session
from .state import State

log = Logger()

# Pipelined commands held before the server stops reading from the socket.
# Flow control, not a limit a client ever hits: TCP makes the client wait.
# One read may frame more (a 64 KiB read of NOOPs is some 6,000 commands),
# so the queue is bounded by this plus one read.
MAX_QUEUED_COMMANDS = 256
# Responses held while a command runs are sent at its end, or sooner once
# this many bytes wait (a long FETCH, at its ``drained()`` between chunks).
HOLD_BYTES = 64 << 10
# Seconds a closing connection waits for the client's TLS close_notify
# before it is dropped: a client that never answers must not hold it open.
CLOSE_GRACE = 5.0


class IMAPFactory(Factory):
    """One per listener: knows the shared server context and the listener's settings."""

    def __init__(self, context, listener) -> None:
        self.context = context
        self.listener = listener

    def buildProtocol(self, addr):
        proto = IMAPProtocol(self.context, self.listener)
        proto.factory = self
        return proto


@implementer(IPushProducer)
class IMAPProtocol(Protocol, TimeoutMixin):
    def __init__(self, context, listener) -> None:
        self.context = context
        self.listener = listener
        limits = context.config.limits
        self.framer = Framer(limits.max_line_bytes, limits.max_literal_bytes, limits.max_command_bytes)
        self.queue: deque = deque()
        self.busy = False
        self.closed = False
        self.tls_active = listener.tls == "implicit"
        self._line_waiter: defer.Deferred | None = None
        self._generation = 0  # bumped when buffered input must be forgotten
        self._paused = False
        self._reading_paused = False
        self._pumping = False
        self._login_deadline = None
        self._close_deadline = None  # set by close(): the abort if TLS never finishes closing
        self._drain_waiters: list[defer.Deferred] = []
        # Responses written while a command runs, sent together (``_flush``).
        self._out: list[bytes] = []
        self._held = 0  # bytes in ``_out``
        self.session: Session | None = None
        # server.handoff.Relay once a TLS session moved to the worker owning
        # its user: from then on this connection only carries its bytes.
        self.relay = None

    # -- connection --------------------------------------------------------
    def connectionMade(self) -> None:
        ctx = self.context
        ctx.connections += 1
        _no_delay(self.transport)
        ctx.protocols.add(self)
        self.connected_at = ctx.reactor.seconds()  # cpmstore-admin who's "since"
        self.transport.registerProducer(self, True)
        self.session = Session(self)
        if ctx.connections > ctx.config.limits.max_connections:
            # RFC 5530 §3 UNAVAILABLE: a temporary refusal, worth a retry later.
            self.write(wire.untagged_status(
                b"BYE", "Too many connections to this server (max_connections), try again later.",
                b"UNAVAILABLE"))
            self.close()
            return
        self.setTimeout(ctx.config.limits.idle_timeout)
        self.begin()

    def begin(self) -> None:
        """Start the conversation: the login deadline and the greeting (a
        connection moved here logged in already, server.handoff, says neither)."""
        ctx = self.context
        if ctx.config.limits.login_timeout:
            self._login_deadline = ctx.reactor.callLater(ctx.config.limits.login_timeout, self._login_timed_out)
        self.write(self.session.greeting())

    def connectionLost(self, reason=None) -> None:
        if self.relay is not None:
            self.relay.client_lost()
        self.setTimeout(None)
        for deadline in (self._login_deadline, self._close_deadline):
            if deadline is not None and deadline.active():
                deadline.cancel()
        if not self.closed:
            self.closed = True
            self.context.connections -= 1
            self.context.protocols.discard(self)
        self.queue.clear()
        self._out.clear()
        self._held = 0
        if self._line_waiter is not None:
            waiter, self._line_waiter = self._line_waiter, None
            waiter.callback(None)
        self._release_drain_waiters()
        if self.session is not None:
            self.session.connection_lost()

    def _login_timed_out(self) -> None:
        if self.session is not None and self.session.state is State.NOT_AUTHENTICATED and not self.closed:
            self.write(wire.untagged_status(b"BYE", "Login timed out."))
            self.close()

    def timeoutConnection(self) -> None:
        self.write(wire.untagged_status(b"BYE", "Disconnected for inactivity."))
        self.close()

    # -- input -------------------------------------------------------------
    def dataReceived(self, data: bytes) -> None:
        if self.relay is not None:
            self.relay.from_client(data)
            return
        self.resetTimeout()
        generation = self._generation
        for event in self.framer.feed(data):
            if self._generation != generation:
                break  # STARTTLS ran: what followed it in this read is dropped
            if isinstance(event, NeedContinuation):
                self.literal_go_ahead()
                continue
            if self._line_waiter is not None and not self.queue:
                waiter, self._line_waiter = self._line_waiter, None
                waiter.callback(_line_of(event))
                continue
            self.queue.append(event)
        if len(self.queue) >= MAX_QUEUED_COMMANDS and not self._reading_paused and not self.closed:
            self._reading_paused = True
            self.transport.pauseProducing()
        self._pump()

    def literal_go_ahead(self) -> None:
        """RFC 3501 §7.5: the client may send the synchronizing literal it announced."""
        self.write(wire.continuation(b"Ready for literal data"))

    def _next_event(self):
        event = self.queue.popleft()
        if self._reading_paused and len(self.queue) < MAX_QUEUED_COMMANDS // 2 and not self.closed:
            self._reading_paused = False
            self.transport.resumeProducing()
        return event

    def read_line(self) -> defer.Deferred:
        """The next line the client sends (None if the connection closes)."""
        self._flush()  # what the command said so far is what the client answers
        if self.queue:
            return defer.succeed(_line_of(self._next_event()))
        self._line_waiter = defer.Deferred()
        return self._line_waiter

    def _pump(self) -> None:
        # A command that completes at once calls _done, and so _pump, from
        # inside this loop: the flag turns that into one more turn of the
        # loop instead of a recursion as deep as the pipeline.
        if self._pumping:
            return
        self._pumping = True
        try:
            # While the socket is full (_paused) the client is not reading:
            # answer nothing more until it does, so responses never pile up.
            while not self.busy and self.queue and not self.closed and not self._paused:
                event = self._next_event()
                if isinstance(event, LineTooLong):
                    self.write(wire.tagged(event.tag or b"*", b"BAD", "Command line too long."))
                    self.session.refused(None, b"BAD")
                    continue
                if isinstance(event, LiteralTooBig):
                    self.session.refused(event.command_name, self._refuse_literal(event))
                    continue
                self.busy = True
                self._advance(self.session.execute(event.raw))
        finally:
            self._pumping = False
        # Every command that finished in this turn (pipelined ones too) goes
        # out in one send; a command still running sends the rest when it ends.
        self._flush()

    def _refuse_literal(self, event: LiteralTooBig) -> bytes:
        """Answer the refused command; returns the status it got."""
        limits = self.context.config.limits
        text = f"Literal of {event.size} bytes is over the limit of {limits.max_literal_bytes}."
        code = b"TOOBIG"
        if event.whole_command:
            text = f"Command over the limit of {limits.max_command_bytes} bytes in all."
            code = b"LIMIT"
        status = b"NO" if event.command_name == b"APPEND" and event.synchronizing else b"BAD"
        self.write(wire.tagged(event.tag or b"*", status, text, code))
        return status

    def _advance(self, command: Coroutine, failure: Failure | None = None) -> None:
        """Run the command's coroutine to its next wait, or to its end.

        What ``Deferred.fromCoroutine`` does, without its per-command Deferred,
        cancellation state and context copy, none of which a command uses: a
        command that never waits (NOOP, FETCH of cached data) finishes inside
        this call. An ``await`` of a Deferred that has not fired yields that
        Deferred; the command goes on from its callback (``_resumed``)."""
        try:
            if failure is None:
                awaited = command.send(None)
            else:
                awaited = failure.throwExceptionIntoGenerator(command)
        except StopIteration:
            self._done(None)
        except Exception:
            self._internal_error(Failure())
            self._done(None)
        else:
            awaited.addBoth(self._resumed, command)

    def _resumed(self, result: object, command: Coroutine) -> None:
        # Inside the awaited Deferred's callback a result is still in place,
        # and the command's ``await`` takes it when the coroutine is sent None;
        # a failure is raised into the coroutine, as inlineCallbacks does.
        # Returning None consumes either.
        self._advance(command, result if isinstance(result, Failure) else None)

    def _internal_error(self, failure) -> None:
        session = self.session
        log.failure("command failed: session={session} remote={remote}", failure,
                    session=session.id, remote=session.remote, user=session.user or "-")

    def _done(self, _ignored) -> None:
        self.busy = False
        self._pump()

    # -- output ------------------------------------------------------------
    def write(self, data: bytes) -> None:
        """Send ``data``. While a command runs its responses are held and sent
        together when it ends, so a command costs one send, not one per line;
        sooner when it waits for the client (``read_line``) or holds
        ``HOLD_BYTES`` at a ``drained()``."""
        if self.closed or self.transport is None:
            return
        self._out.append(data)
        self._held += len(data)
        if not self.busy or self._line_waiter is not None:
            self._flush()

    def _flush(self) -> None:
        out = self._out
        self._held = 0
        if not out or self.closed or self.transport is None:
            out.clear()
            return
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        _send(self.transport, data)

    def drained(self) -> defer.Deferred:
        """Fires when the transport can take more (immediately when not paused)."""
        if self._held >= HOLD_BYTES:
            self._flush()  # then the socket says whether it can take more
        if not self._paused or self.closed:
            return defer.succeed(None)
        d = defer.Deferred()
        self._drain_waiters.append(d)
        return d

    def pauseProducing(self) -> None:
        self._paused = True

    def resumeProducing(self) -> None:
        self._paused = False
        self._release_drain_waiters()
        self._pump()

    def stopProducing(self) -> None:
        self._paused = False
        self._release_drain_waiters()

    def _release_drain_waiters(self) -> None:
        waiters, self._drain_waiters = self._drain_waiters, []
        for d in waiters:
            d.callback(None)

    # -- TLS and closing -------------------------------------------------------
    def start_tls(self) -> None:
        """Switch to TLS now: anything the client sent behind STARTTLS is dropped
        (RFC 3501 §6.2.1; a man in the middle could have injected it)."""
        self._flush()  # the tagged OK goes out in the clear, before the handshake
        self.framer.reset()
        self.queue.clear()
        self._generation += 1
        self.transport.startTLS(self.context.tls_options)
        self.tls_active = True

    def close(self) -> None:
        """Close the connection once what was written is sent."""
        # Over TLS, Twisted sends close_notify and closes only when no
        # producer is registered; while this protocol stayed registered, a
        # LOGOUT over TLS left the connection open (mbsync waits for the close).
        self._flush()
        self.transport.unregisterProducer()
        self.transport.loseConnection()
        if not self.closed:
            self._close_deadline = self.context.reactor.callLater(CLOSE_GRACE, self.transport.abortConnection)


def _no_delay(transport) -> None:
    """TCP_NODELAY: a response is one send, so Nagle's algorithm could only
    hold it back behind the client's delayed ACK of the previous one."""
    try:
        transport.setTcpNoDelay(True)
    except (AttributeError, OSError):
        pass  # not TCP (a UNIX socket, a TLS wrapper without it): nothing to tune


def _send(transport, data: bytes) -> None:
    """``transport.write(data)``, but on a plain TCP connection with nothing
    queued the bytes go to the socket now: Twisted would first register the
    socket for writing and send at the next reactor turn, two epoll_ctl calls
    and a poll per response. What the socket does not take, and everything
    while bytes are still queued, goes through ``transport.write`` as before
    (its order, buffering and producer back-pressure unchanged)."""
    # The class, not attributes: a TLS wrapper (implicit TLS) lends the
    # attributes of the TCP connection under it, socket included.
    if (not isinstance(transport, tcp.Connection) or transport.TLS or not transport.connected
            or transport.disconnecting or transport._writeDisconnected or transport._tempDataLen
            or transport.dataBuffer):
        transport.write(data)
        return
    try:
        sent = transport.socket.send(data)
    except BlockingIOError:
        sent = 0
    except OSError:
        # Reset or closed: Twisted's own write path meets the same error and
        # ends the connection its usual way.
        transport.write(data)
        return
    if sent < len(data):
        transport.write(data[sent:])


def _line_of(event) -> bytes:
    """What a command waiting for a line (IDLE's DONE, a SASL response) gets:
    the line, or nothing usable when the line broke a limit."""
    return event.raw if isinstance(event, CommandBytes) else b""
