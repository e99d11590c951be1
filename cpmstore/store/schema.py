"""The per-user index schema and its migrations (DESIGN §4).

Owns the DDL of ``index.sqlite3``: folders, messages with their cached
derived data, expunged UIDs for ``VANISHED`` (RFC 7162 §3.2.10), the one
MODSEQ counter per user (RFC 7162 §3.1), subscriptions (RFC 3501 §6.3.6, names
that need not exist) and the tables later extensions fill (ACL RFC 4314,
METADATA RFC 5464, URLAUTH RFC 4467). It never touches message files.

A migration is appended to ``MIGRATIONS``, never edited once released:
``PRAGMA user_version`` says how many have run.
"""

from __future__ import annotations

import sqlite3

# Columns filled from the CPM headers (DESIGN §2), keyed by lower-case header name.
CPM_FIELDS: dict[str, str] = {
    "conversation-id": "conversation_id",
    "contribution-id": "contribution_id",
    "inreplyto-contribution-id": "inreplyto_contribution_id",
    "imdn-message-id": "imdn_message_id",
    "message-correlator": "message_correlator",
    "message-context": "message_context",
    "message-direction": "message_direction",
}

_V1 = """
CREATE TABLE mailboxes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,   -- never reused: it names the folder's directory
    name TEXT NOT NULL UNIQUE,
    uid_validity INTEGER NOT NULL,
    uid_next INTEGER NOT NULL DEFAULT 1,
    highest_modseq INTEGER NOT NULL DEFAULT 1,
    special_use TEXT
);
CREATE TABLE subscriptions (name TEXT PRIMARY KEY);
CREATE TABLE messages (
    mailbox_id INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    flags TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL,
    filename TEXT NOT NULL,
    internaldate TEXT NOT NULL,
    sent_date TEXT,
    conversation_id TEXT,
    contribution_id TEXT,
    inreplyto_contribution_id TEXT,
    imdn_message_id TEXT,
    message_correlator TEXT,
    message_context TEXT,
    message_direction TEXT,
    envelope BLOB,
    body BLOB,
    bodystructure BLOB,
    header BLOB,
    PRIMARY KEY (mailbox_id, uid)
);
-- Covers the bulk load of a folder's state without reading the cached blobs.
CREATE INDEX messages_state ON messages (mailbox_id, uid, modseq, flags, filename);
CREATE INDEX messages_conversation_id ON messages (mailbox_id, conversation_id);
CREATE INDEX messages_contribution_id ON messages (mailbox_id, contribution_id);
CREATE INDEX messages_inreplyto_contribution_id ON messages (mailbox_id, inreplyto_contribution_id);
CREATE INDEX messages_imdn_message_id ON messages (mailbox_id, imdn_message_id);
CREATE TABLE expunged (
    mailbox_id INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX expunged_modseq ON expunged (mailbox_id, modseq);
CREATE TABLE modseq (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO modseq (id, value) VALUES (1, 1);
CREATE TABLE settings (key TEXT PRIMARY KEY, value);
CREATE TABLE acl (
    mailbox_id INTEGER NOT NULL,
    identifier TEXT NOT NULL,
    rights TEXT NOT NULL,
    PRIMARY KEY (mailbox_id, identifier)
);
CREATE TABLE metadata (
    mailbox_id INTEGER NOT NULL,            -- 0 for server (account-wide) entries
    entry TEXT NOT NULL,
    value BLOB,
    PRIMARY KEY (mailbox_id, entry)
);
CREATE TABLE urlauth_keys (
    mailbox_id INTEGER PRIMARY KEY,
    key BLOB NOT NULL
);
"""

