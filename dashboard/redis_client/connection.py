"""The one way Drainboard opens a Redis client: a plain one, a Redis Cluster client, or one that
asks Redis Sentinel where the primary is (`redis+sentinel://`)."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import hiredis
import redis
import redis.asyncio as aioredis
from redis._parsers.hiredis import _AsyncHiredisParser
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import Connection
from redis.asyncio.observability import recorder
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelManagedConnection
from redis.backoff import NoBackoff
from redis.event import AsyncAfterConnectionReleasedEvent, AsyncReAuthConnectionListener

from dashboard.redis_client.counting import count_connect

DEFAULT_REDIS_URL = "redis://localhost:6379"

# Either kind of client: the code above this module uses the commands both have.
Client = aioredis.Redis | RedisCluster

log = logging.getLogger("drainboard")


class HiredisPackingConnection(Connection):
    """redis-py's asyncio connection encodes every command in pure Python (about 60 µs for a
    25-argument EVALSHA here); hiredis, already installed for parsing, does it in C."""

    # The CLIENT SETNAME given to each new connection (see `named`).
    label: str | None = None

    def pack_command(self, *args: Any) -> list[bytes]:
        if isinstance(args[0], str) and " " in args[0]:
            args = (*args[0].split(), *args[1:])
        return [hiredis.pack_command(args)]

    async def on_connect_check_health(self, check_health: bool = True) -> None:
        """Name the connection, so CLIENT LIST never takes the dashboard (or the drain Workers
        sharing its connections) for a BullMQ worker. Unlike redis-py's `client_name`, a server
        that refuses CLIENT SETNAME (some managed services) still gets a working connection.

        The handshake's commands (HELLO, CLIENT SETNAME, CLIENT SETINFO...) are counted for
        whoever opened the connection: each one Redis answered without an error, as INFO
        commandstats counts them (a refused CLIENT SETINFO on Redis 7.0 is not)."""
        answered = 0
        read = self.read_response

        async def counted_read(*args: Any, **kwargs: Any) -> Any:
            nonlocal answered
            reply = await read(*args, **kwargs)  # an error reply raises: not counted
            answered += 1
            return reply

        self.read_response = counted_read  # type: ignore[method-assign]
        try:
            await super().on_connect_check_health(check_health)
            if self.label:
                try:
                    await self.send_command("CLIENT", "SETNAME", self.label, check_health=False)
                    await self.read_response()
                except redis.ResponseError:
                    pass
        finally:
            del self.read_response
            count_connect(answered)
        counts_blocked_on_return[(self.host, self.port)] = _counts_blocked_on_return(
            self.handshake_metadata
        )


# What redis-py's cluster client sends of its own accord: the slots' map (CLUSTER SLOTS), the
# commands' key positions (COMMAND, COMMAND GETKEYS), a redirect's ASKING, a replica read's
# READONLY. Redis executes each: counted for whoever caused them, as a handshake is.
CLUSTER_CLIENT_OWN = {"CLUSTER SLOTS", "COMMAND", "COMMAND GETKEYS", "ASKING", "READONLY"}


class ClusterNodeConnection(HiredisPackingConnection):
    """A cluster node's connection, counting what the cluster client sends by itself: the
    dashboard's own commands are counted where it sends them."""

    own_sent = 0  # CLUSTER_CLIENT_OWN commands sent, their replies not read yet

    def pack_command(self, *args: Any) -> list[bytes]:
        if isinstance(args[0], str) and args[0].upper() in CLUSTER_CLIENT_OWN:
            self.own_sent += 1
        return super().pack_command(*args)

    async def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().read_response(*args, **kwargs)
        except redis.ResponseError:  # executed, with an error for an answer: Redis counts it
            raise
        except BaseException:
            self.own_sent = 0  # the connection is closed: its commands may never have run
            raise
        finally:
            if self.own_sent:
                self.own_sent -= 1
                count_connect(1)


# Per server (host, port), from the HELLO answer of a connection to it: whether INFO
# commandstats counts a blocking command when it returns (Redis 7.2 on, Valkey) or when it
# starts blocking (Redis 7.0 and older).
counts_blocked_on_return: dict[tuple[str, int], bool] = {}


