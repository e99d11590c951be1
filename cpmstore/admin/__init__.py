"""``cpmstore-admin``: users, folders, messages and live sessions from the command line (DESIGN §7).

This package owns the operator's commands. This module parses the command
line and prints; it reads the same configuration as the server (``--config
FILE``, or the embedded default).

- ``user``: the users file; a running server notices changes by itself.
- ``mailbox``, ``expunge``, ``export``, ``import``: a user's store. When the
  server's control socket answers, the running server does the work
  (``server.control``), through its own store, so connected devices hear of
  it; otherwise this program opens the store itself, holding the data
  directory's ``server.lock`` so that no server can start meanwhile. If the
  lock is held but the socket does not answer, it refuses rather than write
  behind a server's back. The work itself is ``admin.operations`` (and
  ``admin.maildirs`` for the Maildir tree), the same code in both places.
- ``index rebuild`` and ``import dovecot-maildir``: only with the server
  stopped (they need the lock). ``index check`` only reads.
- ``who``, ``kick``: the running server's sessions, through the control socket.

Exit status: 0 done, 1 the command failed (user exists, no such user or
folder, server not running for who/kick, running for index rebuild, ...), 2
bad usage or configuration.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import date
from typing import Any, Sequence

from ..auth.passwd import DEFAULT_SCHEME, SCHEMES, PasswdFile, check_user_name
from ..config import Config, ConfigError, load_config

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class Failed(Exception):
    """The command could not be done; the message says why (exit status 1)."""


def user_dir(config: Config, user: str) -> str:
    """Where the store keeps ``user``'s index and mail (DESIGN §4)."""
    from ..store.store import user_dir_name

    return os.path.join(config.server.data_dir, "users", user_dir_name(user))


# -- users ----------------------------------------------------------------------------------

def _read_password(args: argparse.Namespace) -> str:
    if args.password is not None:
        return args.password
    if not sys.stdin.isatty():
        # Scripts pipe the password in: one line, without its line break.
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"Password for {args.name}: ")
        if getpass.getpass("Again: ") != password:
            raise Failed("passwords do not match")
    if not password:
        raise Failed("empty password")
    return password


def _user_add(config: Config, args: argparse.Namespace) -> None:
    try:
        check_user_name(args.name)
    except ValueError as e:
        raise Failed(str(e)) from None
    users = PasswdFile.load(config.server.users_file)
    if users.get(args.name) is not None:
        raise Failed(f"user {args.name} already exists (use 'user passwd' to change the password)")
    _set_password(users, args)
    print(f"user {args.name} added")


def _user_passwd(config: Config, args: argparse.Namespace) -> None:
    users = PasswdFile.load(config.server.users_file)
    if users.get(args.name) is None:
        raise Failed(f"no such user: {args.name}")
    _set_password(users, args)
    print(f"password of {args.name} changed")


def _set_password(users: PasswdFile, args: argparse.Namespace) -> None:
    try:
        users.set_password(args.name, _read_password(args), args.scheme)
    except ValueError as e:
        raise Failed(str(e)) from None
    users.save()


def _user_del(config: Config, args: argparse.Namespace) -> None:
    users = PasswdFile.load(config.server.users_file)
    if not users.remove(args.name):
        raise Failed(f"no such user: {args.name}")
    users.save()
    print(f"user {args.name} deleted (mail kept in {user_dir(config, args.name)})")


def _user_list(config: Config, args: argparse.Namespace) -> None:
    for entry in PasswdFile.load(config.server.users_file):
        print(entry.name)


def _known_user(config: Config, user: str) -> None:
    """Imports go to users of the users file only: a typo must not make a store."""
    if PasswdFile.load(config.server.users_file).get(user) is None:
        raise Failed(f"no such user: {user} (add it with 'user add {user}' first)")


# -- the data directory lock and the control socket ----------------------------------------

def _lock_offline(config: Config, why: str) -> Any:
    """``server.lock`` for work on a stopped server; Failed when a server holds it."""
    from ..server.control import LOCK_FILE, DataDirLock

    lock = DataDirLock.try_take(config.server.data_dir)
    if lock is None:
        raise Failed(f"a cpmstore server (or another cpmstore-admin) is using {config.server.data_dir} "
                     f"(it holds {LOCK_FILE}): {why}")
    return lock


def _server(config: Config, op: str, args: dict[str, Any]) -> tuple[bool, Any]:
    """(True, result) when the running server did ``op``; (False, None) when
    no server answers on the control socket."""
    from ..server.control import ControlError, NoServer, call

    path = config.server.control_socket
    if not path:
        return False, None
    try:
        return True, call(path, op, args)
    except NoServer:
        return False, None
    except ControlError as e:
        raise Failed(str(e)) from None


