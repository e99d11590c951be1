"""Configuration: a TOML file (``tomllib``) -> frozen dataclasses (DESIGN §7).

This module owns the names, types and defaults of every configuration key and
the checks that stop a start with a message naming the bad key. It never
opens sockets, touches the data directory or reads certificates: it only says
what the operator asked for. ``conf/cpmstore.toml`` documents every key and
must be kept in step with ``_SECTIONS`` below.

Relative paths are kept as written: they are relative to the directory the
server runs in (twistd's ``--rundir``, the current directory by default).
"""

from __future__ import annotations

import dataclasses
import os
import socket
import tomllib
import typing
from dataclasses import dataclass, field
from typing import Any, Sequence

from .errors import InvalidMailboxName
from .store.names import INBOX, normalize_name

__all__ = [
    "Config",
    "ConfigError",
    "CpmConfig",
    "LimitsConfig",
    "ListenerConfig",
    "LOG_FORMATS",
    "LoggingConfig",
    "MetricsConfig",
    "ServerConfig",
    "TLSConfig",
    "TLS_MODES",
    "DEFAULT_CONTROL_SOCKET",
    "DEFAULT_DATA_DIR",
    "DEFAULT_ENDPOINT",
    "default_config",
    "load_config",
    "make_config",
    "parse_duration",
]

