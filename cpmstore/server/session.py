"""One client's IMAP session: the state machine and command dispatch (RFC 3501 §3, §5).

A session parses a framed command, checks that it is allowed in the current
state (nothing beyond the unauthenticated set before login, DESIGN §6), runs
its handler from ``cpmstore.commands``, announces pending mailbox updates at
the points RFC 3501 §7.4.1 allows, and writes the tagged reply. Errors raised
by handlers (``cpmstore.errors``) become the tagged NO/BAD here, in one place.
"""

from __future__ import annotations

import time

from twisted.internet.defer import Deferred
from twisted.logger import Logger

from ..errors import IMAPError
from ..imap import names
from ..imap import response as wire
from ..imap.parser import ParseError, parse_command, parse_tag
from ..commands import registry
from ..commands.fetch import Plan, send_fetch
from ..commands.reply import Reply
from . import logs
from .metrics import command_label
from .state import State

log = Logger()


# Commands during which an EXPUNGE must not be sent (RFC 3501 §7.4.1): the
# client may be using sequence numbers to refer to the messages involved.
_NO_EXPUNGE = frozenset({"FETCH", "STORE", "SEARCH"})
# SORT and THREAD answer with sequence numbers just as SEARCH does.
_NO_EXPUNGE = _NO_EXPUNGE | {"SORT", "THREAD"}


