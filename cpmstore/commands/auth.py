"""Authentication: STARTTLS, LOGIN, AUTHENTICATE PLAIN (RFC 3501 §6.2, RFC 4959
SASL-IR, RFC 4616 PLAIN). Plaintext credentials are accepted only over TLS or
on a listener configured to allow them (DESIGN §6); failures are delayed,
and an address with too many recent failures is refused without its
password being checked (``auth.ratelimit``, ``NO [UNAVAILABLE]``, RFC 5530).
A login beyond ``max_connections_per_user`` gets ``NO [UNAVAILABLE]`` naming
the limit; the connection stays open.

Acting for another user (issue 8): the CPM Participating Function and
interworking functions deposit messages and apply reports in a user's store
on the user's behalf. They send AUTHENTICATE PLAIN (RFC 3501 §6.2.2) with the
user as authorization identity and their own account as authentication
identity (RFC 4616 §2). The authcid's password is checked; if the authcid is
one of ``[server] proxy_users``, the session is then the authzid user's (their
store, their rights, their connection count), and one log line names both.
Any other authcid gets ``NO [AUTHORIZATIONFAILED]`` (RFC 5530 §3). A proxy
asking for a user not in the users file gets the very answer a wrong password
gets, so the account cannot be used to probe for names. An empty authzid, or
one equal to the authcid, is an ordinary login.

Every login, the user's own or a proxy's, first creates the ``[cpm]
system_folders`` the user lacks (``cpm.folders``).
"""

from __future__ import annotations

import base64
import binascii

from twisted.cred.credentials import IUsernamePassword, UsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger

from ..auth.ratelimit import address_key
from ..auth.realm import IUser
from ..auth.sasl import decode_plain
from ..cpm.folders import ensure_system_folders
from ..errors import BadCommand, IMAPError
from ..imap import response as wire
from ..imap.commands import Authenticate, Login, StartTLS
from ..server import logs
from .reply import Reply

log = Logger()


async def starttls(session, cmd: StartTLS) -> None:
    if session.listener.tls != "starttls" or session.protocol.tls_active:
        raise BadCommand("TLS is already active." if session.protocol.tls_active
                         else "STARTTLS is not offered on this port.")
    session.send(wire.tagged(cmd.tag, b"OK", "Begin TLS negotiation now."))
    session.protocol.start_tls()
    return None


def _refuse_plaintext(session) -> None:
    if not session.plaintext_allowed:
        raise IMAPError("Plaintext authentication disallowed on non-secure (SSL/TLS) connections.",
                        b"PRIVACYREQUIRED")


async def login(session, cmd: Login) -> Reply:
    _refuse_plaintext(session)
    return await _authenticate(session, cmd.tag, "LOGIN", cmd.user, cmd.password)


async def authenticate(session, cmd: Authenticate) -> Reply:
    if cmd.mechanism != "PLAIN":
        raise IMAPError("Unsupported authentication mechanism.")
    _refuse_plaintext(session)
    response = cmd.initial_response
    if response is None:
        session.send(wire.continuation())
        response = await session.protocol.read_line()
        if response is None:
            return Reply(b"BAD", "Connection closed.")
    if response == b"*":
        raise BadCommand("Authentication cancelled.")
    try:
        data = b"" if response == b"=" else base64.b64decode(response, validate=True)
        authzid, authcid, password = decode_plain(data)
    except (binascii.Error, ValueError):
        raise BadCommand("Invalid base64 or PLAIN message.")
    return await _authenticate(session, cmd.tag, "PLAIN", authcid, password, authzid if authzid != authcid else "")


async def _delay(session) -> None:
    delay = session.context.config.limits.login_failure_delay
    if delay > 0:
        await deferLater(session.context.reactor, delay, lambda: None)


async def _authentication_failed(session) -> IMAPError:
    await _delay(session)
    return IMAPError("Authentication failed.", b"AUTHENTICATIONFAILED")


async def _user_exists(ctx, name: str) -> bool:
    # The checker owns the users file and re-reads it when it changes; reading
    # it may touch the disk, so off the reactor thread as the checker does.
    checker = ctx.portal.checkers[IUsernamePassword]
    entries = await deferToThreadPool(ctx.reactor, ctx.reactor.getThreadPool(), checker.entries)
    return name in entries


