"""IMAPClient (the installed 4.1 release) over every method of it that maps to
an IMAP command cpmstore offers, against the real server: each call's answer
as IMAPClient parses it, and its effect seen through another command (after
MOVE the message is in the target with its flags, after UNSELECT a
``\\Deleted`` message is still there, after SETACL the other user can read).

Methods of IMAPClient 4.1 deliberately not called, and why:

- ``xlist_folders``: XLIST is Gmail's deprecated LIST variant; cpmstore offers
  SPECIAL-USE (RFC 6154) instead, which ``find_special_folder`` reads.
- ``gmail_search``, ``get_gmail_labels``, ``add_gmail_labels``,
  ``remove_gmail_labels``, ``set_gmail_labels``: Gmail's X-GM-EXT-1
  (X-GM-RAW, X-GM-LABELS), no standard command.
- ``oauth2_login``, ``oauthbearer_login``: cpmstore offers only AUTH=PLAIN
  (no XOAUTH2, no OAUTHBEARER mechanism).
- ``set_quota``: SETQUOTA is not offered (no QUOTASET, RFC 9208 §4.1.3): the
  limits come from the configuration.
- ``socket``, ``shutdown``, ``welcome`` send no command (``welcome`` is read
  below as the greeting).
- IMAPClient 4.1 has no ``undelete_messages``: ``remove_flags`` with
  ``\\Deleted`` does it and is tested.
"""

from __future__ import annotations

import datetime
import ssl
from email.header import Header

import pytest
import pytest_twisted
from conftest import in_thread
from imapclient import DELETED, FLAGGED, SEEN, IMAPClient
from imapclient.imapclient import DRAFTS, JUNK, SENT
from imapclient.exceptions import CapabilityError, IMAPClientError, LoginError
from imapclient.response_types import Envelope
from transcript import LOGIN, run

from cpmstore.config import LimitsConfig, ListenerConfig

ANSWERED, RECENT = rb"\Answered", rb"\Recent"
PARIS = datetime.timezone(datetime.timedelta(hours=2))


def connect(server, user: str = "user1", **options) -> IMAPClient:
    client = IMAPClient("127.0.0.1", server.port, ssl=False, timeout=10, **options)
    client.login(user, "pass")
    return client


def message(subject: str, body: str = "hello", *, headers: str = "", charset: str = "us-ascii") -> bytes:
    """A small RFC 5322 message; a non-ASCII subject is RFC 2047 encoded."""
    encoded = Header(subject, "utf-8").encode() if not subject.isascii() else subject
    return (f"From: alice@example.com\r\nTo: bob@example.com\r\nSubject: {encoded}\r\n{headers}"
            f"Content-Type: text/plain; charset={charset}\r\n\r\n{body}\r\n").encode()


def flags_of(client: IMAPClient, uids: list[int]) -> dict[int, set[bytes]]:
    """FLAGS of each UID, without \\Recent: a session-level flag (RFC 3501
    §2.3.2) that this session holds on every message it just appended."""
    return {uid: set(flags) - {RECENT} for uid, flags in client.get_flags(uids).items()}


def fill(client: IMAPClient, folder: str, *messages: tuple[bytes, tuple[bytes, ...]]) -> None:
    client.create_folder(folder)
    for data, flags in messages:
        client.append(folder, data, flags=flags)


# -- connection, capabilities, authentication ------------------------------

