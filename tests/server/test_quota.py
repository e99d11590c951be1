"""QUOTA (RFC 9208): one quota root per user over all their folders,
enforced on APPEND, COPY and MOVE with NO [OVERQUOTA]."""

import pytest_twisted
from conftest import in_thread
from transcript import LOGIN, run

from cpmstore.config import LimitsConfig


@pytest_twisted.ensureDeferred
async def test_rfc9208_getquotaroot_and_overquota(start):
    server = await start(limits=LimitsConfig(login_failure_delay=0.0, quota_storage_bytes=3000, quota_messages=3))

    def scenario():
        run(server.port, LOGIN + """
            C: a1 GETQUOTAROOT INBOX
            S: * QUOTAROOT INBOX ""
            S: * QUOTA "" (STORAGE 0 2 MESSAGE 0 3)
            S: a1 OK Getquotaroot completed.
            C: a2 APPEND INBOX {1500+}
            C: """ + "x" * 1498 + """\\r\\n
            S: a2 OK [APPENDUID ... 1] Append completed.
            C: a3 CREATE Chats
            S: a3 OK Create completed.
            C: a4 APPEND Chats {5+}
            C: hello
            S: a4 OK [APPENDUID ... 1] Append completed.
            C: a5 GETQUOTA ""
            S: * QUOTA "" (STORAGE 2 2 MESSAGE 2 3)
            S: a5 OK Getquota completed.
            C: a6 APPEND Chats {1500+}
            C: """ + "y" * 1498 + """\\r\\n
            S: a6 NO [OVERQUOTA] ...
            C: a7 APPEND Chats {5+}
            C: hello
            S: a7 OK [APPENDUID ... 2] Append completed.
            C: a8 APPEND Chats {5+}
            C: hello
            S: a8 NO [OVERQUOTA] ...
            C: a9 SELECT Chats
            S: * FLAGS ...
            S: * OK [PERMANENTFLAGS ...] ...
            S: * 2 EXISTS
            S: * 2 RECENT
            S: * OK [UNSEEN 1] ...
            S: * OK [UIDVALIDITY ...] ...
            S: * OK [UIDNEXT 3] ...
            S: * OK [HIGHESTMODSEQ ...] ...
            S: a9 OK [READ-WRITE] Select completed.
            C: b1 COPY 1 INBOX
            S: b1 NO [OVERQUOTA] ...
            C: b2 MOVE 1 INBOX
            S: * OK [COPYUID ... 1 2] ...
            S: * 1 EXPUNGE
            S: * 1 RECENT
            S: b2 OK Move completed.
            C: b3 STORE 1 +FLAGS.SILENT (\\Deleted)
            S: b3 OK Store completed.
            C: b4 EXPUNGE
            S: * 1 EXPUNGE
            S: * 0 RECENT
            S: b4 OK Expunge completed.
            C: b5 GETQUOTAROOT Chats
            S: * QUOTAROOT Chats ""
            S: * QUOTA "" (STORAGE 2 2 MESSAGE 2 3)
            S: b5 OK Getquotaroot completed.
            C: b6 APPEND Chats {5+}
            C: hello
            S: * 1 EXISTS
            S: * 1 RECENT
            S: b6 OK [APPENDUID ... 3] Append completed.
            C: b7 GETQUOTA "Other Users/user2"
            S: b7 NO [NONEXISTENT] ...
        """)
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc9208_no_quota_configured(server):
    def scenario():
        run(server.port, LOGIN + """
            C: a1 GETQUOTAROOT INBOX
            S: * QUOTAROOT INBOX
            S: a1 OK Getquotaroot completed.
            C: a2 GETQUOTA ""
            S: a2 NO [NONEXISTENT] ...
            C: a3 GETQUOTAROOT nosuch
            S: a3 NO [NONEXISTENT] ...
        """)
    await in_thread(scenario)
