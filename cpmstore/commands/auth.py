"""Authentication: STARTTLS, LOGIN, AUTHENTICATE PLAIN (RFC 3501 §6.2, RFC 4959
SASL-IR, RFC 4616 PLAIN). Plaintext credentials are accepted only over TLS or
on a listener configured to allow them (DESIGN §6); failures are delayed."""

from __future__ import annotations

import base64
import binascii

from twisted.cred.credentials import UsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.internet.task import deferLater
from twisted.logger import Logger

from ..auth.realm import IUser
from ..auth.sasl import decode_plain
from ..errors import BadCommand, IMAPError
from ..imap import response as wire
from ..imap.commands import Authenticate, Login, StartTLS
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
    return await _authenticate(session, cmd.user, cmd.password)


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
    if authzid and authzid != authcid:
        await _delay(session)
        raise IMAPError("Authorization as another user is not permitted.", b"AUTHORIZATIONFAILED")
    return await _authenticate(session, authcid, password)


async def _delay(session) -> None:
    delay = session.context.config.limits.login_failure_delay
    if delay > 0:
        await deferLater(session.context.reactor, delay, lambda: None)


async def _authenticate(session, user: bytes | str, password: bytes | str) -> Reply:
    if isinstance(user, str):
        user = user.encode("utf-8")
    if isinstance(password, str):
        password = password.encode("utf-8")
    try:
        _iface, avatar, logout = await session.context.portal.login(
            UsernamePassword(user, password), None, IUser)
    except UnauthorizedLogin:
        log.info("login failed for {user!r}", user=user)
        await _delay(session)
        raise IMAPError("Authentication failed.", b"AUTHENTICATIONFAILED")
    name = avatar.name
    ctx = session.context
    limit = ctx.config.limits.max_connections_per_user
    if ctx.connections_by_user.get(name, 0) >= limit:
        logout()
        raise IMAPError("Maximum number of connections for this user exceeded.", b"LIMIT")
    ctx.connections_by_user[name] = ctx.connections_by_user.get(name, 0) + 1

    def release() -> None:
        ctx.connections_by_user[name] -= 1
        if not ctx.connections_by_user[name]:
            del ctx.connections_by_user[name]
        logout()

    account = await ctx.store.account(name)
    session.authenticated(name, account, release)
    log.info("login {user}", user=name)
    code = b"CAPABILITY " + b" ".join(session.capabilities())
    return Reply.ok("Logged in", code)
