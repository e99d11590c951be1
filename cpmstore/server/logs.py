"""What the server tells its log about sessions, and the JSON-lines format (issue 11).

This module owns the session events (login ok and failed, the end of a
session, a command that failed by the server's fault), their structured
fields, and the observer twistd is given for ``[logging] format = "json"`` or
``file``. Every event carries ``user``, ``session`` (an id made per
connection), ``remote`` (the peer address) and, where it applies,
``command``, ``result``, ``mechanism`` and ``duration``; the text form names
the same fields, so both formats say the same.

It never logs a password, a SASL response, the arguments of LOGIN or
AUTHENTICATE, or any message content: events are built here from named
values only, never from a command line or a message. A user name the client
sent is logged escaped and cut short (it may hold anything, even a line
break, or be a password typed into the wrong field, which the cut limits).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from datetime import datetime, timezone
from typing import IO, Any

from twisted.logger import (
    FileLogObserver, ILogObserver, Logger, formatEvent, formatEventAsClassicLogText,
)

from ..config import LoggingConfig

__all__ = [
    "command_failed",
    "json_line",
    "login_failed",
    "login_ok",
    "make_observer",
    "new_session_id",
    "peer_of",
    "session_ended",
]

log = Logger(namespace="cpmstore.session")

_MAX_NAME = 64  # characters of a client-given user name kept in the log


def new_session_id() -> str:
    """An id for one connection, to find all of its lines (random, so it
    says nothing about how many sessions there were)."""
    return secrets.token_urlsafe(6)


def peer_of(transport: Any) -> str:
    """``host:port`` (``[host]:port`` for IPv6) of the client, or what the
    address type offers (a UNIX socket)."""
    try:
        peer = transport.getPeer()
    except Exception:
        return "-"
    host, port = getattr(peer, "host", None), getattr(peer, "port", None)
    if host is None:
        name = getattr(peer, "name", None)
        return f"unix:{name.decode(errors='replace') if isinstance(name, bytes) else name or ''}"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def printable(value: bytes | str | None) -> str:
    """A client-given name made safe for one log line: control characters
    escaped, at most ``_MAX_NAME`` characters."""
    if value is None:
        return "-"
    text = value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else value
    if len(text) > _MAX_NAME:
        text = text[:_MAX_NAME] + "..."
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _fields(session: Any) -> dict[str, Any]:
    return {"user": session.user or "-", "session": session.id, "remote": session.remote}


def login_ok(session: Any, mechanism: str, proxy: str = "") -> None:
    """``session`` has just logged in as ``session.user``; ``proxy``, when
    given, is the service account that authenticated for it (RFC 4616 authcid)."""
    fields = _fields(session)
    if proxy:
        log.info("login ok: user={user} by proxy={proxy} mechanism={mechanism} session={session} remote={remote}",
                 event="login", result="ok", mechanism=mechanism, proxy=proxy, **fields)
    else:
        log.info("login ok: user={user} mechanism={mechanism} session={session} remote={remote}",
                 event="login", result="ok", mechanism=mechanism, **fields)


def login_failed(session: Any, mechanism: str, user: bytes | str, reason: str, proxy: str = "") -> None:
    """A login as ``user`` was refused for ``reason`` (said here, never to the client)."""
    fields = _fields(session)
    fields["user"] = printable(user)
    if proxy:
        log.info("login failed: user={user} by proxy={proxy} mechanism={mechanism} reason={reason} "
                 "session={session} remote={remote}",
                 event="login", result="failed", mechanism=mechanism, reason=reason, proxy=printable(proxy), **fields)
    else:
        log.info("login failed: user={user} mechanism={mechanism} reason={reason} session={session} remote={remote}",
                 event="login", result="failed", mechanism=mechanism, reason=reason, **fields)


def session_ended(session: Any) -> None:
    """The connection closed: after LOGOUT (``reason`` "logout") or not ("disconnect")."""
    reason = "logout" if session.last_command == "LOGOUT" else "disconnect"
    log.info("{reason}: user={user} session={session} remote={remote} duration={duration}s commands={commands}",
             event="session_end", reason=reason, duration=round(time.monotonic() - session.started, 3),
             commands=session.commands, **_fields(session))


def command_failed(session: Any, command: str, started: float) -> None:
    """A command failed by the server's fault; call inside the ``except``
    so that the traceback is logged with it."""
    log.failure("command failed: command={command} user={user} session={session} remote={remote}",
                event="command_failed", command=command, result="NO",
                duration=round(time.monotonic() - started, 6), **_fields(session))


# -- the JSON-lines format --------------------------------------------------------
# Twisted's own keys that are not worth a field of their own (the text says them).
_SKIPPED = frozenset({"message", "format", "isError", "time", "why", "failure", "system", "printed"})


def json_line(event: dict[str, Any]) -> str:
    """One log event as one line of JSON: ``time`` (ISO 8601, UTC), ``level``,
    ``namespace``, ``text`` (the event as the text format says it), every
    structured field whose value is a plain value, and ``traceback`` for a
    failure. ``ensure_ascii`` keeps it one line whatever the values hold."""
    record: dict[str, Any] = {
        "time": datetime.fromtimestamp(event.get("log_time") or time.time(), timezone.utc).isoformat(),
        "level": getattr(event.get("log_level"), "name", None),
        "namespace": event.get("log_namespace"),
        "text": formatEvent(event),
    }
    for key, value in event.items():
        if key.startswith("log_") or key in _SKIPPED or key in record:
            continue
        if isinstance(value, (str, int, float, bool)) or value is None:
            record[key] = value
        elif isinstance(value, bytes):
            record[key] = value.decode("utf-8", "backslashreplace")
    failure = event.get("log_failure")
    if failure is not None:
        try:
            record["traceback"] = failure.getTraceback()
        except Exception:
            record["traceback"] = repr(failure)
    return json.dumps(record, ensure_ascii=True, default=str) + "\n"


def _open(path: str) -> IO[str]:
    # Appended to, never truncated; readable by the owner and group only:
    # the log names users and their addresses.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    return os.fdopen(fd, "a", encoding="utf-8", buffering=1)


def make_observer(config: LoggingConfig) -> ILogObserver | None:
    """The observer ``[logging]`` asks for, or None to keep twistd's own
    (text to twistd's log target). JSON lines go to ``file`` or standard
    output; text goes to ``file``. Opened now, so a bad path stops the start."""
    if config.format == "text" and not config.file:
        return None
    if config.file:
        try:
            out = _open(config.file)
        except OSError as e:
            from ..config import ConfigError

            raise ConfigError(f"logging.file: cannot open {config.file}: {e.strerror or e}") from None
    else:
        # Taken now: once twistd starts logging, sys.stdout is a LoggingFile
        # that would feed each line back into the log.
        out = sys.stdout
    if config.format == "json":
        return FileLogObserver(out, json_line)
    return FileLogObserver(out, lambda event: formatEventAsClassicLogText(event))
