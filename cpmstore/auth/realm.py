"""The cred realm: an authenticated user name -> the ``IUser`` avatar.

This module owns what a session holds once LOGIN succeeds. It never checks
passwords (the checker does) and never opens the user's store (the session
asks the store for the account named by ``IUser.name``).
"""

from __future__ import annotations

from dataclasses import dataclass

from twisted.cred.portal import IRealm
from zope.interface import Attribute, Interface, implementer


class IUser(Interface):
    """An authenticated user."""

    name = Attribute("str: the user name as written in the users file")


@implementer(IUser)
@dataclass(frozen=True, slots=True)
class User:
    name: str


def _no_logout() -> None:
    pass


@implementer(IRealm)
class Realm:
    def requestAvatar(self, avatarId, mind, *interfaces):
        if IUser not in interfaces:
            raise NotImplementedError("cpmstore's realm only provides IUser")
        name = avatarId.decode("utf-8") if isinstance(avatarId, bytes) else avatarId
        return IUser, User(name), _no_logout