TLS_MODES = ("none", "starttls", "implicit")
LOG_FORMATS = ("text", "json")
FSYNC_MODES = ("always", "optimized")
DEFAULT_DATA_DIR = "./cpmstore-data"
DEFAULT_ENDPOINT = "tcp:1143:interface=127.0.0.1"
DEFAULT_CONTROL_SOCKET = "<data_dir>/control.sock"
MAX_WORKERS = 64


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key at fault."""


@dataclass(frozen=True, slots=True)
class ServerConfig:
    data_dir: str = DEFAULT_DATA_DIR
    # Empty means "<data_dir>/passwd"; resolved by the loader so that code
    # reading a Config never has to know the rule.
    users_file: str = ""
    hostname: str = field(default_factory=socket.gethostname)
    create_demo_user: bool = False
    # Where other users' shared folders appear (RFC 2342 "other users"
    # namespace): "Other Users/alice/Chats". Dovecot's usual name is "shared".
    other_users_prefix: str = "Other Users"
    # Service accounts (the CPM Participating Function, interworking
    # functions) that may log in for another user with SASL PLAIN's authzid
    # (RFC 4616 §2). A TOML array; kept as a tuple so the config stays frozen.
    proxy_users: tuple[str, ...] = ()
    # The local control socket of cpmstore-admin (who, kick, changes to a
    # running server's store). DEFAULT_CONTROL_SOCKET means
    # "<data_dir>/control.sock", resolved by the loader; "" disables it.
    control_socket: str = DEFAULT_CONTROL_SOCKET
    # How often each changed user's index is copied to index.sqlite3.backup,
    # from which a lost or damaged index is restored; a duration like
    # [cpm] expunge_deleted_after; "" or "0" never (only at stop).
    index_backup_interval: str = "15m"
    # Expunges remembered per folder for QRESYNC's VANISHED (EARLIER), the
    # newest kept; older ones are forgotten at each index backup, so the
    # index does not grow forever. 0 keeps every one.
    expunge_history: int = 10000
    # How long a user's store stays open after the last use with none of the
    # user's sessions logged in and nobody listening to it; then it is closed
    # (index copied, memory freed) and opened again on the next use. A
    # duration; "" or "0" keeps every store open until the server stops.
    unload_idle_after: str = "10m"
    # Worker processes sharing the listeners, each user's account owned by
    # one of them (server.workers); 1 is one process and nothing else.
    workers: int = 1
    # With workers > 1: worker N runs on CPU N modulo the CPUs the server may
    # use (Linux), so that a worker's threads hand the GIL to each other on
    # one core instead of across cores (server/worker.py).
    pin_workers: bool = True
    # "always": every change is on disk before its OK. "optimized" (Dovecot's
    # mail_fsync default): messages still are; flag changes, expunges,
    # annotations, METADATA and subscriptions survive a crash of the server
    # but a power cut may undo the last of them (store/index.py).
    fsync: str = "always"

    @property
    def index_backup_interval_seconds(self) -> int:
        return parse_duration(self.index_backup_interval, "server.index_backup_interval")

    @property
    def unload_idle_after_seconds(self) -> int:
        return parse_duration(self.unload_idle_after, "server.unload_idle_after")


@dataclass(frozen=True, slots=True)
class ListenerConfig:
    endpoint: str = DEFAULT_ENDPOINT
    tls: str = "none"
    # Off unless the operator says so: plaintext passwords over a network
    # are refused with LOGINDISABLED (RFC 3501 §6.2.3, DESIGN §6).
    allow_plaintext_auth: bool = False


@dataclass(frozen=True, slots=True)
class TLSConfig:
    certificate: str
    # Empty means the key is in the certificate file (one PEM with both).
    private_key: str = ""
    # Off unless asked for: a configured certificate that is missing is
    # usually a deployment mistake, and a self-signed stand-in would have
    # every client ask its user to trust an unknown certificate.
    generate_self_signed: bool = False


@dataclass(frozen=True, slots=True)
class LimitsConfig:
    max_line_bytes: int = 65536
    max_literal_bytes: int = 67108864
    max_command_bytes: int = 268435456
    max_connections: int = 1000
    max_connections_per_user: int = 50
    login_failure_delay: float = 2.0
    # Against password guessing (auth.ratelimit): this many failed logins
    # from one address (an IPv6 /64) within the window, a duration like
    # "5m", and its next logins are refused unchecked until failures age
    # out; 0 (or a window of "0") is no limit.
    max_login_failures_per_ip: int = 10
    login_failure_window: str = "5m"
    idle_timeout: int = 1800
    # Seconds a connection may stay unauthenticated, busy or not: a client
    # dribbling bytes (slow loris) cannot hold a connection slot; 0 is no limit.
    login_timeout: int = 60
    max_sequence_ranges: int = 100000
    max_append_messages: int = 1000
    max_metadata_value_bytes: int = 65536
    max_metadata_entries: int = 256
    # Per-user quota (RFC 9208), over all of a user's folders; 0 is none.
    quota_storage_bytes: int = 0
    quota_messages: int = 0

    @property
    def login_failure_window_seconds(self) -> int:
        return parse_duration(self.login_failure_window, "limits.login_failure_window")


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, key: str) -> int:
    """Seconds in ``text``: a whole number and one unit, s, m, h or d ("30d",
    "12h", "90m", "45s"); "" or "0" (or any zero) is 0. ConfigError naming ``key``."""
    value = text.strip()
    if value in ("", "0"):
        return 0
    number, unit = value[:-1], value[-1:].lower()
    if unit not in _DURATION_UNITS or not number.isascii() or not number.isdigit():
        raise ConfigError(f"{key}: expected a duration like \"30d\", \"12h\", \"90m\" or \"45s\" "
                          f"(\"\" or \"0\" for never), got {text!r}")
    return int(number) * _DURATION_UNITS[unit]


@dataclass(frozen=True, slots=True)
class CpmConfig:
    # How long a message stays \Deleted before the server expunges it itself,
    # for clients that never EXPUNGE; "" or "0" is never.
    expunge_deleted_after: str = ""
    # Folders every user has, created at each login when missing (INBOX
    # always exists): "Default", where the network deposits conversation
    # objects, and "RCSMessageStore", the root of what the user keeps
    # (shared/cpm-formats.md §2.1). A TOML array; a tuple so the config stays frozen.
    system_folders: tuple[str, ...] = ("Default", "RCSMessageStore")

    @property
    def expunge_deleted_after_seconds(self) -> int:
        return parse_duration(self.expunge_deleted_after, "cpm.expunge_deleted_after")


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    # A strports description for the Prometheus endpoint (GET /metrics), or
    # "" for none. Off by default: it tells whoever reaches it who is using
    # the store and how much they keep.
    endpoint: str = ""
    # Users' store sizes are read at a scrape at most this often ("" or "0":
    # at every scrape); a duration like [cpm] expunge_deleted_after.
    store_size_interval: str = "60s"
    # Only the largest this many users get a series of their own (label
    # cardinality stays bounded); the totals cover everyone.
    store_size_users: int = 100

    @property
    def store_size_interval_seconds(self) -> int:
        return parse_duration(self.store_size_interval, "metrics.store_size_interval")


@dataclass(frozen=True, slots=True)
class LoggingConfig:
    # "text": twistd's usual lines; "json": one JSON object a line with the
    # structured fields (user, session, remote, command, result, duration).
    format: str = "text"
    # A file to append the log to; "" is twistd's own log target for "text"
    # and standard output for "json".
    file: str = ""


@dataclass(frozen=True, slots=True)
class Config:
    server: ServerConfig
    listeners: tuple[ListenerConfig, ...]
    tls: TLSConfig | None
    limits: LimitsConfig
    cpm: CpmConfig = CpmConfig()
    metrics: MetricsConfig = MetricsConfig()
    logging: LoggingConfig = LoggingConfig()


# The embedded default listener: plaintext, but only reachable from this
# machine, so plaintext passwords never cross a network (DESIGN §6).
_LOOPBACK_LISTENER = ListenerConfig(DEFAULT_ENDPOINT, "none", allow_plaintext_auth=True)

_TOML_TYPE_NAMES = {
    bool: "boolean",
    int: "integer",
    float: "float",
    str: "string",
    list: "array",
    dict: "table",
}


def _toml_type_name(value: object) -> str:
    for python_type, name in _TOML_TYPE_NAMES.items():
        if isinstance(value, python_type):
            return name
    return "date/time"


def _field_types(cls: type) -> dict[str, type]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _string_array(key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{key}: expected array of strings, got {_toml_type_name(value)}")
    for item in value:
        if not isinstance(item, str) or not item:
            raise ConfigError(f"{key}: expected array of non-empty strings, got an element {item!r}")
    return tuple(value)


def _folder_names(key: str, value: object) -> tuple[str, ...]:
    """Folder names a start may rely on: each valid (RFC 3501 §5.1, the
    store's rules), stored spelling, INBOX (always there) and repeats dropped."""
    names: list[str] = []
    for name in _string_array(key, value):
        try:
            stored = normalize_name(name)
        except InvalidMailboxName as e:
            raise ConfigError(f"{key}: {name!r} is not a folder name: {e}") from None
        if stored != INBOX and stored not in names:
            names.append(stored)
    return tuple(names)


def _check_value(key: str, expected: type, value: object) -> object:
    if typing.get_origin(expected) is tuple:
        return _string_array(key, value)
    # bool is an int subclass in Python but not in TOML: `max_connections =
    # true` is a mistake, not 1.
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ConfigError(f"{key}: expected {_TOML_TYPE_NAMES[expected]}, got {_toml_type_name(value)}")
    if expected in (int, float) and value < 0:
        raise ConfigError(f"{key}: must not be negative, got {value}")
    return value


def _section(cls: type, table: object, where: str) -> dict[str, Any]:
    """Check ``table`` against the fields of ``cls``; returns the given keys."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected table, got {_toml_type_name(table)}")
    types = _field_types(cls)
    values = {}
    for key, value in table.items():
        if key not in types:
            known = ", ".join(types)
            raise ConfigError(f"{where}.{key}: unknown key (known keys: {known})")
        values[key] = _check_value(f"{where}.{key}", types[key], value)
    return values


def _listener(table: object, where: str) -> ListenerConfig:
    values = _section(ListenerConfig, table, where)
    if not values.get("endpoint", DEFAULT_ENDPOINT).strip():
        raise ConfigError(f"{where}.endpoint: must not be empty")
    return ListenerConfig(**values)


def _tls(table: object) -> TLSConfig:
    values = _section(TLSConfig, table, "tls")
    if not values.get("certificate"):
        raise ConfigError("tls.certificate: required when [tls] is present")
    return TLSConfig(**values)


_SECTIONS = ("server", "listener", "tls", "limits", "cpm", "metrics", "logging")


def _from_document(document: dict[str, Any], *, embedded: bool = False) -> Config:
    for name in document:
        if name not in _SECTIONS:
            raise ConfigError(f"{name}: unknown section (known sections: {', '.join(_SECTIONS)})")
    server_values = _section(ServerConfig, document.get("server", {}), "server")
    if embedded:
        server_values.setdefault("create_demo_user", True)
    raw_listeners = document.get("listener")
    if raw_listeners is None:
        listeners: tuple[ListenerConfig, ...] = (_LOOPBACK_LISTENER,)
    elif not isinstance(raw_listeners, list):
        raise ConfigError(f"listener: expected array of tables ([[listener]]), got {_toml_type_name(raw_listeners)}")
    else:
        listeners = tuple(_listener(t, f"listener[{i}]") for i, t in enumerate(raw_listeners))
    tls = _tls(document["tls"]) if "tls" in document else None
    limits = LimitsConfig(**_section(LimitsConfig, document.get("limits", {}), "limits"))
    cpm = CpmConfig(**_section(CpmConfig, document.get("cpm", {}), "cpm"))
    metrics = MetricsConfig(**_section(MetricsConfig, document.get("metrics", {}), "metrics"))
    logging = LoggingConfig(**_section(LoggingConfig, document.get("logging", {}), "logging"))
    return _build(ServerConfig(**server_values), listeners, tls, limits, cpm, metrics, logging)


def _build(server: ServerConfig, listeners: Sequence[ListenerConfig],
           tls: TLSConfig | None, limits: LimitsConfig, cpm: CpmConfig = CpmConfig(),
           metrics: MetricsConfig = MetricsConfig(), logging: LoggingConfig = LoggingConfig()) -> Config:
    if not server.data_dir:
        raise ConfigError("server.data_dir: must not be empty")
    prefix = server.other_users_prefix
    if not prefix or "/" in prefix or prefix.upper() == "INBOX":
        raise ConfigError(f"server.other_users_prefix: must be a non-empty name without '/', not INBOX, got {prefix!r}")
    if not server.users_file:
        server = dataclasses.replace(server, users_file=os.path.join(server.data_dir, "passwd"))
    if server.control_socket == DEFAULT_CONTROL_SOCKET:
        server = dataclasses.replace(server, control_socket=os.path.join(server.data_dir, "control.sock"))
    # make_config hands keys over unchecked; a file's array was checked already.
    server = dataclasses.replace(server, proxy_users=_string_array("server.proxy_users", server.proxy_users))
    for i, listener in enumerate(listeners):
        if listener.tls not in TLS_MODES:
            raise ConfigError(f"listener[{i}].tls: expected one of {', '.join(TLS_MODES)}, got {listener.tls!r}")
        if listener.tls != "none" and tls is None:
            raise ConfigError(f"listener[{i}].tls: {listener.tls!r} needs a [tls] section with certificate and private_key")
    if tls is not None and not tls.private_key:
        tls = dataclasses.replace(tls, private_key=tls.certificate)
    parse_duration(cpm.expunge_deleted_after, "cpm.expunge_deleted_after")  # a bad one stops the start
    parse_duration(server.index_backup_interval, "server.index_backup_interval")
    parse_duration(server.unload_idle_after, "server.unload_idle_after")
    if server.expunge_history < 0:
        raise ConfigError(f"server.expunge_history: expected 0 or more, got {server.expunge_history}")
    if server.fsync not in FSYNC_MODES:
        raise ConfigError(f"server.fsync: expected one of {', '.join(FSYNC_MODES)}, got {server.fsync!r}")
    if not 1 <= server.workers <= MAX_WORKERS:
        raise ConfigError(f"server.workers: expected 1 to {MAX_WORKERS}, got {server.workers}")
    cpm = dataclasses.replace(cpm, system_folders=_folder_names("cpm.system_folders", cpm.system_folders))
    parse_duration(metrics.store_size_interval, "metrics.store_size_interval")
    parse_duration(limits.login_failure_window, "limits.login_failure_window")
    if logging.format not in LOG_FORMATS:
        raise ConfigError(f"logging.format: expected one of {', '.join(LOG_FORMATS)}, got {logging.format!r}")
    return Config(server, tuple(listeners), tls, limits, cpm, metrics, logging)


def load_config(path: str | os.PathLike[str] | None) -> Config:
    """Read the TOML file at ``path``; ``None`` gives the embedded default.

    The embedded default keeps data in ``./cpmstore-data``, listens in
    plaintext on 127.0.0.1:1143 with plaintext login allowed (loopback only)
    and creates a ``demo`` user on first start. Raises ``ConfigError``.
    """
    if path is None:
        return _from_document({}, embedded=True)
    try:
        with open(path, "rb") as f:
            document = tomllib.load(f)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    return _from_document(document)


def default_config() -> Config:
    """The embedded default (what ``twistd -n cpmstore`` runs without --config)."""
    return load_config(None)


def make_config(data_dir: str | os.PathLike[str], *,
                listeners: Sequence[ListenerConfig] | None = None,
                tls: TLSConfig | None = None,
                limits: LimitsConfig | None = None,
                cpm: CpmConfig | None = None,
                metrics: MetricsConfig | None = None,
                logging: LoggingConfig | None = None,
                **server: Any) -> Config:
    """Build a Config in code (tests, tools), with the same checks as a file.

    ``server`` holds ``[server]`` keys other than data_dir; ``listeners``
    defaults to one plaintext listener on an ephemeral loopback port with
    plaintext login allowed.
    """
    if listeners is None:
        listeners = (ListenerConfig("tcp:0:interface=127.0.0.1", "none", allow_plaintext_auth=True),)
    return _build(ServerConfig(data_dir=os.fspath(data_dir), **server), listeners, tls,
                  limits if limits is not None else LimitsConfig(), cpm if cpm is not None else CpmConfig(),
                  metrics or MetricsConfig(), logging or LoggingConfig())
