"""Roles per queue, by every route that changes something.

The role matrix: every write route of the route table (found there, so a route added later is in
it or fails the test) x every role x both ways of signing in (a session from the users file's
password sign-in, an API token of the users file) x a queue inside the grant's pattern and one
outside it. Before each cell Redis is put back to the same snapshot (two queues, jobs in every
state, a job scheduler); after it, a call beyond the role must have left every key as it was
(not only answered 403), and a call within it must have succeeded and left the other queue
alone.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from bullmq import Queue
from starlette.routing import Route

from dashboard.access import Role, hash_password, hash_token
from dashboard.bullmq.keys import audit_key
from dashboard.config import ConfigError, Settings
from dashboard.web import create_app, registry
from tests.helpers import (
    ALERT_SECRET,
    AlertReceiver,
    AppClient,
    alert_rules_file,
    make_jobs,
    serving,
)

BASE = "/admin/queues"
IN, OUT = "in-q", "out-q"  # the grants say `in-*`: the second queue is outside every pattern
PASSWORD = "correct horse"
# What the roles mean, written here rather than read from the table under test: an operator may
# do these, everything else that writes needs an admin, and signing in and out is open.
OPERATOR_ROUTES = {
    *("retry_job", "promote_job", "remove_job", "remove_job_from_its_page", "act_on_selected"),
    *("retry_all", "promote_all", "clean", "pause", "resume", "pause_all", "resume_all"),
    *("drain_now", "rescan"),
}
OPEN_ROUTES = {"login", "logout"}
ROLES = (Role.VIEWER, Role.OPERATOR, Role.ADMIN)
KINDS = ("session", "token")


async def noop(job: Any) -> None:
    return None


# Drain now runs these, so that a permitted drain succeeds.
PROCESSORS = {IN: noop, OUT: noop}


def token_of(role: Role) -> str:
    return f"token-of-the-{role.label}-0123456789"


def users_file(path: Path, pattern: str = "in-*", extra: str = "") -> str:
    """A user and a token for each role, each granted that role on `pattern` and nothing else."""
    entries = []
    for role in ROLES:
        grants = f'grants = [{{ queues = "{pattern}", role = "{role.label}" }}]'
        entries.append(
            f'[[user]]\nname = "{role.label}"\npassword = "{hash_password(PASSWORD)}"\n{grants}\n'
        )
        entries.append(
            f'[[token]]\nname = "{role.label}"\nhash = "{hash_token(token_of(role))}"\n{grants}\n'
        )
    path.write_text("\n".join(entries) + extra)
    return str(path)


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: str = ""
    json: Any = None
    paused: bool = False  # the call needs the queues paused first (resume, obliterate)


def call_for(name: str, route: Route, queue: str, ids: dict[str, str]) -> Call:
    """The request that makes route `name` succeed on `queue`, for a caller allowed to."""
    method = next(m for m in sorted(route.methods or ()) if m != "HEAD")
    job = {
        "retry_job": ids["failed"],
        "promote_job": ids["delayed"],
        "remove_job": ids["waiting"],
        "remove_job_from_its_page": ids["waiting"],
        "update_data": ids["waiting"],
        "duplicate_job": ids["prioritized"],
        "change_priority": ids["waiting"],
        "change_delay": ids["delayed"],
    }.get(name, "")
    path = route.path.format(queue=queue, job_id=job, scheduler_id="tick")
    query = {
        "retry_all": "status=failed",
        "clean": "status=completed&grace=0",
        "remove_job_from_its_page": "status=waiting",
        "change_priority": "priority=2",
        "change_delay": "delay=5",
        "obliterate": f"confirm={queue}",
        "set_concurrency": "concurrency=3",
        "set_rate_limit": "max=10&duration=1000",
        "drain_now": f"queue={queue}",
    }.get(name, "")
    body = {
        "act_on_selected": {"action": "retry", "ids": [ids["failed"]]},
        "add_job": {"name": "added", "data": {"n": 1}},
        "update_data": {"edited": True},
    }.get(name)
    paused = name in ("resume", "resume_all", "obliterate")
    return Call(method, BASE + path, query, body, paused)


def write_routes() -> dict[str, Route]:
    routes = {
        route.name: route
        for route in registry.base_routes()
        if isinstance(route, Route) and set(route.methods or ()) - {"GET", "HEAD"}
    }
    assert len(routes) >= 26, "the route table lost its write routes"
    return routes


def test_every_write_route_has_a_role_and_only_signing_in_is_open() -> None:
    routes = write_routes()
    assert set(routes) == set(registry.WRITE_ROLES), set(routes) ^ set(registry.WRITE_ROLES)
    assert {n for n, role in registry.WRITE_ROLES.items() if role is None} == OPEN_ROUTES


@dataclass
class World:
    r: aioredis.Redis
    running: dict[bytes, bytes]
    paused: dict[bytes, bytes]
    ids: dict[str, str]
    clients: dict[tuple[Role, str], tuple[AppClient, dict[str, str]]]


async def snapshot(r: aioredis.Redis) -> dict[bytes, bytes]:
    """Every key and its value (DUMP), the audit trail aside: a refused call is recorded there,
    as it should be, and changes nothing else."""
    keys = sorted([k async for k in r.scan_iter(count=1000)])
    audit = audit_key("bull").encode()
    values = [await r.dump(k) for k in keys]
    return {k: v for k, v in zip(keys, values, strict=True) if k != audit}


async def settled(r: aioredis.Redis, ids: dict[str, str]) -> dict[bytes, bytes]:
    """The snapshot once the seeding's last write has landed: the bullmq package records a
    failed job's attempts made (`atm`) after the call that failed it has returned."""
    for _ in range(100):
        if all([await r.hexists(f"bull:{q}:{ids['failed']}", "atm") for q in (IN, OUT)]):
            return await snapshot(r)
        await asyncio.sleep(0.05)
    raise AssertionError("the failed jobs never recorded their attempt")


