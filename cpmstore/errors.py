"""Errors that become tagged IMAP replies.

Handlers raise these; one place (the session dispatcher) turns them into the
tagged ``NO``/``BAD`` line, so a handler never formats an error reply itself.
"""

from __future__ import annotations


class IMAPError(Exception):
    """A failed command: ``status`` is ``NO`` or ``BAD``; ``code`` the bracketed response code."""

    status = b"NO"
    code: bytes | None = None

    def __init__(self, text: str = "", code: bytes | None = None) -> None:
        super().__init__(text)
        self.text = text or self.__class__.__doc__ or "failed"
        if code is not None:
            self.code = code


class BadCommand(IMAPError):
    """Syntax or state error: tagged BAD."""

    status = b"BAD"


class NoSuchMailbox(IMAPError):
    """Mailbox doesn't exist"""

    code = b"NONEXISTENT"


class MailboxExists(IMAPError):
    """Mailbox already exists"""

    code = b"ALREADYEXISTS"


class InvalidMailboxName(IMAPError):
    """Invalid mailbox name"""

    code = b"CANNOT"


class Forbidden(IMAPError):
    """Permission denied"""

    code = b"NOPERM"


class TooBig(IMAPError):
    """Message too large"""

    code = b"TOOBIG"


class ServerBug(IMAPError):
    """Internal error occurred. Refer to server log for more information."""

    code = b"SERVERBUG"


class DiskFull(IMAPError):
    """The disk (or the file system's quota) has no room for the change; nothing
    of it was kept. RFC 5530 §3 OVERQUOTA, as Dovecot answers a full disk."""

    code = b"OVERQUOTA"
