"""Configuration: the example files, the defaults, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from cpmstore.config import (
    ConfigError,
    CpmConfig,
    LimitsConfig,
    ListenerConfig,
    LoggingConfig,
    MetricsConfig,
    TLSConfig,
    default_config,
    load_config,
    make_config,
)

CONF = Path(__file__).resolve().parent.parent / "conf"


def _load(tmp_path: Path, text: str):
    path = tmp_path / "cpmstore.toml"
    path.write_text(text)
    return load_config(path)


def test_example_cpmstore_toml_sets_every_key() -> None:
    config = load_config(CONF / "cpmstore.toml")
    assert config.server.data_dir == "/var/lib/cpmstore"
    assert config.server.users_file == "/etc/cpmstore/users"
    assert config.server.hostname == "imap.example.com"
    assert config.server.create_demo_user is False
    assert config.server.proxy_users == ()
    assert config.listeners == (
        ListenerConfig("tcp:143:interface=0.0.0.0:backlog=1024", "starttls", allow_plaintext_auth=False),
        ListenerConfig("tcp:993:interface=0.0.0.0:backlog=1024", "implicit", allow_plaintext_auth=False),
    )
    assert config.tls == TLSConfig("/etc/cpmstore/cert.pem", "/etc/cpmstore/key.pem")
    assert config.limits == LimitsConfig(
        max_line_bytes=65536, max_literal_bytes=67108864, max_connections=1000,
        max_connections_per_user=50, login_failure_delay=2.0, idle_timeout=1800,
        max_sequence_ranges=100000, max_append_messages=1000)


def test_example_cpmstore_toml_documents_every_key() -> None:
    text = (CONF / "cpmstore.toml").read_text()
    config = default_config()
    keys = [*type(config.server).__slots__, *ListenerConfig.__slots__,
            *TLSConfig.__slots__, *LimitsConfig.__slots__, *CpmConfig.__slots__,
            *MetricsConfig.__slots__, *LoggingConfig.__slots__]
    assert [key for key in keys if f"\n{key} = " not in text] == []


def test_example_minimal_toml_is_loopback_plaintext() -> None:
    config = load_config(CONF / "minimal.toml")
    assert config.server.data_dir == "./cpmstore-data"
    assert config.server.users_file == "./cpmstore-data/passwd"
    assert config.listeners == (ListenerConfig("tcp:1143:interface=127.0.0.1", "none", allow_plaintext_auth=True),)
    assert config.tls is None
    assert config.server.create_demo_user is False


def test_embedded_default() -> None:
    config = load_config(None)
    assert config.server.data_dir == "./cpmstore-data"
    assert config.server.users_file == "./cpmstore-data/passwd"
    assert config.server.create_demo_user is True
    assert config.listeners == (ListenerConfig("tcp:1143:interface=127.0.0.1", "none", allow_plaintext_auth=True),)
    assert config.tls is None
    assert config.limits == LimitsConfig()
    assert config.limits.login_failure_delay == 2.0
    assert config.limits.idle_timeout == 1800


def test_empty_file_takes_every_default(tmp_path: Path) -> None:
    config = _load(tmp_path, "")
    assert config.limits == LimitsConfig()
    assert config.listeners == load_config(None).listeners


def test_listener_defaults_are_not_plaintext(tmp_path: Path) -> None:
    config = _load(tmp_path, '[[listener]]\nendpoint = "tcp:10143"\n')
    assert config.listeners == (ListenerConfig("tcp:10143", "none", allow_plaintext_auth=False),)


def test_float_key_accepts_integer(tmp_path: Path) -> None:
    assert _load(tmp_path, "[limits]\nlogin_failure_delay = 0\n").limits.login_failure_delay == 0.0


def test_private_key_defaults_to_certificate_file(tmp_path: Path) -> None:
    config = _load(tmp_path, '[tls]\ncertificate = "both.pem"\n')
    assert config.tls == TLSConfig("both.pem", "both.pem")


@pytest.mark.parametrize("text, message", [
    ("[limits]\nmax_line_bytes = \"64k\"\n", "limits.max_line_bytes: expected integer, got string"),
    ("[limits]\nmax_connections = true\n", "limits.max_connections: expected integer, got boolean"),
    ("[limits]\nlogin_failure_delay = \"2\"\n", "limits.login_failure_delay: expected float, got string"),
    ("[limits]\nidle_timeout = -1\n", "limits.idle_timeout: must not be negative"),
    ("[server]\ndata_dir = 5\n", "server.data_dir: expected string, got integer"),
    ("[server]\ncreate_demo_user = \"yes\"\n", "server.create_demo_user: expected boolean, got string"),
    ("[server]\nproxy_users = \"cpm-pf\"\n", "server.proxy_users: expected array of strings, got string"),
    ("[server]\nproxy_users = [\"cpm-pf\", 1]\n", "server.proxy_users: expected array of non-empty strings, got an element 1"),
    ("[server]\nproxy_users = [\"\"]\n", "server.proxy_users: expected array of non-empty strings, got an element ''"),
    ("[[listener]]\nallow_plaintext_auth = 1\n", "listener[0].allow_plaintext_auth: expected boolean, got integer"),
    ("[listener]\nendpoint = \"tcp:1\"\n", "listener: expected array of tables"),
    ("server = 1\n", "server: expected table, got integer"),
    ('[cpm]\nexpunge_deleted_after = "30"\n', "cpm.expunge_deleted_after: expected a duration like"),
    ('[cpm]\nexpunge_deleted_after = "30 days"\n', "cpm.expunge_deleted_after: expected a duration like"),
    ('[cpm]\nexpunge_deleted_after = "1w"\n', "cpm.expunge_deleted_after: expected a duration like"),
    ('[cpm]\nexpunge_deleted_after = "-5s"\n', "cpm.expunge_deleted_after: expected a duration like"),
    ('[cpm]\nexpunge_deleted_after = "1.5h"\n', "cpm.expunge_deleted_after: expected a duration like"),
    ('[cpm]\nexpunge_deleted_after = 30\n', "cpm.expunge_deleted_after: expected string, got integer"),
    ('[cpm]\nexpunge_after = "30d"\n', "cpm.expunge_after: unknown key"),
    ('cpm = "30d"\n', "cpm: expected table, got string"),
    ('[cpm]\nsystem_folders = "Default"\n', "cpm.system_folders: expected array of strings, got string"),
    ('[cpm]\nsystem_folders = ["Default", ""]\n', "cpm.system_folders: expected array of non-empty strings"),
    ('[cpm]\nsystem_folders = ["Default//x"]\n', "cpm.system_folders: 'Default//x' is not a folder name"),
    ('[cpm]\nsystem_folders = ["Default/%"]\n', "cpm.system_folders: 'Default/%' is not a folder name"),
    ('[logging]\nformat = "xml"\n', "logging.format: expected one of text, json, got 'xml'"),
    ('[metrics]\nstore_size_interval = "1 minute"\n', "metrics.store_size_interval: expected a duration like"),
    ('[metrics]\nendpoint = 9143\n', "metrics.endpoint: expected string, got integer"),
])
def test_wrong_type_names_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match="^" + message.replace("[", r"\[").replace("]", r"\]")):
        _load(tmp_path, text)


@pytest.mark.parametrize("text, message", [
    ("[limits]\nmax_line_length = 10\n", "limits.max_line_length: unknown key"),
    ("[server]\ndatadir = \"x\"\n", "server.datadir: unknown key"),
    ("[[listener]]\nport = 143\n", r"listener\[0\].port: unknown key"),
    ("[tls]\ncertificate = \"c\"\nkey = \"k\"\n", "tls.key: unknown key"),
    ("[logging]\nlevel = \"debug\"\n", "logging.level: unknown key"),
    ("[log]\nformat = \"json\"\n", "log: unknown section"),
])
def test_unknown_key_or_section_names_it(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match="^" + message):
        _load(tmp_path, text)


def test_unknown_tls_mode(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^listener\[1\].tls: expected one of none, starttls, implicit, got 'ssl'"):
        _load(tmp_path, '[[listener]]\nendpoint = "tcp:1"\n[[listener]]\nendpoint = "tcp:2"\ntls = "ssl"\n')


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
def test_tls_listener_needs_tls_section(tmp_path: Path, mode: str) -> None:
    with pytest.raises(ConfigError, match=rf"^listener\[0\].tls: '{mode}' needs a \[tls\] section"):
        _load(tmp_path, f'[[listener]]\nendpoint = "tcp:993"\ntls = "{mode}"\n')


def test_fsync_is_always_unless_optimized_is_asked_for(tmp_path: Path) -> None:
    assert default_config().server.fsync == "always"
    assert _load(tmp_path, '[server]\nfsync = "optimized"\n').server.fsync == "optimized"
    with pytest.raises(ConfigError, match="^server.fsync: expected one of always, optimized, got 'never'"):
        _load(tmp_path, '[server]\nfsync = "never"\n')


def test_tls_section_needs_certificate(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="^tls.certificate: required"):
        _load(tmp_path, '[tls]\nprivate_key = "k.pem"\n')


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cpmstore.toml: not valid TOML"):
        _load(tmp_path, "[limits\n")


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nothere.toml: cannot read"):
        load_config(tmp_path / "nothere.toml")


def test_make_config_for_tests(tmp_path: Path) -> None:
    config = make_config(tmp_path, limits=LimitsConfig(login_failure_delay=0), hostname="test")
    assert config.server.data_dir == str(tmp_path)
    assert config.server.users_file == str(tmp_path / "passwd")
    assert config.server.hostname == "test"
    assert config.listeners == (ListenerConfig("tcp:0:interface=127.0.0.1", "none", allow_plaintext_auth=True),)
    assert config.limits.login_failure_delay == 0


def test_proxy_users_array_becomes_a_tuple(tmp_path: Path) -> None:
    assert _load(tmp_path, '[server]\nproxy_users = ["cpm-pf", "iwf"]\n').server.proxy_users == ("cpm-pf", "iwf")
    assert make_config(tmp_path, proxy_users=["cpm-pf"]).server.proxy_users == ("cpm-pf",)
    assert load_config(None).server.proxy_users == ()
    with pytest.raises(ConfigError, match="^server.proxy_users: expected array of strings, got string"):
        make_config(tmp_path, proxy_users="cpm-pf")


def test_make_config_checks_like_a_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^listener\[0\].tls"):
        make_config(tmp_path, listeners=[ListenerConfig("tcp:0", "implicit")])


def test_example_cpmstore_toml_documents_cpm_section() -> None:
    text = (CONF / "cpmstore.toml").read_text()
    assert "\n[cpm]\n" in text and "\nexpunge_deleted_after = " in text
    assert load_config(CONF / "cpmstore.toml").cpm.expunge_deleted_after_seconds == 30 * 86400


@pytest.mark.parametrize("value, seconds", [
    ("", 0), ("0", 0), ("0s", 0), ("45s", 45), ("90m", 5400), ("12h", 43200), ("30d", 2592000), (" 1D ", 86400),
])
def test_cpm_expunge_deleted_after_durations(tmp_path: Path, value: str, seconds: int) -> None:
    config = _load(tmp_path, f'[cpm]\nexpunge_deleted_after = "{value}"\n')
    assert config.cpm.expunge_deleted_after_seconds == seconds


def test_cpm_expunge_deleted_after_defaults_to_never(tmp_path: Path) -> None:
    assert _load(tmp_path, "").cpm.expunge_deleted_after_seconds == 0
    assert default_config().cpm.expunge_deleted_after == ""
    assert make_config(tmp_path).cpm.expunge_deleted_after_seconds == 0


def test_make_config_checks_cpm_like_a_file(tmp_path: Path) -> None:
    assert make_config(tmp_path, cpm=CpmConfig("12h")).cpm.expunge_deleted_after_seconds == 43200
    with pytest.raises(ConfigError, match="^cpm.expunge_deleted_after: expected a duration"):
        make_config(tmp_path, cpm=CpmConfig("soon"))


def test_cpm_system_folders_default_and_stored_spelling(tmp_path: Path) -> None:
    assert default_config().cpm.system_folders == ("Default", "RCSMessageStore")
    assert load_config(CONF / "cpmstore.toml").cpm.system_folders == ("Default", "RCSMessageStore")
    assert _load(tmp_path, "[cpm]\nsystem_folders = []\n").cpm.system_folders == ()
    # INBOX always exists; repeats would create nothing: both dropped.
    config = _load(tmp_path, '[cpm]\nsystem_folders = ["inbox", "cpmdefault", "Default/tel:+1", "cpmdefault"]\n')
    assert config.cpm.system_folders == ("cpmdefault", "Default/tel:+1")
    assert make_config(tmp_path, cpm=CpmConfig(system_folders=["A"])).cpm.system_folders == ("A",)
    with pytest.raises(ConfigError, match="^cpm.system_folders: 'a//b' is not a folder name"):
        make_config(tmp_path, cpm=CpmConfig(system_folders=("a//b",)))
