import pytest

from dashboard.config import ConfigError, Settings


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