@pytest_twisted.ensureDeferred
async def test_rfc3501_6_1_capabilities_id_noop_logout(server):
    def scenario():
        client = IMAPClient("127.0.0.1", server.port, ssl=False, timeout=10)
        assert client.welcome.startswith(b"* OK ")
        before = client.capabilities()
        assert b"IMAP4REV1" in before and b"AUTH=PLAIN" in before and b"NAMESPACE" not in before
        client.login("user1", "pass")
        # RFC 3501 §7.2.1: the list changes after login; IMAPClient asks again.
        after = client.capabilities()
        assert b"NAMESPACE" in after and b"MOVE" in after and b"AUTH=PLAIN" not in after
        assert client.has_capability("move") and client.has_capability("THREAD=REFERENCES")
        assert not client.has_capability("XLIST")
        with pytest.raises(CapabilityError):
            client.xlist_folders()
        # RFC 2971 §3.1: the server's own field-value pairs.
        fields = client.id_({"name": "IMAPClient", "version": "4.1"})
        pairs = dict(zip(fields[0][::2], fields[0][1::2]))
        assert pairs[b"name"] == b"cpmstore"
        assert client.id_() == fields
        text, responses = client.noop()
        assert text.startswith(b"NOOP") and responses == []
        # IMAPClient checks that LOGOUT ended with BYE (RFC 3501 §6.1.3) and returns its text.
        assert client.logout().startswith(b"Logging out")

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc4616_plain_login_sasl_login_and_failures(server):
    def scenario():
        for log_in in (lambda c: c.plain_login("user2", "pass"),
                       lambda c: c.sasl_login("PLAIN", lambda challenge: "\0user3\0pass"),
                       lambda c: c.login("user4", "pass")):
            client = IMAPClient("127.0.0.1", server.port, ssl=False, timeout=10)
            log_in(client)
            assert [name for _flags, _sep, name in client.list_folders()] == ["INBOX"]
            client.logout()
        for log_in in (lambda c: c.plain_login("user2", "wrong"), lambda c: c.login("user2", "wrong"),
                       lambda c: c.sasl_login("PLAIN", lambda challenge: "\0nobody\0pass")):
            client = IMAPClient("127.0.0.1", server.port, ssl=False, timeout=10)
            with pytest.raises(LoginError):
                log_in(client)
            client.logout()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_2_1_starttls(start, tls_files):
    server = await start(listeners=(ListenerConfig("tcp:0:interface=127.0.0.1", "starttls", False),),
                         tls=tls_files)

    def scenario():
        client = IMAPClient("127.0.0.1", server.port, ssl=False, timeout=10)
        assert b"STARTTLS" in client.capabilities() and b"LOGINDISABLED" in client.capabilities()
        context = ssl.create_default_context(cafile=tls_files.certificate)
        context.check_hostname = False
        client.starttls(context)
        # RFC 3501 §6.2.1: capabilities are asked again after TLS; plaintext login is allowed now.
        assert b"STARTTLS" not in client.capabilities() and b"AUTH=PLAIN" in client.capabilities()
        client.login("user1", "pass")
        assert client.select_folder("INBOX")[b"EXISTS"] == 0
        client.logout()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc2342_namespace_and_rfc5161_enable(server):
    def scenario():
        client = connect(server)
        namespace = client.namespace()
        assert namespace.personal == (("", "/"),)
        assert namespace.other == (("Other Users/", "/"),)
        assert namespace.shared is None
        other = connect(server)
        other.append("INBOX", message("one"))
        other.select_folder("INBOX")

        def flag_change_seen_by(client: IMAPClient) -> dict[bytes, object]:
            """What ``client`` is told when another session changes message 1's flags."""
            client.select_folder("INBOX")
            other.add_flags([1], [FLAGGED if FLAGGED not in other.get_flags([1])[1] else SEEN], silent=True)
            [(_number, _fetch, items)] = [r for r in client.noop()[1] if r[1:2] == (b"FETCH",)]
            client.unselect_folder()  # back to the authenticated state, where ENABLE is allowed
            return dict(zip(items[::2], items[1::2]))

        # Before ENABLE, another session's flag change comes as FLAGS alone.
        assert b"MODSEQ" not in flag_change_seen_by(client)
        # RFC 5161 §3.1: only what the server knows is echoed in ENABLED.
        assert client.enable("CONDSTORE", "X-UNKNOWN") == [b"CONDSTORE"]
        # RFC 7162 §3.1: from now on every untagged FETCH of a change caused by
        # another agent carries MODSEQ. (The same paragraph asks for UID too;
        # neither cpmstore nor Dovecot 2.3 sends it there.)
        assert flag_change_seen_by(client)[b"MODSEQ"][0] > 0
        assert client.enable("CONDSTORE") == []  # already on: nothing newly enabled
        client.logout()
        other.logout()

    await in_thread(scenario)