async def restore(r: aioredis.Redis, keys: dict[bytes, bytes]) -> None:
    await r.flushdb()
    pipe = r.pipeline(transaction=False)
    for key, value in keys.items():
        pipe.restore(key, 0, value)
    await pipe.execute()


@pytest.fixture(scope="module")
def hook() -> Iterator[str]:
    """A webhook for the alerts' test send, which an admin may make."""
    receiver = AlertReceiver()
    with serving(receiver.app) as origin:
        yield f"{origin}/hooks/{ALERT_SECRET}"


@pytest.fixture
async def world(valkey_url: str, tmp_path: Path, hook: str) -> AsyncIterator[World]:
    r = aioredis.Redis.from_url(valkey_url)
    await r.flushdb()
    ids = {}
    for name in (IN, OUT):
        ids = await make_jobs(valkey_url, name)
        queue = Queue(name, {"connection": valkey_url})
        await queue.upsertJobScheduler("tick", {"pattern": "0 3 * * *"}, "tick", {})
        await queue.close()
    running = await settled(r, ids)
    for name in (IN, OUT):
        queue = Queue(name, {"connection": valkey_url})
        await queue.pause()
        await queue.close()
    paused = await snapshot(r)
    alerts = alert_rules_file(tmp_path, hook, '[[rule]]\nkind = "backlog"\ncount = 5\n')
    settings = Settings(
        redis_url=valkey_url,
        queues=(IN, OUT),
        users=users_file(tmp_path / "users.toml"),
        processors="tests.integration.test_roles:PROCESSORS",
        alerts=alerts,
        secret_key="k",
    )
    app = create_app(settings)
    clients: dict[tuple[Role, str], tuple[AppClient, dict[str, str]]] = {}
    for role in ROLES:
        person = AppClient(app)
        signed = await person.post(
            f"{BASE}/login",
            data={"username": role.label, "password": PASSWORD},
            headers={"origin": "http://testserver"},
        )
        assert signed.status_code == 303, signed.text
        page = await person.get(f"{BASE}/")
        csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text)
        assert csrf, page.text[:300]
        clients[role, "session"] = (
            person,
            {
                "origin": "http://testserver",
                "x-csrf-token": csrf.group(1),
                "hx-request": "true",
            },
        )
        clients[role, "token"] = (
            AppClient(app),
            {
                "authorization": f"Bearer {token_of(role)}",
                "accept": "application/json",
            },
        )
    try:
        yield World(r, running, paused, ids, clients)
    finally:
        for client, _ in clients.values():
            await client.aclose()
        await app.state.board.exporter.counts.close()
        await r.aclose()


