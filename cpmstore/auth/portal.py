"""The cred portal the sessions log in through: realm + users-file checker."""

from __future__ import annotations

import os

from twisted.cred.portal import Portal

from .checker import PasswdFileChecker
from .realm import Realm


def build_portal(users_file: str | os.PathLike[str], reactor=None) -> Portal:
    """``portal.login(UsernamePassword(name, password), None, IUser)``."""
    return Portal(Realm(), [PasswdFileChecker(users_file, reactor)])
