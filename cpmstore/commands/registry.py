"""Which handler runs each command, and in which states (RFC 3501 §6).

One table, so that "what may run before login" is visible in one place
(DESIGN §6)."""

from __future__ import annotations

from ..server.state import ANY, AUTHENTICATED, NOT_AUTHENTICATED, SELECTED
from . import acl, append, quota, auth, copy_move, expunge, fetch, general, idle, mailbox, metadata, notify, search, select, store
from . import sort, thread
from . import urlauth

HANDLERS = {
    "CAPABILITY": (general.capability, ANY),
    "NOOP": (general.noop, ANY),
    "LOGOUT": (general.logout, ANY),
    "ID": (general.id_, ANY),
    "STARTTLS": (auth.starttls, NOT_AUTHENTICATED),
    "LOGIN": (auth.login, NOT_AUTHENTICATED),
    "AUTHENTICATE": (auth.authenticate, NOT_AUTHENTICATED),
    "ENABLE": (general.enable, AUTHENTICATED),
    "NAMESPACE": (general.namespace, AUTHENTICATED),
    "SELECT": (select.select, AUTHENTICATED),
    "EXAMINE": (select.select, AUTHENTICATED),
    "CREATE": (mailbox.create, AUTHENTICATED),
    "DELETE": (mailbox.delete, AUTHENTICATED),
    "RENAME": (mailbox.rename, AUTHENTICATED),
    "SUBSCRIBE": (mailbox.subscribe, AUTHENTICATED),
    "UNSUBSCRIBE": (mailbox.subscribe, AUTHENTICATED),
    "LIST": (mailbox.list_, AUTHENTICATED),
    "LSUB": (mailbox.list_, AUTHENTICATED),
    "STATUS": (mailbox.status, AUTHENTICATED),
    "APPEND": (append.append, AUTHENTICATED),
    "IDLE": (idle.idle, AUTHENTICATED),
    "NOTIFY": (notify.notify, AUTHENTICATED),
    "SETACL": (acl.setacl, AUTHENTICATED),
    "DELETEACL": (acl.deleteacl, AUTHENTICATED),
    "GETACL": (acl.getacl, AUTHENTICATED),
    "LISTRIGHTS": (acl.listrights, AUTHENTICATED),
    "MYRIGHTS": (acl.myrights, AUTHENTICATED),
    "GETQUOTA": (quota.getquota, AUTHENTICATED),
    "GETQUOTAROOT": (quota.getquotaroot, AUTHENTICATED),
    "GETMETADATA": (metadata.getmetadata, AUTHENTICATED),
    "SETMETADATA": (metadata.setmetadata, AUTHENTICATED),
    "CHECK": (select.check, SELECTED),
    "CLOSE": (select.close, SELECTED),
    "UNSELECT": (select.unselect, SELECTED),
    "EXPUNGE": (expunge.expunge, SELECTED),
    "SEARCH": (search.search, SELECTED),
    "FETCH": (fetch.fetch, SELECTED),
    "STORE": (store.store, SELECTED),
    "COPY": (copy_move.copy, SELECTED),
    "MOVE": (copy_move.copy, SELECTED),
    "SORT": (sort.sort, SELECTED),
    "THREAD": (thread.thread, SELECTED),
}
HANDLERS.update({
    "RESETKEY": (urlauth.resetkey, AUTHENTICATED),
    "GENURLAUTH": (urlauth.genurlauth, AUTHENTICATED),
    "URLFETCH": (urlauth.urlfetch, AUTHENTICATED),
})
