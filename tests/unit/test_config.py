from pathlib import Path

import pytest

from dashboard import cli
from dashboard.cli import build_parser
from dashboard.config import LOOPBACK_HOSTS, ConfigError, Settings, hosts_for_bind


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.prefix == "bull"
    assert settings.base_path == "/admin/queues"
    assert settings.queues == ()
    assert settings.redis_url is None
    assert not settings.read_only


def test_env_then_flags() -> None:
    env = {"REDIS_URL": "redis://h:1", "QUEUES": " a, b ,a", "BULLMQ_PREFIX": "{q}"}
    settings = Settings.from_env(env, prefix="other", queues=None)
    assert settings.redis_url == "redis://h:1"
    assert settings.queues == ("a", "b")
    assert settings.prefix == "other"


@pytest.mark.parametrize("path, expected", [("/", ""), ("admin/", "/admin"), ("/x/y/", "/x/y")])
def test_base_path_normalised(path: str, expected: str) -> None:
    assert Settings.from_env({}, base_path=path).base_path == expected


@pytest.mark.parametrize(
    "overrides",
    [
        {"redis_url": "http://localhost"},
        {"prefix": "a:b"},
        {"queues": "good,bad:name"},
        {"base_path": "/admin?x=1"},
    ],
)
def test_bad_settings_say_why(overrides: dict) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.from_env({}, **overrides)
    assert str(err.value).endswith(".")


def test_settings_survive_the_trip_to_worker_processes() -> None:
    settings = Settings.from_env(
        {"REDIS_URL": "redis://h:1", "QUEUES": "a,b", "DRAINBOARD_HIDE": "x*"},
        read_only=True,
        drain_every=300,
    )
    copy = Settings.loads(settings.dumps())
    assert copy == settings and copy.queues == ("a", "b") and copy.hide == ("x*",)


def test_allowed_hosts_parsed_from_the_flag_and_the_environment() -> None:
    env = {"DRAINBOARD_ALLOWED_HOSTS": "Dash.Example.com., ::1,[::2], 10.0.0.5,localhost"}
    from_env = Settings.from_env(env).allowed_hosts
    assert from_env == ("dash.example.com", "[::1]", "[::2]", "10.0.0.5", "localhost")
    assert Settings.from_env(env, allowed_hosts="a.example").allowed_hosts == ("a.example",)
    assert Settings.from_env({}, allowed_hosts="*").allowed_hosts == ("*",)
    # Not given: None, for the command line to derive from --host.
    assert Settings.from_env({}).allowed_hosts is None
    assert Settings.from_env({"DRAINBOARD_ALLOWED_HOSTS": ""}).allowed_hosts is None


@pytest.mark.parametrize(
    "value", ["dash.example.com:3000", "http://dash.example.com", "", " , ", "a b", "*.x.com"]
)
def test_bad_allowed_hosts_say_why(value: str) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.from_env({}, allowed_hosts=value)
    assert "--allowed-hosts" in str(err.value) and str(err.value).endswith(".")


@pytest.mark.parametrize(
    "bind, expected",
    [
        ("127.0.0.1", ("localhost", "127.0.0.1", "[::1]")),
        ("::1", ("localhost", "127.0.0.1", "[::1]")),
        ("localhost", ("localhost", "127.0.0.1", "[::1]")),
        ("127.0.0.2", ("localhost", "127.0.0.1", "[::1]")),
        ("192.168.1.5", ("192.168.1.5", "localhost", "127.0.0.1", "[::1]")),
        ("dash.internal", ("dash.internal", "localhost", "127.0.0.1", "[::1]")),
        ("fd00::5", ("[fd00::5]", "localhost", "127.0.0.1", "[::1]")),
        ("0.0.0.0", ("*",)),
        ("::", ("*",)),
    ],
)
def test_allowed_hosts_default_follows_the_bind_address(bind: str, expected: tuple) -> None:
    assert hosts_for_bind(bind) == expected


def test_serve_and_demo_take_allowed_hosts(caplog: pytest.LogCaptureFixture) -> None:
    parser = build_parser()
    for command in ("serve", "demo"):
        args = parser.parse_args([command, "--allowed-hosts", "a.example,b.example"])
        settings = cli._settings(args, "redis://h:1")
        assert settings.allowed_hosts == ("a.example", "b.example")
        # Given hosts are kept whatever --host says; not given, --host decides.
        assert cli.with_allowed_hosts(settings, "0.0.0.0").allowed_hosts == settings.allowed_hosts
        bare = cli._settings(parser.parse_args([command]), "redis://h:1")
        assert cli.with_allowed_hosts(bare, "127.0.0.1").allowed_hosts == LOOPBACK_HOSTS
    assert "DNS rebinding" not in caplog.text
    # Any name, no credentials: said at start-up.
    assert cli.with_allowed_hosts(bare, "0.0.0.0").allowed_hosts == ("*",)
    assert "DNS rebinding" in caplog.text
    copy = Settings.loads(cli.with_allowed_hosts(bare, "::1").dumps())
    assert copy.allowed_hosts == LOOPBACK_HOSTS and Settings.loads(bare.dumps()) == bare