def _store_op(config: Config, op: str, **args: Any) -> Any:
    """Run one of ``admin.operations.OPERATIONS``: by the running server if
    its control socket answers, else here on the stopped server's store. A
    user of the users file without a store yet gets one, as at a first login."""
    from .operations import OPERATIONS, OperationFailed, run_offline

    args["create"] = PasswdFile.load(config.server.users_file).get(args["user"]) is not None
    done, result = _server(config, op, args)
    if done:
        return result
    socket_text = (f"its control socket {config.server.control_socket} does not answer"
                   if config.server.control_socket else "server.control_socket is disabled (\"\")")
    lock = _lock_offline(config, f"{socket_text}, and changing the store behind a running server is unsafe")
    try:
        return run_offline(config.server.data_dir, OPERATIONS[op], **args)
    except OperationFailed as e:
        raise Failed(str(e)) from None
    finally:
        lock.release()


def _control(config: Config, op: str, **args: Any) -> Any:
    """``op`` on the running server; Failed when none answers."""
    if not config.server.control_socket:
        raise Failed("server.control_socket is disabled (\"\"): no way to reach the server")
    done, result = _server(config, op, args)
    if not done:
        raise Failed(f"no cpmstore server answers on {config.server.control_socket}")
    return result


# -- mailbox, expunge, export, import ---------------------------------------------------------