def of_queue(keys: dict[bytes, bytes], queue: str) -> dict[bytes, bytes]:
    return {k: v for k, v in keys.items() if k.startswith(f"bull:{queue}:".encode())}


async def test_the_role_matrix(world: World) -> None:
    routes = write_routes()
    cells = refused = allowed = 0
    for name, route in sorted(routes.items()):
        if name in OPEN_ROUTES:
            continue  # open to anyone, as the test above checks
        need = Role.OPERATOR if name in OPERATOR_ROUTES else Role.ADMIN
        names_queue = "{queue}" in route.path or name == "drain_now"
        for queue in (IN, OUT) if names_queue else (None,):
            call = call_for(name, route, queue or IN, world.ids)
            before = world.paused if call.paused else world.running
            for role in ROLES:
                for kind in KINDS:
                    await restore(world.r, before)
                    client, headers = world.clients[role, kind]
                    if call.json is not None:  # a JSON body: as a script of this session
                        headers = {k: v for k, v in headers.items() if k != "hx-request"}
                    url = call.path + (f"?{call.query}" if call.query else "")
                    answer = await client.request(call.method, url, json=call.json, headers=headers)
                    after = await snapshot(world.r)
                    cell = f"{name} on {queue or 'every queue'} as {role.label} by {kind}"
                    permitted = role >= need and queue != OUT
                    cells += 1
                    if permitted:
                        allowed += 1
                        assert answer.status_code < 400, (
                            f"{cell}: {answer.status_code} {answer.text}"
                        )
                        # It acted on its queue only: the other one is as it was.
                        assert of_queue(after, OUT) == of_queue(before, OUT), cell
                    else:
                        refused += 1
                        assert answer.status_code in (400, 403, 404), f"{cell}: {answer.text}"
                        changed = sorted(
                            k for k in set(after) | set(before) if after.get(k) != before.get(k)
                        )
                        assert after == before, (
                            f"{cell} changed Redis: {answer.status_code} {changed}"
                        )
                        if kind == "token" and answer.status_code == 403:
                            said = answer.json()["error"]  # one sentence naming the role needed
                            assert re.fullmatch(r"This needs the \w+ role [^.]+\.", said), said
    acting = {n: r for n, r in routes.items() if n not in OPEN_ROUTES}
    per_queue = sum(1 for n, r in acting.items() if "{queue}" in r.path or n == "drain_now")
    queueless = len(acting) - per_queue
    size = (per_queue * 2 + queueless) * len(ROLES) * len(KINDS)
    print(
        f"role matrix: {per_queue} queue routes x 2 queues + {queueless} queue-less routes,"
        f" x {len(ROLES)} roles x {len(KINDS)} sign-in kinds = {cells} cells"
        f" ({allowed} allowed, {refused} refused)"
    )
    assert cells == size and allowed and refused


async def test_a_bad_users_file_stops_the_start_with_one_sentence(tmp_path: Path) -> None:
    bad = tmp_path / "users.toml"
    bad.write_text('[[user]]\nname = "ana"\npassword = "plain text"\ngrants = []\n')
    with pytest.raises(ConfigError, match=r"password must be a hash made by"):
        Settings.from_env({"DRAINBOARD_USERS": str(bad)})
    with pytest.raises(ConfigError, match=r"cannot be read"):
        Settings.from_env({}, users=str(tmp_path / "missing.toml"))
    bad.write_text("[[user]\n")
    with pytest.raises(ConfigError, match=r"is not valid TOML"):
        Settings.from_env({}, users=str(bad))
