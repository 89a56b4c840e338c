"""Settings, read once from the environment and CLI flags and validated before anything starts."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any
from urllib.parse import urlsplit

from dashboard import access, i18n
from dashboard.bullmq.keys import DEFAULT_PREFIX
from dashboard.redact import RedactionError, load_formatter, parse_paths
from dashboard.redis_client.connection import SENTINEL_SCHEME, SentinelUrlError, parse_sentinel_url

DEFAULT_BASE_PATH = "/admin/queues"
DEFAULT_REDIS_MAX_CONNECTIONS = 20
DEFAULT_QUOTA = 500_000  # Upstash free tier, commands a month
DEFAULT_PRICE_PER_100K = 0.20  # Upstash pay-as-you-go, dollars
# The names a browser on this machine uses for a dashboard bound to loopback (any port).
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
ANY_HOST = "*"


class ConfigError(ValueError):
    """A setting is invalid; the message is one sentence for the person starting the server."""


# The settings single sign-on takes: Settings.oidc_<part>, DRAINBOARD_OIDC_<PART>.
OIDC_PARTS = ("issuer", "client_id", "client_secret")


# A connection's name: it appears in URLs (`/c/<name>/`) and Prometheus labels as it is.
_CONNECTION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")


@dataclass(frozen=True)
class NamedConnection:
    """One of several Redis servers the dashboard shows, with the settings that are its own."""

    name: str
    redis_url: str
    prefix: str = DEFAULT_PREFIX
    queues: tuple[str, ...] = ()
    hide: tuple[str, ...] = ()
    cluster: bool | None = None
    read_only: bool = False


@dataclass(frozen=True)
class Settings:
    redis_url: str | None = None
    prefix: str = DEFAULT_PREFIX
    queues: tuple[str, ...] = ()
    base_path: str = DEFAULT_BASE_PATH
    read_only: bool = False
    token: str | None = None
    username: str | None = None
    password: str | None = None
    secret_key: str | None = None
    processors: str | None = None
    # How often (seconds) the operator's cron calls the drain endpoint; None: no cron drain.
    drain_every: int | None = None
    # Tokens for the cron drain endpoint, in the order the runbook gives them; any one opens it.
    cron_tokens: tuple[str, ...] = ()
    # Job fields never shown (data.password, ...), a hook that formats jobs, queues never shown.
    redact: tuple[str, ...] = ()
    formatter: str | None = None
    hide: tuple[str, ...] = ()
    # Queues named `<group><delimiter><rest>` are grouped in the queue switcher.
    group_delimiter: str | None = None
    # The dashboard's Redis connections at most; requests beyond them wait (connection.py).
    redis_max_connections: int = DEFAULT_REDIS_MAX_CONNECTIONS
    # Redis Cluster: True or False when forced (--cluster, REDIS_CLUSTER), None to ask the server.
    cluster: bool | None = None
    # A bearer token for /metrics alone (Prometheus), besides DRAINBOARD_TOKEN.
    metrics_token: str | None = None
    # Drains (and workers) record BullMQ's per-minute metrics for this many minutes; None: not.
    metrics_max_data_points: int | None = None
    # The Host names the dashboard answers (DNS rebinding: web/middleware/hosts.py); ("*",) any.
    # None: not given; the command line then derives them from --host (hosts_for_bind), and an
    # embedded app answers any name its host application lets through.
    allowed_hosts: tuple[str, ...] | None = None
    # A TOML file of alert rules and destinations (dashboard/observe/alerts.py); None: no alerts.
    alerts: str | None = None
    # The Redis plan the quota view measures against: commands a month, dollars per 100,000.
    quota: int = DEFAULT_QUOTA
    price_per_100k: float = DEFAULT_PRICE_PER_100K
    # Single sign-on (web/oidc.py): the OpenID provider's issuer URL and this client's id and
    # secret there; all three or none.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    # The users file (dashboard/access.py): password users, API tokens and single sign-on rules,
    # each with roles on queue patterns; None: the single username, password and token above.
    users: str | None = None
    # Serving `drainboard demo`: the overview says how the demo's queues get processed.
    demo: bool = False
    # The language of alerts (a team channel) and of requests that ask for none we speak.
    locale: str = i18n.DEFAULT_LOCALE
    # Several named Redis servers (--redis-url name=URL, DRAINBOARD_REDIS_URLS, --connections
    # FILE); empty for one unnamed URL, which keeps today's URLs. With names, `redis_url` and
    # the other per-connection settings are the first connection's.
    connections: tuple[NamedConnection, ...] = ()

    @property
    def auth_required(self) -> bool:
        """People or scripts must sign in: some credential is configured."""
        return bool(
            self.token or (self.username and self.password) or self.oidc_issuer or self.users
        )

    def for_connection(self, connection: NamedConnection) -> Settings:
        """The settings one connection's board runs with: its own Redis, prefix, queue list and
        cluster setting; hide patterns added to the global ones; read-only if either says so."""
        return replace(
            self,
            redis_url=connection.redis_url,
            prefix=connection.prefix,
            queues=connection.queues,
            hide=tuple(dict.fromkeys((*self.hide, *connection.hide))),
            cluster=self.cluster if connection.cluster is None else connection.cluster,
            read_only=self.read_only or connection.read_only,
            connections=(),
        )

    def chosen(self, name: str | None) -> Settings:
        """The settings for the connection `name` (the drain's --connection); with one unnamed
        URL, these settings."""
        if not self.connections:
            if name is not None:
                raise ConfigError(
                    "--connection chooses among named Redis connections; only one URL is given."
                )
            return self
        names = [c.name for c in self.connections]
        if name is None and len(names) > 1:
            raise ConfigError(
                f"Several Redis connections are configured; choose one with --connection "
                f"({', '.join(names)})."
            )
        for connection in self.connections:
            if name in (None, connection.name):
                return self.for_connection(connection)
        raise ConfigError(f"There is no connection named {name!r}; known: {', '.join(names)}.")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Environment first, then explicit overrides (CLI flags) where they are not None."""
        env = os.environ if env is None else env
        values: dict[str, object] = {
            "redis_url": _url_list(env.get("DRAINBOARD_REDIS_URLS", ""))
            or env.get("REDIS_URL")
            or None,
            "connections_file": env.get("DRAINBOARD_CONNECTIONS") or None,
            "prefix": env.get("BULLMQ_PREFIX") or DEFAULT_PREFIX,
            "queues": env.get("QUEUES", ""),
            "base_path": env.get("DRAINBOARD_BASE_PATH") or DEFAULT_BASE_PATH,
            "read_only": env.get("DRAINBOARD_READ_ONLY", ""),
            "token": env.get("DRAINBOARD_TOKEN") or None,
            "username": env.get("DRAINBOARD_USERNAME") or None,
            "password": env.get("DRAINBOARD_PASSWORD") or None,
            "secret_key": env.get("DRAINBOARD_SECRET_KEY") or None,
            "processors": env.get("DRAINBOARD_PROCESSORS") or None,
            "redact": env.get("DRAINBOARD_REDACT", ""),
            "formatter": env.get("DRAINBOARD_FORMATTER") or None,
            "hide": env.get("DRAINBOARD_HIDE", ""),
            "group_delimiter": env.get("DRAINBOARD_GROUP_DELIMITER") or None,
            "drain_every": env.get("DRAINBOARD_DRAIN_EVERY") or None,
            "metrics_token": env.get("DRAINBOARD_METRICS_TOKEN") or None,
            "metrics_max_data_points": env.get("DRAINBOARD_METRICS_MAX_DATA_POINTS") or None,
            "redis_max_connections": env.get("DRAINBOARD_REDIS_MAX_CONNECTIONS") or None,
            "cron_tokens": tuple(
                token
                for name in ("DRAIN_QUEUES_TOKEN", "CRON_SECRET", "CRON_TOKEN")
                if (token := env.get(name))
            ),
            "cluster": _optional_flag(env.get("REDIS_CLUSTER", "")),
            "allowed_hosts": env.get("DRAINBOARD_ALLOWED_HOSTS") or None,
            "alerts": env.get("DRAINBOARD_ALERTS") or None,
            "quota": env.get("DRAINBOARD_QUOTA") or None,
            "price_per_100k": env.get("DRAINBOARD_PRICE_PER_100K") or None,
            "locale": env.get("DRAINBOARD_LOCALE") or None,
            "users": env.get("DRAINBOARD_USERS") or None,
            **{
                f"oidc_{part}": env.get(f"DRAINBOARD_OIDC_{part.upper()}") or None
                for part in OIDC_PARTS
            },
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        prefix = _prefix(str(values["prefix"]))
        queues = _queue_list(values["queues"])
        redis_url, connections = _connections(
            values["redis_url"], values["connections_file"], prefix, queues
        )
        if connections:
            prefix, queues = connections[0].prefix, connections[0].queues
        return cls(
            redis_url=redis_url,
            connections=connections,
            prefix=prefix,
            queues=queues,
            base_path=_base_path(str(values["base_path"])),
            read_only=_flag(values["read_only"]),
            token=values["token"] or None,  # type: ignore[arg-type]
            username=values["username"] or None,  # type: ignore[arg-type]
            password=values["password"] or None,  # type: ignore[arg-type]
            secret_key=values["secret_key"] or None,  # type: ignore[arg-type]
            processors=values["processors"] or None,  # type: ignore[arg-type]
            drain_every=_seconds(values["drain_every"]),
            cron_tokens=tuple(values["cron_tokens"]),  # type: ignore[arg-type]
            cluster=values["cluster"],  # type: ignore[arg-type]
            metrics_token=values["metrics_token"] or None,  # type: ignore[arg-type]
            metrics_max_data_points=_data_points(values["metrics_max_data_points"]),
            redis_max_connections=_pool_size(values["redis_max_connections"]),
            redact=_redact_paths(values["redact"]),
            formatter=_formatter(values["formatter"]),
            hide=_list(values["hide"]),
            group_delimiter=_delimiter(values["group_delimiter"]),
            allowed_hosts=allowed_hosts(values["allowed_hosts"]),
            alerts=values["alerts"] or None,  # type: ignore[arg-type]
            quota=_quota(values["quota"]),
            price_per_100k=_price(values["price_per_100k"]),
            oidc_issuer=_issuer(values["oidc_issuer"]),
            oidc_client_id=values["oidc_client_id"] or None,  # type: ignore[arg-type]
            oidc_client_secret=values["oidc_client_secret"] or None,  # type: ignore[arg-type]
            locale=_locale(values.get("locale")),
            users=_users(values["users"]),
        ).checked()

    def dumps(self) -> str:
        """The settings as JSON, for `serve --workers N` to hand to its worker processes."""
        return json.dumps(asdict(self))

    @classmethod
    def loads(cls, text: str) -> Settings:
        """The settings `dumps` wrote (JSON has no tuples: lists become tuples again)."""
        values: dict[str, Any] = json.loads(text)
        tuples = {f.name for f in fields(cls) if str(f.type).startswith("tuple")}
        restored: dict[str, Any] = {
            k: tuple(v) if k in tuples and v is not None else v for k, v in values.items()
        }
        restored["connections"] = tuple(
            NamedConnection(**{**c, "queues": tuple(c["queues"]), "hide": tuple(c["hide"])})
            for c in restored.get("connections", ())
        )
        return cls(**restored).checked()

    def checked(self) -> Settings:
        if bool(self.username) != bool(self.password):
            raise ConfigError(
                "Set both DRAINBOARD_USERNAME and DRAINBOARD_PASSWORD, or neither of them."
            )
        oidc = [getattr(self, f"oidc_{part}") for part in OIDC_PARTS]
        if any(oidc) and not all(oidc):
            raise ConfigError(
                "Single sign-on needs all of DRAINBOARD_OIDC_ISSUER, DRAINBOARD_OIDC_CLIENT_ID "
                "and DRAINBOARD_OIDC_CLIENT_SECRET, or none of them."
            )
        return self


def _users(value: object) -> str | None:
    """--users: read now, so that a bad file stops the start with the sentence saying why."""
    if value in (None, ""):
        return None
    try:
        access.load(str(value))
    except access.UsersFileError as err:
        raise ConfigError(str(err)) from None
    return str(value)


def _issuer(value: object) -> str | None:
    """The OpenID provider's issuer: https, or http on this machine (a provider under test)."""
    if value in (None, ""):
        return None
    issuer = str(value).rstrip("/")
    parts = urlsplit(issuer)
    local = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise ConfigError(
            "DRAINBOARD_OIDC_ISSUER must be an https:// URL (http:// only on this machine), "
            f"not {issuer!r}."
        )
    return issuer


def _redis_url(value: object) -> str | None:
    if value in (None, ""):
        return None
    url = str(value)
    schemes = ("redis://", "rediss://", "unix://", "valkey://", "valkeys://", SENTINEL_SCHEME)
    if not url.startswith(schemes):
        raise ConfigError(
            "The Redis URL must start with redis://, rediss://, unix:// or redis+sentinel://,"
            f" not {url!r}."
        )
    if url.startswith(SENTINEL_SCHEME):
        try:
            parse_sentinel_url(url)
        except SentinelUrlError as err:
            raise ConfigError(str(err)) from None
    return url.replace("valkey", "redis", 1) if url.startswith("valkey") else url


def _connections(
    urls: object, file: object, prefix: str, queues: tuple[str, ...]
) -> tuple[str | None, tuple[NamedConnection, ...]]:
    """The Redis URL and the named connections, from --redis-url (once, or several times as
    name=URL), DRAINBOARD_REDIS_URLS (name=URL,name=URL) or a connections file, never two of
    these at once. Named connections from flags share the global prefix and queue list."""
    items = urls if isinstance(urls, list | tuple) else [urls]
    given = [str(item).strip() for item in items if item and str(item).strip()]
    if file:
        if given:
            raise ConfigError(
                "Give the Redis servers either in a connections file or as --redis-url, not both."
            )
        return _first_url(connections := _connections_file(str(file))), connections
    named = [_named(item) for item in given]
    if len(given) <= 1 and all(name is None for name, _ in named):
        return (_redis_url(given[0]) if given else None), ()
    if any(name is None for name, _ in named):
        raise ConfigError(
            "With several Redis servers, name each one: --redis-url prod=redis://… "
            "(DRAINBOARD_REDIS_URLS=prod=redis://…,staging=redis://…)."
        )
    connections = tuple(
        NamedConnection(
            name=str(name), redis_url=str(_redis_url(url)), prefix=prefix, queues=queues
        )
        for name, url in named
    )
    return _first_url(_unique(connections)), connections


def _url_list(value: str) -> list[str]:
    """DRAINBOARD_REDIS_URLS: name=URL items split at the commas that start a new `name=`, so a
    Sentinel URL's own commas (host1:26379,host2:26379) stay inside it."""
    return [item for item in re.split(r",(?=\s*[A-Za-z0-9][A-Za-z0-9_.-]{0,39}=)", value) if item]


def _named(item: str) -> tuple[str | None, str]:
    """`prod=redis://h` → ("prod", "redis://h"); a plain URL has no name (its `=` come after
    the scheme's `://`)."""
    name, sep, url = item.partition("=")
    if sep and "://" not in name:
        return _connection_name(name.strip()), url.strip()
    return None, item


def _connection_name(name: str) -> str:
    if not _CONNECTION_NAME.fullmatch(name):
        raise ConfigError(
            "A connection name is 1 to 40 letters, digits, '.', '_' or '-', starting with a letter"
            f" or digit, not {name[:60]!r}."
        )
    return name


def _unique(connections: tuple[NamedConnection, ...]) -> tuple[NamedConnection, ...]:
    names = [c.name for c in connections]
    if twice := sorted({n for n in names if names.count(n) > 1}):
        raise ConfigError(f"Two Redis connections are named {twice[0]!r}; give each its own name.")
    return connections


def _first_url(connections: tuple[NamedConnection, ...]) -> str:
    return connections[0].redis_url


# The keys a connection may have in a connections file, and what each holds.
_CONNECTION_KEYS = {"url", "prefix", "queues", "hide", "cluster", "read_only"}


def read_toml(path: str, what: str) -> dict[str, Any]:
    """A settings file (`what`: "alerts", "connections"), or a ConfigError of one sentence."""
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except OSError as err:
        raise ConfigError(f"The {what} file {path!r} cannot be read: {err.strerror}.") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"The {what} file {path!r} is not valid TOML: {err}.") from None


def _connections_file(path: str) -> tuple[NamedConnection, ...]:
    """A TOML file of `[connection.<name>]` tables, in the order written."""
    tables = read_toml(path, "connections").get("connection")
    if not isinstance(tables, dict) or not tables:
        raise ConfigError(
            f"The connections file {path} has no [connection.<name>] table with a url."
        )
    connections = []
    for name, table in tables.items():
        where = f"[connection.{name}] in {path}"
        if not isinstance(table, dict) or "url" not in table:
            raise ConfigError(f'{where} needs a url = "redis://…".')
        if unknown := sorted(set(table) - _CONNECTION_KEYS):
            raise ConfigError(
                f"{where} has an unknown key {unknown[0]!r}; known: "
                f"{', '.join(sorted(_CONNECTION_KEYS))}."
            )
        cluster = table.get("cluster")
        if not isinstance(cluster, bool | None) or not isinstance(
            table.get("read_only", False), bool
        ):
            raise ConfigError(f"{where}: cluster and read_only are true or false.")
        connections.append(
            NamedConnection(
                name=_connection_name(str(name)),
                redis_url=str(_redis_url(table["url"])),
                prefix=_prefix(str(table.get("prefix", DEFAULT_PREFIX))),
                queues=_queue_list(table.get("queues", ())),
                hide=_list(table.get("hide", ())),
                cluster=cluster,
                read_only=table.get("read_only", False),
            )
        )
    return _unique(tuple(connections))


def _prefix(value: str) -> str:
    if not value or ":" in value.strip("{}"):
        raise ConfigError(f"The BullMQ prefix must be a non-empty name without ':', not {value!r}.")
    return value


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def hosts_for_bind(bind: str) -> tuple[str, ...]:
    """The Host names a server listening on `bind` answers when none were given: loopback's
    own names for loopback; a named address and loopback's names for one address; any name for
    every address (0.0.0.0, ::), which is reached under names (a container's, a proxy's) this
    process cannot know."""
    if is_loopback(bind):
        return LOOPBACK_HOSTS
    if bind in ("", "0.0.0.0", "::"):
        return (ANY_HOST,)
    return (*(allowed_hosts(bind) or ()), *LOOPBACK_HOSTS)


def allowed_hosts(value: object) -> tuple[str, ...] | None:
    """--allowed-hosts: host names or addresses without port or scheme, lower-cased, IPv6 in
    brackets as a Host header writes it; `*` allows any."""
    if value is None:
        return None
    names = []
    for item in _list(value):
        name = item.lower().rstrip(".")
        try:
            if ipaddress.ip_address(name.strip("[]")).version == 6:
                name = f"[{name.strip('[]')}]"
        except ValueError:
            if name != ANY_HOST and (not name or any(ch in name for ch in ":/@[]* ")):
                raise ConfigError(
                    "--allowed-hosts (DRAINBOARD_ALLOWED_HOSTS) takes host names without port"
                    f" or scheme, such as dash.example.com,localhost, or *; got {item[:80]!r}."
                ) from None
        names.append(name)
    if not names:
        raise ConfigError(
            "--allowed-hosts (DRAINBOARD_ALLOWED_HOSTS) is empty: give host names, or * for any."
        )
    return tuple(dict.fromkeys(names))


def _queue_list(value: object) -> tuple[str, ...]:
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    names = tuple(dict.fromkeys(name.strip() for name in items if name.strip()))
    bad = [name for name in names if ":" in name]
    if bad:
        raise ConfigError(f"Queue names cannot contain ':', so {bad[0]!r} is not a BullMQ queue.")
    return names


def _list(value: object) -> tuple[str, ...]:
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    return tuple(dict.fromkeys(item.strip() for item in items if item.strip()))


def _formatter(value: object) -> str | None:
    """The --formatter spec, checked now: a typo should stop the start, not the first page."""
    if not value:
        return None
    try:
        load_formatter(str(value))
    except RedactionError as err:
        raise ConfigError(str(err)) from None
    return str(value)


def _redact_paths(value: object) -> tuple[str, ...]:
    paths = _list(value)
    try:
        parse_paths(paths)
    except RedactionError as err:
        raise ConfigError(str(err)) from None
    return paths


def _delimiter(value: object) -> str | None:
    if value in (None, ""):
        return None
    text = str(value)
    if ":" in text or len(text) > 8 or not text.strip():
        raise ConfigError(
            f"The group delimiter must be up to 8 characters without ':' (queue names have none),"
            f" not {text!r}."
        )
    return text


def _base_path(value: str) -> str:
    path = "/" + value.strip("/") if value.strip("/") else ""
    if any(ch in path for ch in "?#% "):
        raise ConfigError(
            f"The base path must be a plain URL path such as /admin/queues, not {value!r}."
        )
    return path


def whole_number(text: str, minimum: int, maximum: int) -> int | None:
    """`text` as a whole number in [minimum, maximum], written in ASCII digits 0-9 (no sign, no
    spaces); None otherwise. Settings, flags and query parameters are all checked with it."""
    if not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(maximum)):
        return None
    value = int(digits)
    return value if minimum <= value <= maximum else None