def _counts_blocked_on_return(hello: Any) -> bool:
    if not isinstance(hello, dict):
        return True
    version = str(hello.get("version") or hello.get(b"version") or "")
    numbers = tuple(int(n) for n in version.split(".")[:2] if n.isdigit())
    return numbers >= (7, 2) or not numbers


def blocked_reads_counted_on_return(client: Client, key: str) -> bool:
    """Whether the server holding `key` counts a blocking read of it when it returns; True when
    unknown."""
    if isinstance(client, RedisCluster):
        node = client.get_node_from_key(key)
        address = (node.host, int(node.port)) if node is not None else ("", 0)
    else:
        options = client.connection_pool.connection_kwargs
        address = (options.get("host", ""), options.get("port", 0))
    return counts_blocked_on_return.get(address, True)


@functools.cache  # one class per label: connect() runs at every watcher (re)start
def named(label: str) -> type[HiredisPackingConnection]:
    return type("NamedConnection", (HiredisPackingConnection,), {"label": label})


@functools.cache
def named_cluster_node(label: str) -> type[ClusterNodeConnection]:
    return type("NamedClusterNodeConnection", (ClusterNodeConnection,), {"label": label})


class CountedCluster(RedisCluster):
    """A cluster client whose nodes' connections are named and count what the client sends by
    itself (redis-py's RedisCluster takes no connection class)."""

    def __init__(self, *args: Any, label: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        connection_class = named_cluster_node(label)
        # The nodes found later are made from these options; the starting ones already exist.
        self.nodes_manager.connection_kwargs["connection_class"] = connection_class
        for node in self.nodes_manager.startup_nodes.values():
            node.connection_class = connection_class


@functools.cache
def named_for_sentinel(label: str) -> type[HiredisPackingConnection]:
    """A connection that asks Sentinel for the primary's address (and asks again when the one
    it knew has become a replica), named and packed as the others."""
    bases = (SentinelManagedConnection, HiredisPackingConnection)
    return type("NamedSentinelConnection", bases, {"label": label})


SENTINEL_SCHEME = "redis+sentinel://"
DEFAULT_SENTINEL_PORT = 26379


@dataclass(frozen=True)
class SentinelAddress:
    """`redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/service[/db]`: the
    sentinels to ask, the name they monitor the primary under, and the credentials and database
    of the primary itself (Sentinels are asked without credentials)."""

    sentinels: list[tuple[str, int]]
    service: str
    db: int
    username: str | None
    password: str | None


class SentinelUrlError(ValueError):
    """The URL is not a usable `redis+sentinel://` address; the message says why."""


def parse_sentinel_url(url: str) -> SentinelAddress:
    rest = url[len(SENTINEL_SCHEME) :]
    authority, _, path = rest.partition("/")
    userinfo, _, hosts = authority.rpartition("@")
    username, _, password = userinfo.partition(":") if userinfo else ("", "", "")
    sentinels = []
    for host in filter(None, hosts.split(",")):
        name, _, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
        if not (port.isdigit() if port else True):
            raise SentinelUrlError(f"The Sentinel address {host!r} has no valid port.")
        sentinels.append((name, int(port) if port else DEFAULT_SENTINEL_PORT))
    parts = [unquote(part) for part in path.split("/") if part]
    if not sentinels or not parts or len(parts) > 2 or (len(parts) == 2 and not parts[1].isdigit()):
        raise SentinelUrlError(
            "A Sentinel URL reads redis+sentinel://[:password@]host:26379[,host:26379]/"
            f"<primary name>[/db]; got {url.split('@')[-1]!r}."
        )
    return SentinelAddress(
        sentinels,
        parts[0],
        int(parts[1]) if len(parts) == 2 else 0,
        unquote(username) or None,
        unquote(password) or None,
    )


def _sentinel_client(
    url: str, options: dict[str, Any], max_connections: int | None, name: str
) -> aioredis.Redis:
    address = parse_sentinel_url(url)
    asking = {"socket_connect_timeout": 3, "socket_timeout": 3}
    manager = Sentinel(address.sentinels, sentinel_kwargs=asking)
    primary: aioredis.Redis = manager.master_for(
        address.service,
        connection_class=named_for_sentinel(name),
        db=address.db,
        username=address.username,
        password=address.password,
        max_connections=max_connections,
        retry_on_timeout=False,
        **options,
    )
    return primary


# With a bounded pool, how long a command waits for a free connection before it gives up.
POOL_WAIT_S = 5.0


class CheckoutPool(aioredis.BlockingConnectionPool):
    """redis-py's bounded pool, with a cheaper checkout when nothing is contended.

    Its own get_connection and release cost some 14 µs together (an asyncio.Condition, a lock,
    a timeout context, four metrics calls and an event dispatch, each awaited), paid at every
    read of every page. Here, when a connection is idle in the pool and nothing else is going on
    (no task waiting for a connection, no re-authentication or maintenance holding the pool's
    lock, no metrics collector, no re-authentication due), it is taken and given back without
    awaiting anything: in one step of the event loop, which nothing can interleave. In every
    other case (the pool is empty or full, a connection must be opened, a waiter must be woken,
    a connection is marked for reconnection or has data or EOF pending) redis-py's own methods
    do the work, so the bound, the wait of `timeout` and its "No connection available." error,
    and the checks on a connection handed out are redis-py's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A released connection's only listener by default re-authenticates it when a
        # streaming credential provider left it a token (checked at release); the dashboard
        # registers no other.
        # The fast path reads redis-py's private state (pinned to 8.x in pyproject.toml): a
        # release whose internals moved finds it missing here or below, and every checkout then
        # takes redis-py's own path.
        try:
            dispatcher: Any = self._event_dispatcher
            listeners = dispatcher._event_listeners_mapping.get(
                AsyncAfterConnectionReleasedEvent, []
            )
        except AttributeError:
            listeners = [None]
        self._plain_release = all(type(each) is AsyncReAuthConnectionListener for each in listeners)

    def _uncontended(self) -> bool:
        try:
            return (
                not self._condition.locked()
                and not self._condition._waiters
                and not self._lock.locked()
                and recorder._async_collector_resolved
                and recorder._async_metrics_collector is None
            )
        except AttributeError:
            return False

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        if self._available_connections and not args and not kwargs and self._uncontended():
            connection = self._available_connections[-1]
            if _ready(connection):
                self._available_connections.pop()
                self._in_use_connections.add(connection)
                return connection
        return await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]

    async def release(self, connection: Any) -> None:
        if (
            self._plain_release
            and getattr(connection, "_re_auth_token", False) is None
            and not connection.should_reconnect()
            and self._uncontended()
        ):
            self._in_use_connections.remove(connection)  # KeyError for a stranger, as redis-py
            self._available_connections.append(connection)
            return
        await super().release(connection)


def _ready(connection: Any) -> bool:
    """What redis-py's ensure_connection asks of a pooled connection (connected, no reply or
    push left unread, not closed or reset by the server: the hiredis parser's can_read()
    without raising), asked without awaiting. False sends it through ensure_connection, which
    reconnects it or raises as redis-py does."""
    # Typed loosely: redis-py leaves the parser's stream possibly None and its buffer private.
    parser: Any = getattr(connection, "_parser", None)
    if not connection.is_connected or type(parser) is not _AsyncHiredisParser:
        return False
    try:
        stream: Any = parser._stream
        reader: Any = parser._reader
        return bool(
            parser._connected
            and not reader.has_data()
            and not stream.at_eof()
            and stream.exception() is None
            and not stream._buffer
        )
    except AttributeError:
        return False


# Set while a write that must not run twice is on the wire (see `sent_once`).
_sent_once: ContextVar[bool] = ContextVar("sent_once", default=False)


def _may_resend(error: Exception) -> bool:
    return not _sent_once.get()


def resending() -> Retry:
    """A command whose connection dropped (a CLIENT KILL, a proxy's idle cut, a restart) is sent
    once more on a new connection, except inside `sent_once`. Once: an unreachable server then
    costs two refused connects, not seconds of back-off before the page can say so."""
    return Retry(NoBackoff(), 1, is_retryable=_may_resend)


@contextlib.contextmanager
def sent_once() -> Iterator[None]:
    """Commands here are never re-sent after a dropped connection: a write that is not
    idempotent (adding a job under a new id) may have run before the connection dropped, and
    sending it again would store it twice. The caller says so instead (ActionInterrupted)."""
    token = _sent_once.set(True)
    try:
        yield
    finally:
        _sent_once.reset(token)


def connect(
    url: str,
    socket_timeout: float | None = None,
    cluster: bool = False,
    max_connections: int | None = None,
    blocking: bool = False,
    name: str = "drainboard:web",
) -> Client:
    """A client that fails fast when Redis is unreachable. Reads carry their own deadline
    (counting.ReadDeadline): redis-py's per-reply socket timeout costs a third of a page's time.

    With `cluster`, the URL names any one node and the client discovers the others. It does
    not require every slot to be served: queues on the nodes that are up stay readable while
    another node is down. A `blocking` cluster client (the live watcher's) never re-sends a
    command after a dropped connection: dropping it is how a blocked read is ended.

    With `max_connections` (single server), the pool never opens more than that: a command
    beyond it waits up to POOL_WAIT_S for a connection to come back, then fails with
    "No connection available." (CheckoutPool: redis-py's, with a cheaper uncontended checkout)."""
    options: dict[str, Any] = {
        "decode_responses": True,
        "encoding_errors": "replace",
        "socket_connect_timeout": 3,
        "socket_timeout": socket_timeout,
    }
    if cluster:
        if blocking:
            options["retry"] = Retry(NoBackoff(), 0)
        if url.startswith("redis://"):  # as below: TLS keeps redis-py's own connection class
            return CountedCluster.from_url(url, require_full_coverage=False, label=name, **options)
        return RedisCluster.from_url(url, require_full_coverage=False, **options)
    options["retry"] = resending()
    if url.startswith(SENTINEL_SCHEME):
        return _sentinel_client(url, options, max_connections, name)
    if url.startswith("redis://"):  # TLS and Unix sockets keep redis-py's own connection classes
        options["connection_class"] = named(name)
    if max_connections is None:
        return aioredis.Redis.from_url(url, retry_on_timeout=False, **options)
    pool = CheckoutPool.from_url(
        url, max_connections=max_connections, timeout=POOL_WAIT_S, retry_on_timeout=False, **options
    )
    client = aioredis.Redis(connection_pool=pool)
    client.auto_close_connection_pool = True  # aclose() closes the pool, as from_url's does
    return client


def is_cluster(client: Client) -> bool:
    return isinstance(client, RedisCluster)


async def on_primaries(redis: Client, command: str, *args: Any) -> list[Any]:
    """One reply per primary: a cluster's nodes each count and hold only their own share."""
    if is_cluster(redis):
        replies = await getattr(redis, command)(*args, target_nodes=RedisCluster.PRIMARIES)
        return list(replies.values())
    return [await getattr(redis, command)(*args)]


def cluster_mode(url: str, forced: bool | None) -> bool:
    """Whether `url` names a Redis Cluster node: as forced (`--cluster`, REDIS_CLUSTER), or
    asked once at start-up with one `INFO cluster`. An unreachable server counts as a single
    node, with a warning, since the dashboard must still start and say Redis is down."""
    if forced is not None:
        return forced
    if url.startswith(SENTINEL_SCHEME):  # Sentinel watches a primary and its replicas
        return False
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3) as client:
            return bool(client.info("cluster").get("cluster_enabled"))
    except redis.RedisError as err:
        log.warning(
            "could not ask %s whether it is a cluster (%s); treating it as a single server "
            "(force cluster mode with --cluster or REDIS_CLUSTER=1)",
            url.split("@")[-1],
            err,
        )
        return False


async def drop_connections(client: Client) -> None:
    """Close every connection of the client, busy ones too: a blocked read ends at once. The
    client stays usable; it reconnects (and a cluster client rediscovers) on its next command."""
    if isinstance(client, RedisCluster):
        await client.aclose()
    else:
        await client.connection_pool.disconnect(inuse_connections=True)