class Session:
    def __init__(self, protocol) -> None:
        self.protocol = protocol
        self.context = protocol.context
        self.listener = protocol.listener
        self.state = State.NOT_AUTHENTICATED
        self.user: str | None = None
        self.account = None
        self.selected = None  # server.selected.SelectedView
        self.enabled: set[str] = set()
        self.idling = False
        self.notifier = None  # server.notify.Notifier while NOTIFY is set
        self._delivering = False
        self._logout_hooks: list = []
        # For the log and the metrics (server.logs, server.metrics).
        self.id = logs.new_session_id()
        self.remote = logs.peer_of(protocol.transport)
        self.started = time.monotonic()
        self.commands = 0
        self.last_command = ""
        # Handed over to the worker owning the user (server/handoff.py): that
        # worker logs the session's end, this one only that it moved.
        self.moved = False

    # -- capabilities ------------------------------------------------------
    @property
    def plaintext_allowed(self) -> bool:
        return self.protocol.tls_active or self.listener.allow_plaintext_auth

    def capabilities(self) -> list[bytes]:
        caps = [b"IMAP4rev1", b"SASL-IR", b"LITERAL+", b"ID", b"ENABLE", b"IDLE"]
        if self.state is State.NOT_AUTHENTICATED:
            if self.listener.tls == "starttls" and not self.protocol.tls_active:
                caps.append(b"STARTTLS")
            if self.plaintext_allowed:
                caps.append(b"AUTH=PLAIN")
            else:
                caps.append(b"LOGINDISABLED")
        else:
            caps += [b"NAMESPACE", b"UNSELECT", b"CHILDREN", b"UIDPLUS", b"MOVE", b"MULTIAPPEND",
                     b"APPENDLIMIT=%d" % self.context.config.limits.max_literal_bytes,
                     b"CONDSTORE", b"QRESYNC", b"LIST-EXTENDED", b"LIST-STATUS", b"NOTIFY",
                     b"ACL", b"RIGHTS=texk", b"METADATA", b"METADATA-SERVER", b"ANNOTATE-EXPERIMENT-1",
                     b"SPECIAL-USE", b"CREATE-SPECIAL-USE", b"STATUS=SIZE",
                     b"QUOTA", b"QUOTA=RES-STORAGE", b"QUOTA=RES-MESSAGE"]
            caps += [b"ESEARCH", b"SEARCHRES", b"WITHIN"]  # RFC 4731, 5182, 5032
            caps += [b"BINARY", b"CATENATE"]  # RFC 3516, 4469
            caps += [b"SAVEDATE", b"PREVIEW"]  # RFC 8514, 8970
            caps += [b"SORT", b"SORT=DISPLAY", b"ESORT", b"THREAD=ORDEREDSUBJECT", b"THREAD=REFERENCES",
                     b"THREAD=REFS"]  # RFC 5256, 5957, 5267
            caps += [b"URLAUTH", b"URLAUTH=BINARY", b"URL-PARTIAL"]  # RFC 4467, 5524, 5550
            caps += [b"UTF8=ACCEPT", b"I18NLEVEL=1"]  # RFC 6855; RFC 5255 §4.1 (SEARCH, SORT, THREAD)
        return caps

    def greeting(self) -> bytes:
        code = b"CAPABILITY " + b" ".join(self.capabilities())
        return wire.untagged_status(b"OK", "cpmstore ready.", code)

    @property
    def condstore(self) -> bool:
        return "CONDSTORE" in self.enabled

    @property
    def qresync(self) -> bool:
        return "QRESYNC" in self.enabled

    @property
    def utf8(self) -> bool:
        """ENABLE UTF8=ACCEPT was sent: mailbox names are UTF-8 both ways (RFC 6855 §3)."""
        return "UTF8=ACCEPT" in self.enabled

    def enable_condstore(self) -> None:
        """A CONDSTORE-enabling command ran (RFC 7162 §3.1). If that happens with
        a mailbox selected, the client learns its HIGHESTMODSEQ at once."""
        if self.condstore:
            return
        self.enabled.add("CONDSTORE")
        if self.selected is not None:
            self.send(wire.untagged_status(b"OK", "Highest", b"HIGHESTMODSEQ %d" % self.selected.highest_modseq()))

    # -- output ------------------------------------------------------------
    def send(self, data: bytes) -> None:
        self.protocol.write(data)

    async def drained(self) -> None:
        await self.protocol.drained()

    # -- running a command ---------------------------------------------------
    async def execute(self, raw: bytes) -> None:
        # The one place every tagged result passes: counted here, cheaply.
        started = time.monotonic()
        self.commands += 1
        name, status = await self._execute(raw, started)
        self.last_command = name
        self.context.metrics.command(name, status, time.monotonic() - started)

    def refused(self, name: bytes | None, status: bytes) -> None:
        """Count a command the framer refused before it could be parsed (a line
        or a literal over its limit), under its name when that is a command."""
        self.commands += 1
        self.context.metrics.command(command_label(b"* " + (name or b""), registry.HANDLERS), status, 0.0)

    async def _execute(self, raw: bytes, started: float) -> tuple[str, bytes]:
        """Run one command; returns its name (for the metrics) and tagged status."""
        try:
            cmd = parse_command(raw, utf8=self.utf8)
        except ParseError as exc:
            tag = exc.tag or parse_tag(raw) or b"*"
            self.send(wire.tagged(tag, b"BAD", f"Error in IMAP command: {exc.text}"))
            return command_label(raw, registry.HANDLERS), b"BAD"
        entry = registry.HANDLERS.get(cmd.name)
        if entry is None:
            self.send(wire.tagged(cmd.tag, b"BAD", f"Unknown command {cmd.name}."))
            return "UNKNOWN", b"BAD"
        handler, states = entry
        if self.state not in states:
            self.send(wire.tagged(cmd.tag, b"BAD", self._wrong_state_text(cmd.name)))
            return cmd.name, b"BAD"
        try:
            reply = await handler(self, cmd)
            if reply is None:  # the handler wrote its own tagged reply (LOGOUT, STARTTLS)
                return cmd.name, b"OK"
            if self.selected is not None and reply.status != b"BAD":
                self.flush_updates(allow_expunge=cmd.name not in _NO_EXPUNGE or getattr(cmd, "uid", False))
            await self.deliver_notifications()
        except IMAPError as exc:
            reply = Reply(exc.status, exc.text, exc.code)
        except Exception:
            logs.command_failed(self, cmd.name, started)
            reply = Reply(b"NO", "Internal error occurred. Refer to server log for more information.",
                          b"SERVERBUG")
        # Response text stays 7-bit in every mode (RFC 3501 §9 TEXT-CHAR; RFC 6855
        # does not extend it): a mailbox name in it is shown in modified UTF-7.
        text = reply.text if reply.text.isascii() else names.text(reply.text)
        self.send(wire.tagged(cmd.tag, reply.status, text, reply.code))
        return cmd.name, reply.status

    def _wrong_state_text(self, name: str) -> str:
        if self.state is State.NOT_AUTHENTICATED:
            return f"{name} is not allowed before authentication."
        if name in ("LOGIN", "AUTHENTICATE", "STARTTLS"):
            return f"{name}: already authenticated."
        if self.state is State.AUTHENTICATED:
            return f"{name} needs a selected mailbox."
        return f"{name} is not allowed now."

    # -- mailbox updates -----------------------------------------------------
    def flush_updates(self, allow_expunge: bool) -> int:
        """Send the selected mailbox's pending updates; returns how many."""
        sent = 0
        if self.selected is not None:
            for line in self.selected.pending_responses(allow_expunge):
                self.send(line)
                sent += 1
        return sent

    def on_selected_change(self) -> None:
        """Called by the selected view when a change arrives. While idling the
        client hears of it at once (RFC 2177); with NOTIFY (selected ...) also
        between commands, expunges only for ``selected`` (RFC 5465 §6.1)."""
        if self.idling:
            pushed = self.flush_updates(allow_expunge=True)
        elif self.notifier is not None and self.notifier.selected_now and not self.protocol.busy:
            pushed = self.flush_updates(allow_expunge=self.notifier.selected_expunge_now)
        else:
            return
        self.context.metrics.notified(pushed)
        self.notification_ready()

    def mailbox_vanished(self) -> None:
        """The selected mailbox was deleted (by this or another session)."""
        self.send(wire.untagged_status(b"BYE", "Selected mailbox was deleted, please log in again."))
        self.protocol.close()

    def notification_ready(self) -> None:
        """NOTIFY has something to say: say it now unless a command is running
        (then it goes out before that command's tagged reply)."""
        if self.idling or not self.protocol.busy:
            Deferred.fromCoroutine(self.deliver_notifications()).addErrback(
                lambda f: log.failure("notification failed", f))

    async def deliver_notifications(self) -> None:
        notifier = self.notifier
        if notifier is None or self._delivering:
            return
        self._delivering = True
        try:
            view = self.selected
            if view is not None and view.announced:
                new, view.announced = view.announced, []
                group = notifier.selected
                if group is not None and group.fetch_atts and "MessageNew" in group.events:
                    pairs = [(view.seq_of(uid), uid) for uid in new if view.seq_of(uid) is not None]
                    await send_fetch(self, view, Plan(group.fetch_atts, uid=False), pairs)
                    self.context.metrics.notified(len(pairs))
            while notifier.pending and self.notifier is notifier:
                self.context.metrics.notified(await notifier.deliver())
        finally:
            self._delivering = False

    # -- state changes -------------------------------------------------------
    def authenticated(self, user: str, account, logout_hook=None) -> None:
        self.user = user
        self.account = account
        self.state = State.AUTHENTICATED
        if logout_hook is not None:
            self._logout_hooks.append(logout_hook)

    def select(self, view) -> None:
        self.deselect()
        self.selected = view
        self.state = State.SELECTED

    def deselect(self) -> None:
        if self.selected is not None:
            self.selected.close()
            self.selected = None
        if self.state is State.SELECTED:
            self.state = State.AUTHENTICATED

    def connection_lost(self) -> None:
        if self.notifier is not None:
            self.notifier.close()
            self.notifier = None
        self.deselect()
        hooks, self._logout_hooks = self._logout_hooks, []
        for hook in hooks:
            try:
                hook()
            except Exception:
                log.failure("logout hook failed")
        if not self.moved:
            logs.session_ended(self)
        self.state = State.LOGOUT