def test_single_sign_on_takes_all_three_settings_and_a_safe_issuer() -> None:
    env = {
        "DRAINBOARD_OIDC_ISSUER": "https://login.example.com/",
        "DRAINBOARD_OIDC_CLIENT_ID": "drainboard",
        "DRAINBOARD_OIDC_CLIENT_SECRET": "s",
    }
    settings = Settings.from_env(env)
    assert settings.oidc_issuer == "https://login.example.com" and settings.auth_required
    with pytest.raises(ConfigError, match="all of DRAINBOARD_OIDC_ISSUER"):
        Settings.from_env({**env, "DRAINBOARD_OIDC_CLIENT_SECRET": ""})
    with pytest.raises(ConfigError, match="must be an https:// URL"):
        Settings.from_env({**env, "DRAINBOARD_OIDC_ISSUER": "http://login.example.com"})
    local = Settings.from_env({**env, "DRAINBOARD_OIDC_ISSUER": "http://127.0.0.1:8080"})
    assert local.oidc_issuer == "http://127.0.0.1:8080"


# Several Redis servers (issue 27).


def test_one_unnamed_url_keeps_todays_settings() -> None:
    settings = Settings.from_env({"REDIS_URL": "redis+sentinel://h1:26379,h2:26379/main"})
    assert settings.connections == ()
    assert settings.redis_url == "redis+sentinel://h1:26379,h2:26379/main"
    assert settings.chosen(None) is settings


def test_named_urls_from_flags_and_environment() -> None:
    flags = Settings.from_env({}, redis_url=["prod=redis://p:6379", "staging=redis://s:6379/2"])
    env = Settings.from_env(
        {"DRAINBOARD_REDIS_URLS": "prod=redis://p:6379, staging=redis+sentinel://a:1,b:2/m"}
    )
    assert [(c.name, c.redis_url) for c in flags.connections] == [
        ("prod", "redis://p:6379"),
        ("staging", "redis://s:6379/2"),
    ]
    assert [c.redis_url for c in env.connections][1] == "redis+sentinel://a:1,b:2/m"
    assert flags.redis_url == "redis://p:6379"  # the first connection's
    assert Settings.loads(flags.dumps()) == flags


def test_a_connections_file_gives_each_its_own_settings(tmp_path: Path) -> None:
    file = tmp_path / "connections.toml"
    file.write_text(
        '[connection.prod]\nurl = "rediss://p:6380"\nqueues = ["billing"]\nhide = ["x-*"]\n'
        'read_only = true\n\n[connection.big]\nurl = "redis://c:7000"\ncluster = true\n'
        'prefix = "{bull}"\n'
    )
    settings = Settings.from_env({"DRAINBOARD_HIDE": "secret"}, connections_file=str(file))
    prod = settings.chosen("prod")
    assert (prod.redis_url, prod.queues, prod.read_only) == ("rediss://p:6380", ("billing",), True)
    assert prod.hide == ("secret", "x-*")
    big = settings.chosen("big")
    assert (big.cluster, big.prefix, big.read_only) == (True, "{bull}", False)


@pytest.mark.parametrize(
    ("urls", "says"),
    [
        (["redis://a", "redis://b"], "name each one"),
        (["a=redis://x", "a=redis://y"], "Two Redis connections are named 'a'"),
        (["-x=redis://a", "b=redis://c"], "A connection name is 1 to 40"),
        (["a=http://x", "b=redis://c"], "must start with redis://"),
    ],
)
def test_bad_connection_lists_are_one_sentence(urls: list[str], says: str) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.from_env({}, redis_url=urls)
    assert says in str(err.value)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("not toml [", "is not valid TOML"),
        ("[other]\nx = 1\n", "has no [connection.<name>] table"),
        ("[connection.a]\nprefix = 'p'\n", "needs a url"),
        ("[connection.a]\nurl = 'redis://x'\nport = 1\n", "unknown key 'port'"),
        ("[connection.a]\nurl = 'redis://x'\ncluster = 'yes'\n", "true or false"),
    ],
)
def test_bad_connections_files_are_one_sentence(tmp_path: Path, text: str, says: str) -> None:
    file = tmp_path / "c.toml"
    file.write_text(text)
    with pytest.raises(ConfigError) as err:
        Settings.from_env({}, connections_file=str(file))
    assert says in str(err.value)


def test_choosing_a_connection() -> None:
    settings = Settings.from_env({}, redis_url=["a=redis://x", "b=redis://y"])
    assert settings.chosen("b").redis_url == "redis://y"
    for name, says in ((None, "choose one with --connection (a, b)"), ("c", "no connection")):
        with pytest.raises(ConfigError) as err:
            settings.chosen(name)
        assert says in str(err.value)
    with pytest.raises(ConfigError):
        Settings.from_env({"REDIS_URL": "redis://x"}).chosen("a")
