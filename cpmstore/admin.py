"""``cpmstore-admin``: users and indexes, from the command line (DESIGN §7).

This module owns the operator's commands: add, re-password, delete and list
users in the users file, and check or rebuild one user's index. It reads the
same configuration as the server (``--config FILE``, or the embedded
default), and never talks to a running server: the server notices a changed
users file by itself.

Exit status: 0 done, 1 the command failed (user exists, no such user, index
problems), 2 bad usage or configuration.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any, Sequence

from .auth.passwd import DEFAULT_SCHEME, SCHEMES, PasswdFile, check_user_name
from .config import Config, ConfigError, load_config

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class Failed(Exception):
    """The command could not be done; the message says why (exit status 1)."""


def user_dir(config: Config, user: str) -> str:
    """Where the store keeps ``user``'s index and mail (DESIGN §4)."""
    from .store.store import user_dir_name

    return os.path.join(config.server.data_dir, "users", user_dir_name(user))


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


def _existing_user_dir(config: Config, user: str) -> str:
    path = user_dir(config, user)
    if not os.path.isdir(path):
        raise Failed(f"no data for user {user} in {path}")
    return path


def _index_check(config: Config, args: argparse.Namespace) -> None:
    path = _existing_user_dir(config, args.user)
    from .store.rebuild import check_index

    problems = check_index(path)
    if problems:
        for problem in problems:
            print(problem)
        raise Failed(f"index of {args.user} has problems; 'index rebuild {args.user}' repairs it")
    print(f"index of {args.user} is consistent")


def _index_rebuild(config: Config, args: argparse.Namespace) -> None:
    path = _existing_user_dir(config, args.user)
    from .store.rebuild import rebuild_index

    print(rebuild_index(path))


def _command(commands: Any, name: str, handler: Any, text: str, *positional: str) -> argparse.ArgumentParser:
    cmd = commands.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
    for arg in positional:
        cmd.add_argument(arg, help="user name (the IMAP login)")
    cmd.set_defaults(handler=handler)
    return cmd


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cpmstore-admin",
        description="Manage cpmstore users and indexes. Run it where the server runs: "
                    "without --config it uses the embedded default (users in "
                    "./cpmstore-data/passwd). A running server picks up user changes by itself.",
        epilog="Exit status: 0 done, 1 the command failed, 2 bad usage or configuration.",
    )
    parser.add_argument("--config", metavar="FILE", help="TOML configuration file, as for 'twistd cpmstore --config'")
    areas = parser.add_subparsers(dest="area", required=True, metavar="{user,index}")

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

    index = areas.add_parser("index", help="check or rebuild a user's index",
                             description="Compare a user's index with the message files, or rebuild it from them.")
    index_cmds = index.add_subparsers(dest="command", required=True, metavar="{check,rebuild}")
    _command(index_cmds, "check", _index_check,
             "check that the index matches the message files (exit 1 if not)", "user")
    _command(index_cmds, "rebuild", _index_rebuild,
             "rebuild the index from the message files (stop the server first)", "user")
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


if __name__ == "__main__":
    sys.exit(main())