# -- folders ---------------------------------------------------------------

def _names(client: IMAPClient, pattern: str = "*") -> list[str]:
    return sorted(name for _flags, _sep, name in client.list_folders("", pattern))


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_3_folders_create_rename_delete_list_status(server):
    def scenario():
        client = connect(server)
        client.create_folder("Chats")
        # Non-ASCII names: IMAPClient sends modified UTF-7 (RFC 3501 §5.1.3) and decodes the LIST answer.
        client.create_folder("Été/日本")
        assert _names(client) == ["Chats", "INBOX", "Été", "Été/日本"]
        assert _names(client, "Été/%") == ["Été/日本"]
        flags = {name: set(flags) for flags, _sep, name in client.list_folders()}
        assert b"\\HasChildren" in flags["Été"] and b"\\HasNoChildren" in flags["Été/日本"]
        assert client.list_folders("", "Chats")[0][1] == b"/"
        raw = IMAPClient("127.0.0.1", server.port, ssl=False, timeout=10)
        raw.folder_encode = False
        raw.login("user1", "pass")
        assert sorted(name for _f, _s, name in raw.list_folders("", "&AMk-t&AOk-*")) == \
            [b"&AMk-t&AOk-", b"&AMk-t&AOk-/&ZeVnLA-"]
        raw.logout()
        assert client.folder_exists("Été/日本") and not client.folder_exists("Nowhere")
        with pytest.raises(IMAPClientError):
            client.create_folder("Chats")

        client.append("Chats", message("kept"), flags=[SEEN])
        client.append("Chats", message("new"))
        status = client.folder_status("Chats")
        assert status == {b"MESSAGES": 2, b"RECENT": 2, b"UIDNEXT": 3, b"UIDVALIDITY": status[b"UIDVALIDITY"],
                          b"UNSEEN": 1}
        assert set(client.folder_status("Chats", ["MESSAGES", "HIGHESTMODSEQ", "SIZE"])) == \
            {b"MESSAGES", b"HIGHESTMODSEQ", b"SIZE"}

        # RENAME keeps the messages and UIDVALIDITY, and moves the subtree (RFC 3501 §6.3.5).
        client.rename_folder("Chats", "Talks")
        client.rename_folder("Été", "Sommer")
        assert _names(client) == ["INBOX", "Sommer", "Sommer/日本", "Talks"]
        moved = client.folder_status("Talks")
        assert (moved[b"MESSAGES"], moved[b"UIDVALIDITY"]) == (2, status[b"UIDVALIDITY"])
        client.delete_folder("Talks")
        client.delete_folder("Sommer/日本")
        assert _names(client) == ["INBOX", "Sommer"]
        with pytest.raises(IMAPClientError):
            client.delete_folder("Talks")
        client.logout()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_3_6_subscribe_unsubscribe_lsub(server):
    def scenario():
        client = connect(server)
        client.create_folder("Chats")
        client.create_folder("Été")
        client.subscribe_folder("Chats")
        client.subscribe_folder("Été")
        subscribed = {name for _flags, _sep, name in client.list_sub_folders()}
        assert {"Chats", "Été"} <= subscribed
        client.unsubscribe_folder("Chats")
        subscribed = {name for _flags, _sep, name in client.list_sub_folders()}
        assert "Chats" not in subscribed and "Été" in subscribed
        assert [name for _f, _s, name in client.list_sub_folders("", "É*")] == ["Été"]
        client.logout()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc6154_find_special_folder(server):
    def scenario():
        # A special-use attribute given at CREATE (RFC 6154 §3); IMAPClient finds it by that attribute.
        run(server.port, LOGIN + """
            C: a1 CREATE "Sent Mail" (USE (\\Sent))
            S: a1 OK ...
        """)
        client = connect(server)
        assert client.find_special_folder(SENT) == "Sent Mail"
        # No attribute: IMAPClient falls back to the usual names in the personal namespace.
        assert client.find_special_folder(DRAFTS) is None
        client.create_folder("Drafts")
        assert client.find_special_folder(DRAFTS) == "Drafts"
        assert client.find_special_folder(JUNK) is None
        client.logout()

    await in_thread(scenario)