def _table(headers: Sequence[str], rows: list[Sequence[Any]], right: set[int] = set()) -> None:
    """Columns aligned; numbers (the ``right`` columns) to the right."""
    cells = [list(headers)] + [["-" if v is None or v == "" else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        parts = [cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        print("  ".join(parts).rstrip())


def _mailbox_list(config: Config, args: argparse.Namespace) -> None:
    for folder in _store_op(config, "mailbox-list", user=args.user):
        print(folder["name"])


def _mailbox_status(config: Config, args: argparse.Namespace) -> None:
    rows = _store_op(config, "mailbox-status", user=args.user, name=args.name)
    _table(("MAILBOX", "MESSAGES", "UIDVALIDITY", "UIDNEXT", "HIGHESTMODSEQ", "SIZE"),
           [(r["name"], r["messages"], r["uidvalidity"], r["uidnext"], r["highestmodseq"], r["size"]) for r in rows],
           right={1, 2, 3, 4, 5})


def _mailbox_create(config: Config, args: argparse.Namespace) -> None:
    created = _store_op(config, "mailbox-create", user=args.user, name=args.name)
    print(f"mailbox {created['name']} of {args.user} created (UIDVALIDITY {created['uidvalidity']})")


def _mailbox_delete(config: Config, args: argparse.Namespace) -> None:
    _store_op(config, "mailbox-delete", user=args.user, name=args.name)
    print(f"mailbox {args.name} of {args.user} deleted")


def _iso_date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _expunge(config: Config, args: argparse.Namespace) -> None:
    done = _store_op(config, "expunge", user=args.user, mailbox=args.mailbox,
                     deleted=args.deleted, before=args.before)
    print(f"expunged {len(done['expunged'])} message(s) from {done['mailbox']} of {args.user}")


def _export(config: Config, args: argparse.Namespace) -> None:
    done = _store_op(config, "export", user=args.user, directory=os.path.abspath(args.dir))
    for line in done["lost"]:
        print(f"cpmstore-admin: {line}", file=sys.stderr)
    print(f"exported {done['messages']} message(s), {done['bytes']} bytes, "
          f"in {done['folders']} folder(s) of {args.user} to {os.path.abspath(args.dir)}")


def _import(config: Config, args: argparse.Namespace) -> None:
    words = args.words
    if words[0] == "dovecot-maildir":
        if len(words) != 3:
            args.parser.error("expected dovecot-maildir USER PATH")
        _import_dovecot(config, words[1], words[2])
        return
    if len(words) != 2:
        args.parser.error("expected USER DIR, or dovecot-maildir USER PATH")
    user, directory = words
    _known_user(config, user)
    done = _store_op(config, "import", user=user, directory=os.path.abspath(directory))
    for line in done["skipped"]:
        print(f"cpmstore-admin: {line}", file=sys.stderr)
    print(f"imported {done['messages']} message(s), {done['bytes']} bytes, "
          f"into {done['folders']} folder(s) of {user} from {os.path.abspath(directory)}")


def _import_dovecot(config: Config, user: str, source: str) -> None:
    _known_user(config, user)
    try:
        from ..store.dovecot_import import ImportRefused, import_dovecot_maildir
    except ImportError:
        raise Failed("import dovecot-maildir is not available in this installation") from None
    lock = _lock_offline(config, "stop the server first (import dovecot-maildir works on a stopped server only)")
    try:
        print(import_dovecot_maildir(user_dir(config, user), os.path.abspath(source)))
    except ImportRefused as e:
        raise Failed(str(e)) from None
    finally:
        lock.release()


# -- index ---------------------------------------------------------------------------------------

def _existing_user_dir(config: Config, user: str) -> str:
    path = user_dir(config, user)
    if not os.path.isdir(path):
        raise Failed(f"no data for user {user} in {path}")
    return path


def _index_check(config: Config, args: argparse.Namespace) -> None:
    path = _existing_user_dir(config, args.user)
    from ..store.rebuild import check_index

    problems = check_index(path)
    if problems:
        for problem in problems:
            print(problem)
        raise Failed(f"index of {args.user} has problems; 'index rebuild {args.user}' repairs it")
    print(f"index of {args.user} is consistent")


def _index_rebuild(config: Config, args: argparse.Namespace) -> None:
    path = _existing_user_dir(config, args.user)
    from ..store.rebuild import rebuild_index

    lock = _lock_offline(config, "stop the server first")
    try:
        print(rebuild_index(path))
    finally:
        lock.release()


# -- live sessions ------------------------------------------------------------------------------

def _who(config: Config, args: argparse.Namespace) -> None:
    rows = _control(config, "who")
    if args.user is not None:
        rows = [row for row in rows if row["user"] == args.user]
    _table(("USER", "REMOTE", "LISTENER", "MAILBOX", "STATE", "SINCE"),
           [(r["user"], r["remote"], r["listener"], r["mailbox"], r["state"], r["since"]) for r in rows])


def _kick(config: Config, args: argparse.Namespace) -> None:
    closed = _control(config, "kick", user=args.user)["closed"]
    if not closed:
        raise Failed(f"{args.user} has no sessions")
    print(f"closed {closed} session(s) of {args.user}")


# -- the command line ----------------------------------------------------------------------------

_ARG_HELP = {
    "name": "user name (the IMAP login)",
    "user": "user name (the IMAP login)",
}


def _command(commands: Any, name: str, handler: Any, text: str, *positional: str,
             details: str = "") -> argparse.ArgumentParser:
    description = text[0].upper() + text[1:] + "." + (" " + details if details else "")
    cmd = commands.add_parser(name, help=text, description=description, epilog=_EXIT_TEXT)
    for arg in positional:
        cmd.add_argument(arg, help=_ARG_HELP.get(arg))
    cmd.set_defaults(handler=handler, parser=cmd)
    return cmd


_EXIT_TEXT = "Exit status: 0 done, 1 the command failed, 2 bad usage or configuration."
_LIVE_TEXT = ("With the server running, the server itself does it (through its control socket), so "
              "connected devices are told; with the server stopped, cpmstore-admin does it on the store.")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cpmstore-admin",
        description="Manage cpmstore users, folders, messages and live sessions. Run it where the server "
                    "runs, as the server's user: without --config it uses the embedded default (data in "
                    "./cpmstore-data). A running server picks up user changes by itself, and does the "
                    "mailbox, expunge, export and import commands itself when its control socket "
                    "(server.control_socket) answers.",
        epilog=_EXIT_TEXT,
    )
    parser.add_argument("--config", metavar="FILE", help="TOML configuration file, as for 'twistd cpmstore --config'")
    areas = parser.add_subparsers(dest="area", required=True,
                                  metavar="{user,mailbox,index,expunge,export,import,who,kick}")

    user = areas.add_parser("user", help="add, change, delete or list users",
                            description="Users live in the users file (server.users_file).")
    user_cmds = user.add_subparsers(dest="command", required=True, metavar="{add,passwd,del,list}")
    for cmd in (
        _command(user_cmds, "add", _user_add,
                 "add a user (the password is asked for, or read from standard input)", "name"),
        _command(user_cmds, "passwd", _user_passwd, "set a user's password", "name"),
    ):
        cmd.add_argument("--password", metavar="P",
                         help="the password (visible to other local users in the process list; "
                              "prefer the prompt or standard input)")
        cmd.add_argument("--scheme", default=DEFAULT_SCHEME, choices=SCHEMES, type=str.upper,
                         help=f"password scheme (default: {DEFAULT_SCHEME}, Dovecot-compatible)")
    _command(user_cmds, "del", _user_del, "delete a user from the users file; their mail stays on disk", "name")
    _command(user_cmds, "list", _user_list, "list user names, one a line")

    mailbox = areas.add_parser("mailbox", help="list, show, create or delete a user's folders",
                               description="A user's folders. " + _LIVE_TEXT, epilog=_EXIT_TEXT)
    mailbox_cmds = mailbox.add_subparsers(dest="command", required=True, metavar="{list,status,create,delete}")
    _command(mailbox_cmds, "list", _mailbox_list, "list a user's folders, one a line", "user")
    status = _command(mailbox_cmds, "status", _mailbox_status,
                      "show MESSAGES, UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ and size in bytes of one "
                      "folder, or of every folder (a table)", "user")
    status.add_argument("name", nargs="?", help="the folder (default: every folder)")
    _command(mailbox_cmds, "create", _mailbox_create,
             "create a folder (and its missing parents)", "user").add_argument("name", help="the folder, '/' between levels")
    _command(mailbox_cmds, "delete", _mailbox_delete,
             "delete a folder and its messages (its subfolders stay)", "user").add_argument("name", help="the folder")

    index = areas.add_parser("index", help="check or rebuild a user's index",
                             description="Compare a user's index with the message files, or rebuild it from them.",
                             epilog=_EXIT_TEXT)
    index_cmds = index.add_subparsers(dest="command", required=True, metavar="{check,rebuild}")
    _command(index_cmds, "check", _index_check,
             "check that the index matches the message files (exit 1 if not)", "user")
    _command(index_cmds, "rebuild", _index_rebuild,
             "rebuild the index from the message files (stop the server first: refused while it runs)", "user")

    expunge = _command(areas, "expunge", _expunge,
                       "remove messages of one folder for good: those flagged \\Deleted, or those whose "
                       "INTERNALDATE is before a date", "user", details=_LIVE_TEXT)
    expunge.add_argument("mailbox", help="the folder")
    which = expunge.add_mutually_exclusive_group(required=True)
    which.add_argument("--deleted", action="store_true", help="the messages flagged \\Deleted")
    which.add_argument("--before", metavar="DATE", type=_iso_date,
                       help="the messages whose INTERNALDATE (its date, as IMAP's SEARCH BEFORE compares it) "
                            "is before DATE, given as YYYY-MM-DD")

    export = _command(areas, "export", _export,
                      "write a user's folders as a Maildir++ tree", "user",
                      details="INBOX in DIR, folder A/B in DIR/.A.B (each level in modified UTF-7, '.' and "
                              "'%' in a level as %2E and %25), flags in the file names (Maildir's ':2,' info), "
                              "keywords in each folder's dovecot-keywords (26 at most per folder), "
                              "INTERNALDATE as the file's mtime. Not kept: UIDs, MODSEQs, subscriptions, "
                              "ACLs, METADATA, annotations. DIR must be new or empty. " + _LIVE_TEXT
                              + " With the server running, the server's user writes DIR.")
    export.add_argument("dir", metavar="DIR", help="the directory to write (created if missing)")

    import_ = areas.add_parser(
        "import", help="add messages from a Maildir, or move a user in from Dovecot",
        usage="cpmstore-admin import [-h] USER DIR\n"
              "       cpmstore-admin import [-h] dovecot-maildir USER PATH",
        description="import USER DIR: append every message of the Maildir++ tree DIR (what export writes, or "
                    "any Maildir; INBOX in DIR, folder A/B in DIR/.A.B) to USER's folders of the same names, "
                    "keeping flags, keywords (dovecot-keywords) and INTERNALDATE (the file's mtime); missing "
                    "folders are created and messages get new UIDs. " + _LIVE_TEXT + " With the server "
                    "running, the server's user reads DIR.  "
                    "import dovecot-maildir USER PATH: move USER in from a Dovecot Maildir (LAYOUT=fs or "
                    "Maildir++), keeping every folder's UIDVALIDITY and every message's UID, flags and "
                    "keywords, so devices need no full resync; only with the server stopped.",
        epilog=_EXIT_TEXT)
    import_.add_argument("words", nargs="+", metavar="ARG", help="USER DIR, or dovecot-maildir USER PATH")
    import_.set_defaults(handler=_import, parser=import_)

    who = _command(areas, "who", _who,
                   "list the running server's logged-in sessions: user, remote address, listener, selected "
                   "folder, IDLE/NOTIFY state, connected since (UTC)")
    who.add_argument("user", nargs="?", help="only this user's sessions")
    _command(areas, "kick", _kick,
             "close every session of a user on the running server, each told '* BYE' first "
             "(exit 1 if the user has none)", "user")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as e:
        print(f"cpmstore-admin: configuration error: {e}", file=sys.stderr)
        return EXIT_USAGE
    try:
        args.handler(config, args)
    except (Failed, OSError) as e:
        print(f"cpmstore-admin: {e}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