def _seconds(value: object) -> int | None:
    if value in (None, ""):
        return None
    text = str(value).strip()
    seconds = whole_number(text, 1, 31 * 86400)
    if seconds is None:
        raise ConfigError(
            f"DRAINBOARD_DRAIN_EVERY must be a whole number of seconds, 1 to 2678400; got {text!r}."
        )
    return seconds


def _quota(value: object) -> int:
    if value in (None, ""):
        return DEFAULT_QUOTA
    text = str(value).strip()
    quota = whole_number(text, 1, 10**12)
    if quota is None:
        raise ConfigError(f"--quota must be a whole number of commands a month; got {text!r}.")
    return quota


def _price(value: object) -> float:
    if value in (None, ""):
        return DEFAULT_PRICE_PER_100K
    text = str(value).strip()
    try:
        price = float(text)
    except ValueError:
        price = -1.0
    if not 0 <= price <= 1000:
        raise ConfigError(f"--price-per-100k must be dollars from 0 to 1000; got {text!r}.")
    return price


# BullMQ keeps one data point a minute: a year of them at most.
MAX_METRICS_DATA_POINTS = 525_600


def _data_points(value: object) -> int | None:
    if value is None:
        return None
    text = str(value).strip()
    points = whole_number(text, 1, MAX_METRICS_DATA_POINTS)
    if points is None:
        raise ConfigError(
            "--metrics-max-data-points (DRAINBOARD_METRICS_MAX_DATA_POINTS) must be a number of"
            f" minutes from 1 to {MAX_METRICS_DATA_POINTS}, not {text!r}."
        )
    return points


def _pool_size(value: object) -> int:
    if value is None:
        return DEFAULT_REDIS_MAX_CONNECTIONS
    text = str(value).strip()
    size = whole_number(text, 1, 10_000)
    if size is None:
        raise ConfigError(
            f"DRAINBOARD_REDIS_MAX_CONNECTIONS must be a number from 1 to 10000, not {text!r}."
        )
    return size


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def _optional_flag(value: str) -> bool | None:
    """A flag that may be left unset: then the server is asked."""
    return _flag(value) if value.strip() else None


def _locale(value: object) -> str:
    if value is None:
        return i18n.DEFAULT_LOCALE
    found = i18n.known_locale(str(value))
    if found is None:
        raise ConfigError(
            f"DRAINBOARD_LOCALE must be one of {', '.join(i18n.LOCALES)}, not {value!r}."
        )
    return found