def _failed(session, mechanism: str, user: bytes | str, reason: str, proxy: str = "") -> None:
    # One log line and one count per refused login (server.logs, server.metrics).
    logs.login_failed(session, mechanism, user, reason, proxy)
    session.context.metrics.login(mechanism, False)


async def _authenticate(session, tag: bytes, mechanism: str, user: bytes | str, password: bytes | str,
                        authzid: str = "") -> Reply | None:
    """Check ``user``'s password, then log the session in as ``authzid``
    when given (a proxy login, see the module docstring), else as ``user``.
    ``mechanism`` ("LOGIN" or "PLAIN") is for the log and the metrics. None
    when the connection moved to the worker process owning the user, which
    answers ``tag`` (server.handoff)."""
    if isinstance(user, str):
        user = user.encode("utf-8")
    if isinstance(password, str):
        password = password.encode("utf-8")
    failures = session.context.login_failures
    address = address_key(getattr(session.protocol.transport.getPeer(), "host", None))
    if failures.blocked(address):
        # The password is not looked at: a guesser gets no signal (auth.ratelimit).
        _failed(session, mechanism, authzid or user, "too many failed logins from this address",
                proxy=user.decode("utf-8", "replace") if authzid else "")
        await _delay(session)
        raise IMAPError("Too many failed logins from this address, try again later.", b"UNAVAILABLE")
    try:
        _iface, avatar, logout = await session.context.portal.login(
            UsernamePassword(user, password), None, IUser)
    except UnauthorizedLogin:
        failures.failed(address)
        _failed(session, mechanism, authzid or user, "authentication failed",
                proxy=user.decode("utf-8", "replace") if authzid else "")
        raise await _authentication_failed(session)
    name = avatar.name
    ctx = session.context
    proxy = ""
    if authzid:
        if name not in ctx.config.server.proxy_users:
            logout()
            _failed(session, mechanism, authzid, "not in server.proxy_users", proxy=name)
            await _delay(session)
            raise IMAPError("Authorization as another user is not permitted.", b"AUTHORIZATIONFAILED")
        if not await _user_exists(ctx, authzid):
            logout()
            _failed(session, mechanism, authzid, "no such user", proxy=name)
            raise await _authentication_failed(session)
        proxy, name = name, authzid
    if ctx.handoff is not None and not ctx.handoff.owns(name):
        # Only the owning worker process may open this user's account.
        logout()
        await ctx.handoff.hand_over(session, tag, name, mechanism, proxy)
        return None
    return await complete_login(session, mechanism, name, proxy, logout)


async def complete_login(session, mechanism: str, name: str, proxy: str, logout) -> Reply:
    """Log ``session`` in as ``name``, whose credentials were checked (here, or
    by the worker process the connection came from): the per-user connection
    limit, the system folders, the log line, the tagged OK's reply."""
    ctx = session.context
    limit = ctx.config.limits.max_connections_per_user
    if ctx.connections_by_user.get(name, 0) >= limit:
        logout()
        _failed(session, mechanism, name, "too many connections", proxy=proxy)
        # Tagged, the connection kept, as Dovecot's mail_max_userip_connections.
        raise IMAPError(f"Maximum number of connections for this user exceeded "
                        f"(max_connections_per_user={limit}).", b"UNAVAILABLE")
    ctx.connections_by_user[name] = ctx.connections_by_user.get(name, 0) + 1

    def release() -> None:
        ctx.connections_by_user[name] -= 1
        if not ctx.connections_by_user[name]:
            del ctx.connections_by_user[name]
        logout()

    account = await ctx.store.account(name)
    try:
        created = await ensure_system_folders(account, ctx.config.cpm.system_folders)
    except BaseException:
        release()
        raise
    if created:
        log.info("created system folders {folders} for {user}", folders=", ".join(created), user=name)
    session.authenticated(name, account, release)
    logs.login_ok(session, mechanism, proxy)
    ctx.metrics.login(mechanism, True)
    code = b"CAPABILITY " + b" ".join(session.capabilities())
    return Reply.ok("Logged in", code)