# -- selecting -------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_rfc3501_6_3_1_select_examine_unselect_close(server):
    def scenario():
        client = connect(server)
        fill(client, "Box", (message("a"), ()), (message("b"), (SEEN,)), (message("c"), (DELETED,)))
        selected = client.select_folder("Box")
        assert (selected[b"EXISTS"], selected[b"RECENT"], selected[b"UIDNEXT"]) == (3, 3, 4)
        assert selected[b"READ-WRITE"] is True and selected[b"UIDVALIDITY"] > 0
        assert {SEEN, DELETED, FLAGGED} <= set(selected[b"FLAGS"])
        assert b"\\*" in selected[b"PERMANENTFLAGS"]

        # UNSELECT leaves \Deleted messages alone (RFC 3691 §2).
        client.unselect_folder()
        assert client.folder_status("Box", ["MESSAGES"]) == {b"MESSAGES": 3}
        with pytest.raises(IMAPClientError):
            client.search()  # no folder is selected any more

        # EXAMINE: read-only (RFC 3501 §6.3.2), no \Recent taken, STORE refused.
        examined = client.select_folder("Box", readonly=True)
        assert b"READ-ONLY" in examined and b"READ-WRITE" not in examined
        assert examined[b"EXISTS"] == 3
        with pytest.raises(IMAPClientError):
            client.add_flags(client.search(), [FLAGGED])
        assert client.search(["FLAGGED"]) == []
        # CLOSE of a read-only folder expunges nothing (RFC 3501 §6.4.2).
        client.close_folder()
        assert client.folder_status("Box", ["MESSAGES"]) == {b"MESSAGES": 3}

        client.select_folder("Box")
        client.close_folder()
        assert client.folder_status("Box", ["MESSAGES"]) == {b"MESSAGES": 2}
        client.logout()

    await in_thread(scenario)