# METADATA (RFC 5464 §3.3): a /private entry belongs to one user, also on a
# folder shared with them, so the key gains that user ('' for /shared). The v1
# table was never written to.
_V2 = """
DROP TABLE metadata;
CREATE TABLE metadata (
    mailbox_id INTEGER NOT NULL,            -- 0 for server entries
    owner TEXT NOT NULL,                    -- the user of a /private entry, '' for /shared
    entry TEXT NOT NULL,                    -- lower case, e.g. /shared/comment
    value BLOB NOT NULL,
    PRIMARY KEY (mailbox_id, owner, entry)
);
"""

# Per-message annotations (RFC 5257): value.shared rows have owner '', a
# value.priv row belongs to one user.
_V3 = """
CREATE TABLE annotations (
    mailbox_id INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    owner TEXT NOT NULL,
    entry TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (mailbox_id, uid, owner, entry)
);
"""

# SAVEDATE (RFC 8514): when the message was saved into this folder (an APPEND,
# COPY or MOVE), NULL for rows written before this column existed. PREVIEW
# (RFC 8970): the preview text computed once at APPEND, NULL when not yet computed.
_V4 = """
ALTER TABLE messages ADD COLUMN savedate TEXT;
ALTER TABLE messages ADD COLUMN preview TEXT;
"""

# Retention of \Deleted messages ([cpm] expunge_deleted_after): when \Deleted
# was set on the message in this folder (UTC, ISO 8601 with microseconds, so
# text order is time order), NULL while it is not set. Messages already
# \Deleted when this migration runs count as deleted at the migration time.
_V5 = """
ALTER TABLE messages ADD COLUMN deleted_at TEXT;
UPDATE messages SET deleted_at = strftime('%Y-%m-%dT%H:%M:%S.000000+00:00', 'now')
    WHERE instr(' ' || flags || ' ', ' \\Deleted ') > 0;
CREATE INDEX messages_deleted_at ON messages (deleted_at) WHERE deleted_at IS NOT NULL;
"""

# The CPM object kind (cpm/kinds.py), classified once at APPEND; NULL for rows
# stored before this column existed.
_V6 = """
ALTER TABLE messages ADD COLUMN kind TEXT;
"""

# How far back a folder's expunge history reaches: every expunge with a MODSEQ
# above ``modseq`` is in ``expunged``; older ones may have been pruned
# (Index.prune_expunged). No row: the history is complete.
_V7 = """
CREATE TABLE expunge_floor (
    mailbox_id INTEGER PRIMARY KEY,
    modseq INTEGER NOT NULL
);
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4, _V5, _V6, _V7)


# Page cache per open index, in KiB (PRAGMA cache_size takes negative KiB).
INDEX_CACHE_KIB = 64


def connect(path: str) -> sqlite3.Connection:
    """Open (creating and migrating) the index at ``path``.

    Autocommit mode: every write is an explicit ``BEGIN IMMEDIATE`` ...
    ``COMMIT`` so that one operation is one transaction. The connection is used
    from pool threads, one at a time (the caller serializes per user).
    """
    # 32 cached statements instead of 128: the IN (?, ...) lists of every
    # length each prepare a statement, and a server holds one connection per
    # user, so the cache is memory times the number of users.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, cached_statements=32)
    conn.execute("PRAGMA journal_mode=WAL")
    # 64 KiB of page cache (SQLite's default is 2 MiB) for the same reason:
    # the OS page cache, shared by every user, is the cache that matters; a
    # big one per connection made a server with 100 busy users grow by 20 MiB
    # over an hour as each filled, and would cost GiBs with 10,000 users.
    conn.execute(f"PRAGMA cache_size=-{INDEX_CACHE_KIB}")
    # FULL: a commit that acknowledges an APPEND survives power loss.
    conn.execute("PRAGMA synchronous=FULL")
    migrate(conn)
    return conn


def migrate(conn: sqlite3.Connection) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for number in range(version, len(MIGRATIONS)):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(MIGRATIONS[number]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version={number + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def _statements(script: str) -> list[str]:
    # executescript() would COMMIT on its own; split so the migration stays one transaction.
    lines = [line.split("--")[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