# -- appending -------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_rfc3502_append_and_multiappend(server):
    def scenario():
        client = connect(server)
        client.create_folder("Box")
        when = datetime.datetime(2024, 5, 17, 9, 30, 5, tzinfo=PARIS)
        answer = client.append("Box", message("dated"), flags=[SEEN, b"$CPMRead"], msg_time=when)
        # RFC 4315 §3: APPENDUID uidvalidity uid.
        assert answer.startswith(b"[APPENDUID ") and answer.split(b"]")[0].endswith(b" 1")
        typ, data = client.multiappend("Box", [
            message("plain"),
            {"msg": message("flagged"), "flags": [FLAGGED], "date": when},
        ])
        assert typ == "OK" and b" 2:3]" in data[0], data

        client.select_folder("Box")
        assert flags_of(client, [1, 2, 3]) == {1: {SEEN, b"$CPMRead"}, 2: set(), 3: {FLAGGED}}
        client.normalise_times = False  # the date as the server keeps it, with its zone
        items = client.fetch([1, 2, 3], ["INTERNALDATE", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
        assert items[1][b"INTERNALDATE"] == when and items[3][b"INTERNALDATE"] == when
        assert [items[uid][b"BODY[HEADER.FIELDS (SUBJECT)]"] for uid in (1, 2, 3)] == \
            [b"Subject: dated\r\n\r\n", b"Subject: plain\r\n\r\n", b"Subject: flagged\r\n\r\n"]
        with pytest.raises(IMAPClientError):
            client.append("Nowhere", message("lost"))
        client.logout()

    await in_thread(scenario)


# -- searching, sorting, threading -----------------------------------------

def _search_folder(client: IMAPClient) -> None:
    """Five messages arriving on 1 to 5 January 2024 (INTERNALDATE), so that
    ARRIVAL order and SINCE/BEFORE do not depend on the clock."""
    client.create_folder("Box")
    for day, (data, flags) in enumerate([
            (message("apple pie", "short"), (SEEN,)),
            (message("Banana", "a longer body " * 20), (FLAGGED,)),
            (message("café crème", "déjà vu 日本", charset="utf-8"), ()),
            (message("cherry", "short", headers="Message-ID: <c@x>\r\n"), (SEEN, FLAGGED)),
            (message("Re: cherry", "reply", headers="Message-ID: <r@x>\r\nIn-Reply-To: <c@x>\r\n"
                     "References: <c@x>\r\n"), ())], start=1):
        client.append("Box", data, flags=flags, msg_time=datetime.datetime(2024, 1, day, 12, tzinfo=PARIS))
    client.select_folder("Box")


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_4_4_search_criteria_and_charset(server):
    def scenario():
        client = connect(server)
        _search_folder(client)
        assert client.search() == [1, 2, 3, 4, 5]
        assert client.search("UNSEEN") == [2, 3, 5]
        assert client.search(["SEEN", "FLAGGED"]) == [4]
        assert client.search(["NOT", ["FLAGGED"]]) == [1, 3, 5]
        assert client.search(["OR", "SEEN", ["SUBJECT", "banana"]]) == [1, 2, 4]
        assert client.search(["SUBJECT", "cherry"]) == [4, 5]
        assert client.search(["LARGER", 300]) == [2]
        assert client.search(["SINCE", datetime.date(2024, 1, 3)]) == [3, 4, 5]
        assert client.search(["BEFORE", datetime.date(2024, 1, 2)]) == [1]
        assert client.search(["ON", datetime.date(2024, 1, 4)]) == [4]
        assert client.search(["HEADER", "In-Reply-To", "<c@x>"]) == [5]
        # RFC 3501 §6.4.4 CHARSET: UTF-8 criteria against an RFC 2047 subject and a UTF-8 body.
        assert client.search(["SUBJECT", "café"], charset="UTF-8") == [3]
        assert client.search(["BODY", "日本"], charset="UTF-8") == [3]
        assert client.search(["TEXT", "déjà"], "UTF-8") == [3]
        # Bytes go out as they are; an unknown charset is NO [BADCHARSET] (RFC 3501 §6.4.4).
        with pytest.raises(IMAPClientError, match="BADCHARSET"):
            client.search([b"SUBJECT", b"x"], charset="X-NO-SUCH-CHARSET")
        # A sequence-number client gets message numbers (RFC 3501 §6.4.4 vs §6.4.8).
        client.delete_messages([1])
        client.expunge()
        numbers = connect(server, use_uid=False)
        numbers.select_folder("Box")
        assert numbers.search(["SUBJECT", "cherry"]) == [3, 4]
        assert client.search(["SUBJECT", "cherry"]) == [4, 5]
        numbers.logout()
        client.logout()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc7162_3_1_5_search_modseq(server):
    def scenario():
        client = connect(server)
        _search_folder(client)
        before = client.folder_status("Box", ["HIGHESTMODSEQ"])[b"HIGHESTMODSEQ"]
        client.add_flags([2, 3], [ANSWERED])
        found = client.search(["MODSEQ", before + 1])
        assert found == [2, 3]
        # RFC 7162 §3.1.5: the highest MODSEQ of the messages found.
        assert found.modseq == client.folder_status("Box", ["HIGHESTMODSEQ"])[b"HIGHESTMODSEQ"]
        assert client.search("ALL").modseq is None
        client.logout()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5256_sort_and_thread(server):
    def scenario():
        client = connect(server)
        _search_folder(client)
        # RFC 5256 §2.1: base subjects ("Re: cherry" sorts as "cherry"), case-insensitive.
        assert client.sort("SUBJECT") == [1, 2, 3, 4, 5]
        assert client.sort(["REVERSE", "ARRIVAL"]) == [5, 4, 3, 2, 1]
        assert client.sort(["SIZE"], ["UNSEEN"])[-1] == 2
        assert client.sort("SUBJECT", ["SUBJECT", "café"], charset="UTF-8") == [3]
        assert client.thread() == ((1,), (2,), (3,), (4, 5))
        assert client.thread("ORDEREDSUBJECT") == ((1,), (2,), (3,), (4, 5))
        assert client.thread("REFS", ["FLAGGED"]) == ((2,), (4,))
        with pytest.raises(CapabilityError):
            client.thread("X-NO-SUCH")
        client.logout()

    await in_thread(scenario)


# -- fetching --------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_rfc3501_6_4_5_fetch_items(server):
    def scenario():
        client = connect(server)
        data = message("hello there", "the body text")
        fill(client, "Box", (data, ()))
        client.select_folder("Box")
        items = client.fetch([1], ["UID", "FLAGS", "RFC822.SIZE", "INTERNALDATE", "ENVELOPE", "BODYSTRUCTURE",
                                   "BODY.PEEK[HEADER.FIELDS (SUBJECT)]", "BODY.PEEK[]<0.10>"])[1]
        # IMAPClient keys the answer by UID and keeps the message number as SEQ.
        assert items[b"SEQ"] == 1 and items[b"RFC822.SIZE"] == len(data)
        assert isinstance(items[b"INTERNALDATE"], datetime.datetime)
        envelope = items[b"ENVELOPE"]
        assert isinstance(envelope, Envelope) and envelope.subject == b"hello there"
        assert envelope.from_[0].mailbox == b"alice" and envelope.to[0].host == b"example.com"
        assert [part.lower() for part in items[b"BODYSTRUCTURE"][:2]] == [b"text", b"plain"]
        assert items[b"BODY[HEADER.FIELDS (SUBJECT)]"] == b"Subject: hello there\r\n\r\n"
        assert items[b"BODY[]<0>"] == data[:10]
        # BODY.PEEK left \Seen alone; BODY[TEXT] sets it (RFC 3501 §6.4.5).
        assert flags_of(client, [1]) == {1: set()}
        text = client.fetch([1], ["BODY[TEXT]"])[1]
        assert text[b"BODY[TEXT]"] == b"the body text\r\n"
        assert flags_of(client, [1]) == {1: {SEEN}}
        assert client.fetch([1], ["RFC822"])[1][b"RFC822"] == data
        assert client.fetch([1], ["BINARY.PEEK[1]"])[1][b"BINARY[1]"] == b"the body text\r\n"
        assert client.fetch([99], ["FLAGS"]) == {}
        client.logout()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc7162_3_1_4_fetch_modseq_changedsince(server):
    def scenario():
        client = connect(server)
        fill(client, "Box", (message("a"), ()), (message("b"), ()), (message("c"), ()))
        client.select_folder("Box")
        modseqs = {uid: item[b"MODSEQ"][0] for uid, item in client.fetch([1, 2, 3], ["MODSEQ"]).items()}
        since = max(modseqs.values())
        client.add_flags([2], [FLAGGED])
        changed = client.fetch([1, 2, 3], ["FLAGS"], ["CHANGEDSINCE %d" % since])
        assert list(changed) == [2]
        assert set(changed[2][b"FLAGS"]) - {RECENT} == {FLAGGED} and changed[2][b"MODSEQ"][0] > since
        assert client.fetch([1, 2, 3], ["FLAGS"], ["CHANGEDSINCE %d" % changed[2][b"MODSEQ"][0]]) == {}
        client.logout()

    await in_thread(scenario)


# -- flags -----------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_rfc3501_6_4_6_get_add_remove_set_flags(server):
    def scenario():
        client = connect(server)
        fill(client, "Box", (message("a"), ()), (message("b"), (SEEN,)))
        client.select_folder("Box")
        # Each STORE answers with the message's new FLAGS (RFC 3501 §6.4.6).
        added = client.add_flags([1, 2], [FLAGGED, b"$CPMRead"])
        assert {uid: set(f) - {RECENT} for uid, f in added.items()} == {
            1: {FLAGGED, b"$CPMRead"}, 2: {SEEN, FLAGGED, b"$CPMRead"}}
        assert flags_of(client, [1, 2]) == {1: {FLAGGED, b"$CPMRead"}, 2: {SEEN, FLAGGED, b"$CPMRead"}}
        assert set(client.remove_flags([2], [SEEN, b"$CPMRead"])[2]) - {RECENT} == {FLAGGED}
        assert set(client.set_flags([1], [ANSWERED, b"\\read-report-sent"])[1]) - {RECENT} == \
            {ANSWERED, b"\\read-report-sent"}
        # .SILENT: no FETCH back (RFC 3501 §6.4.6), the change is still made.
        assert client.add_flags([1], [SEEN], silent=True) is None
        assert client.remove_flags([1], [ANSWERED], silent=True) is None
        assert client.set_flags([2], [b"$Done"], silent=True) is None
        assert flags_of(client, [1, 2]) == {1: {SEEN, b"\\read-report-sent"}, 2: {b"$Done"}}
        # A flag cpmstore may not set: \Recent (RFC 3501 §2.3.2).
        with pytest.raises(IMAPClientError):
            client.add_flags([1], [rb"\Recent"])
        client.logout()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_4_3_delete_undelete_expunge_uid_expunge(server):
    def scenario():
        client = connect(server)
        fill(client, "Box", *((message(str(n)), ()) for n in range(1, 7)))
        client.select_folder("Box")
        assert set(client.delete_messages([1, 2, 3])[1]) - {RECENT} == {DELETED}
        assert client.delete_messages([4, 5], silent=True) is None
        assert client.search(["DELETED"]) == [1, 2, 3, 4, 5]
        # No undelete_messages in IMAPClient 4.1: remove_flags does it.
        client.remove_flags([3], [DELETED])
        # UID EXPUNGE removes only the given \Deleted UIDs (RFC 4315 §2.1).
        client.uid_expunge([2])
        assert client.search() == [1, 3, 4, 5, 6]
        assert client.expunge([4]) is not None
        assert client.search() == [1, 3, 5, 6]
        text, responses = client.expunge()
        # UIDs 1, 3, 5, 6 are numbers 1 to 4; each EXPUNGE renumbers the ones
        # after it (RFC 3501 §7.4.1), in whichever order the server sends them.
        numbers = [1, 3, 5, 6]
        for number, kind in (r for r in responses if r[1] == b"EXPUNGE"):
            del numbers[number - 1]
        assert text.startswith(b"Expunge") and numbers == [3, 6]
        assert client.search() == [3, 6]
        assert client.folder_status("Box", ["MESSAGES"]) == {b"MESSAGES": 2}
        client.logout()

    await in_thread(scenario)


# -- copy and move ---------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_rfc4315_copy_and_rfc6851_move(server):
    def scenario():
        client = connect(server)
        fill(client, "Source", (message("a"), (SEEN,)), (message("b"), (FLAGGED, b"$CPMRead")),
             (message("c"), ()))
        client.create_folder("Été")
        client.select_folder("Source")
        # (IMAPClient returns None for UID COPY / UID MOVE: imaplib finds no untagged COPY.)
        client.copy([1, 2], "Été")
        assert client.search() == [1, 2, 3]
        client.move([2, 3], "Été")
        assert client.search() == [1]

        client.select_folder("Été", readonly=True)
        items = client.fetch(client.search(), ["FLAGS", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
        moved = sorted((item[b"BODY[HEADER.FIELDS (SUBJECT)]"], set(item[b"FLAGS"]) - {rb"\Recent"})
                       for item in items.values())
        assert moved == [(b"Subject: a\r\n\r\n", {SEEN}), (b"Subject: b\r\n\r\n", {FLAGGED, b"$CPMRead"}),
                         (b"Subject: b\r\n\r\n", {FLAGGED, b"$CPMRead"}), (b"Subject: c\r\n\r\n", set())]
        with pytest.raises(IMAPClientError):
            client.copy([1], "Nowhere")
        client.logout()

    await in_thread(scenario)


# -- idle ------------------------------------------------------------------

def _idle_until(client: IMAPClient, wanted, seen: list) -> None:
    """IDLE responses come when the server sends them: read until one matches."""
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=5)
    while not any(wanted(response) for response in seen):
        assert datetime.datetime.now() < deadline, seen
        seen += client.idle_check(timeout=1)


@pytest_twisted.ensureDeferred
async def test_rfc2177_idle_check_done(server):
    def scenario():
        watcher, writer = connect(server), connect(server)
        fill(writer, "Box", (message("a"), ()))
        watcher.select_folder("Box")
        watcher.idle()
        assert watcher.idle_check(timeout=0.2) == []  # nothing has happened yet
        seen: list = []
        # Each change by the other session reaches the idling one unasked (RFC 2177 §3).
        writer.append("Box", message("b"))
        _idle_until(watcher, lambda r: r == (2, b"EXISTS"), seen)
        writer.select_folder("Box")
        writer.add_flags([1], [FLAGGED])
        _idle_until(watcher, lambda r: r[:2] == (1, b"FETCH") and FLAGGED in dict(zip(r[2][::2], r[2][1::2]))[b"FLAGS"],
                    seen)
        writer.delete_messages([2])
        writer.expunge()
        _idle_until(watcher, lambda r: r == (2, b"EXPUNGE"), seen)
        watcher.idle_done()
        # Out of IDLE the session takes commands again, and its view has the changes.
        assert watcher.search() == [1] and flags_of(watcher, [1]) == {1: {FLAGGED}}
        watcher.logout()
        writer.logout()

    await in_thread(scenario)


# -- ACL -------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_rfc4314_getacl_setacl(server):
    def scenario():
        owner = connect(server)
        fill(owner, "Shared", (message("for you"), ()))
        acl = dict(owner.getacl("Shared"))
        assert set(acl) == {b"user1"} and set(acl[b"user1"]) >= set(b"lrswipkxtea")
        assert owner.setacl("Shared", "user2", "lr").startswith(b"Setacl")
        assert dict(owner.getacl("Shared"))[b"user2"] == b"lr"

        # The grantee reads it through the other users' namespace (RFC 4314 §4, RFC 2342).
        other = connect(server, "user2")
        assert [name for _f, _s, name in other.list_folders("Other Users/", "*")] == \
            ["Other Users/user1", "Other Users/user1/Shared"]
        other.select_folder("Other Users/user1/Shared", readonly=True)
        assert other.fetch([1], ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])[1][b"BODY[HEADER.FIELDS (SUBJECT)]"] == \
            b"Subject: for you\r\n\r\n"
        with pytest.raises(IMAPClientError):
            other.append("Other Users/user1/Shared", message("no i right"))
        other.logout()

        # An empty rights string (RFC 4314 §3.1) removes the entry. IMAPClient's
        # documented setacl(..., "") sends no argument at all (BAD on any server):
        # the empty string must be given quoted.
        owner.setacl("Shared", "user2", '""')
        assert set(dict(owner.getacl("Shared"))) == {b"user1"}
        other = connect(server, "user2")
        assert other.list_folders("Other Users/", "*") == []
        other.logout()
        owner.logout()

    await in_thread(scenario)


# -- quota -----------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_rfc9208_get_quota_root_and_get_quota(start):
    server = await start(limits=LimitsConfig(login_failure_delay=0.0, quota_storage_bytes=10240, quota_messages=5))

    def scenario():
        client = connect(server)
        data = message("a")
        data += b"x" * (2048 - len(data))  # exactly 2 KiB: no rounding question
        fill(client, "Box", (data, ()))
        roots, quotas = client.get_quota_root("Box")
        assert (roots.mailbox, roots.quota_roots) == ("Box", [""])
        assert sorted((q.quota_root, q.resource, q.usage, q.limit) for q in quotas) == \
            [("", "MESSAGE", 1, 5), ("", "STORAGE", 2, 10)]
        assert sorted((q.resource, q.usage) for q in client.get_quota("INBOX")) == [("MESSAGE", 1), ("STORAGE", 2)]
        # GETQUOTA on the root itself (RFC 9208 §4.1.1), IMAPClient's low-level call.
        assert sorted((q.resource, q.usage) for q in client._get_quota("")) == [("MESSAGE", 1), ("STORAGE", 2)]
        client.logout()

    await in_thread(scenario)
