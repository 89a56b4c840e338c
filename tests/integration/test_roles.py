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
import contextlib
import json
import logging
import os
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
from dashboard.bullmq.keys import alert_sends_key, alert_state_key, audit_key
from dashboard.config import ConfigError, NamedConnection, Settings
from dashboard.web import create_app, registry
from tests.helpers import (
    ALERT_SECRET,
    AlertReceiver,
    AppClient,
    OwnRedis,
    alert_rules_file,
    make_client,
    make_jobs,
    serving,
)

BASE = "/admin/queues"
IN, OUT = "in-q", "out-q"  # the grants say `in-*`: the second queue is outside every pattern
PASSWORD = "correct horse"
# What the roles mean, written here rather than read from the table under test: a viewer may
# choose a language, an operator may do these, everything else that writes needs an admin, and
# signing in and out is open.
OPERATOR_ROUTES = {
    *("retry_job", "promote_job", "remove_job", "remove_job_from_its_page", "act_on_selected"),
    *("retry_all", "promote_all", "clean", "pause", "resume", "pause_all", "resume_all"),
    *("drain_now", "rescan"),
}
# Anyone signed in: this browser's language, kept in a cookie.
VIEWER_ROUTES = {"set_language"}
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


READS = {
    b"string": lambda p, k: p.get(k),
    b"hash": lambda p, k: p.hgetall(k),
    b"list": lambda p, k: p.lrange(k, 0, -1),
    b"set": lambda p, k: p.smembers(k),
    b"zset": lambda p, k: p.zrange(k, 0, -1, withscores=True),
    b"stream": lambda p, k: p.xrange(k),
}


async def contents(r: aioredis.Redis) -> dict[bytes, Any]:
    """Every key's value as read (DUMP bytes differ for equal hashes written in another order),
    the audit trail aside: a refused call is recorded there, as it should be."""
    keys = [k async for k in r.scan_iter(count=1000) if k != audit_key("bull").encode()]
    pipe = r.pipeline(transaction=False)
    for key in keys:
        pipe.type(key)
    kinds = await pipe.execute()
    for key, kind in zip(keys, kinds, strict=True):
        READS[kind](pipe, key)
    values = await pipe.execute()
    return {
        k: (sorted(v.items()) if isinstance(v, dict) else sorted(v) if isinstance(v, set) else v)
        for k, v in zip(keys, values, strict=True)
    }


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


def of_queue(keys: dict[bytes, Any], queue: str) -> dict[bytes, Any]:
    return {k: v for k, v in keys.items() if k.startswith(f"bull:{queue}:".encode())}


async def test_the_role_matrix(world: World) -> None:
    routes = write_routes()
    cells = refused = allowed = 0
    for name, route in sorted(routes.items()):
        if name in OPEN_ROUTES:
            continue  # open to anyone, as the test above checks
        need = (
            Role.VIEWER
            if name in VIEWER_ROUTES
            else Role.OPERATOR
            if name in OPERATOR_ROUTES
            else Role.ADMIN
        )
        names_queue = "{queue}" in route.path or name == "drain_now"
        for queue in (IN, OUT) if names_queue else (None,):
            call = call_for(name, route, queue or IN, world.ids)
            before = world.paused if call.paused else world.running
            for role in ROLES:
                for kind in KINDS:
                    await restore(world.r, before)
                    was = await contents(world.r)
                    client, headers = world.clients[role, kind]
                    if call.json is not None:  # a JSON body: as a script of this session
                        headers = {k: v for k, v in headers.items() if k != "hx-request"}
                    url = call.path + (f"?{call.query}" if call.query else "")
                    answer = await client.request(call.method, url, json=call.json, headers=headers)
                    after = await contents(world.r)
                    cell = f"{name} on {queue or 'every queue'} as {role.label} by {kind}"
                    permitted = role >= need and queue != OUT
                    cells += 1
                    if permitted:
                        allowed += 1
                        assert answer.status_code < 400, (
                            f"{cell}: {answer.status_code} {answer.text}"
                        )
                        # It acted on its queue only: the other one is as it was.
                        assert of_queue(after, OUT) == of_queue(was, OUT), cell
                    else:
                        refused += 1
                        assert answer.status_code in (400, 403, 404), f"{cell}: {answer.text}"
                        changed = sorted(k for k in {*after, *was} if after.get(k) != was.get(k))
                        assert after == was, f"{cell} changed Redis: {answer.status_code} {changed}"
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


ANA = "ana's password"


def team_file(path: Path) -> str:
    """Ana: operator on billing-*, viewer on mail, nothing on secret-q. A CI token: operator on
    billing-*."""
    path.write_text(
        f'[[user]]\nname = "ana"\npassword = "{hash_password(ANA)}"\n'
        'grants = [{ queues = "billing-*", role = "operator" },'
        ' { queues = "mail", role = "viewer" }]\n'
        f'[[token]]\nname = "ci"\nhash = "{hash_token("ci-token")}"\n'
        'grants = [{ queues = "billing-*", role = "operator" }]\n'
    )
    return str(path)


@contextlib.asynccontextmanager
async def signed_in(
    app: Any, username: str, password: str
) -> AsyncIterator[tuple[AppClient, dict[str, str]]]:
    person = AppClient(app)
    signed = await person.post(
        f"{BASE}/login",
        data={"username": username, "password": password},
        headers={"origin": "http://testserver"},
    )
    assert signed.status_code == 303, signed.text
    page = await person.get(f"{BASE}/")
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text)
    assert csrf
    try:
        yield person, {"origin": "http://testserver", "x-csrf-token": csrf.group(1)}
    finally:
        await person.aclose()


async def fired(url: str, rule: str, queues: tuple[str, ...]) -> None:
    """Alerts about `queues` as if `rule` had fired for them and been sent."""
    r = aioredis.Redis.from_url(url)
    for queue in queues:
        said = json.dumps({"since": 1, "text": f"[firing] {queue}: backlog"})
        await r.hset(alert_state_key("bull"), f"{rule}|{queue}", said)
        entry = {
            **{"queue": queue, "event": "firing", "text": f"[firing] {queue}: backlog"},
            **{"at": 1, "destination": "ops", "result": "200"},
        }
        await r.xadd(alert_sends_key("bull"), {"entry": json.dumps(entry)})
    await r.aclose()


def team_settings(tmp_path: Path, redis_url: str, **more: Any) -> Settings:
    """The team's users file, root's password, and a rule for alerts about a hidden queue
    (written by `fired` as if it had fired)."""
    return Settings(
        redis_url=redis_url,
        users=team_file(tmp_path / "users.toml"),
        username="root",
        password="root-pw",
        alerts=alert_rules_file(
            tmp_path, "http://127.0.0.1:9/", '[[rule]]\nkind = "backlog"\ncount = 1000\n'
        ),
        **more,
    )


@pytest.fixture
async def team(server_url: str, tmp_path: Path) -> AsyncIterator[tuple[Any, dict[str, str]]]:
    ids = {}
    for name in ("billing-eu", "mail", "secret-q"):
        ids = await make_jobs(server_url, name)
    settings = team_settings(tmp_path, server_url, cron_tokens=("cron-secret",))
    app = create_app(settings)
    await fired(server_url, app.state.board.alerts.config.rules[0].id, ("mail", "secret-q"))
    try:
        yield app, ids
    finally:
        await app.state.board.exporter.counts.close()


async def test_queues_outside_the_grants_are_invisible_everywhere(team: Any) -> None:
    app, ids = team
    async with (
        signed_in(app, "root", "root-pw") as (root, root_headers),
        signed_in(app, "ana", ANA) as (ana, _),
    ):
        # A change to the hidden queue, by someone who sees it, for the trail.
        retried = await root.post(
            f"{BASE}/api/queues/secret-q/jobs/{ids['failed']}/retry", headers=root_headers
        )
        assert retried.status_code == 200
        listed = (await ana.get(f"{BASE}/api/queues")).json()["queues"]
        assert [q["name"] for q in listed] == ["billing-eu", "mail"]
        for path in (
            "/",
            "/queue/mail",
            "/cost",
            "/workers",
            "/search?id=" + ids["failed"],
            "/api/search?id=" + ids["failed"],
            "/api/openapi.json",
            "/api/audit",
            "/audit",
            "/alerts",
            "/api/alerts",
        ):
            page = await ana.get(BASE + path)
            assert page.status_code == 200, (path, page.text[:200])
            assert "secret-q" not in page.text, path
        said = (await ana.get(f"{BASE}/api/alerts")).json()
        assert [f["queue"] for f in said["rules"][0]["firing"]] == ["mail"]
        assert [e["queue"] for e in said["sent"]] == ["mail"]
        for path in (
            "/queue/secret-q",
            f"/queue/secret-q/jobs/{ids['failed']}",
            "/queue/secret-q/metrics",
            "/api/queues/secret-q/jobs",
            f"/api/queues/secret-q/jobs/{ids['failed']}/flow",
            "/api/queues/secret-q/metrics",
            "/api/queues/secret-q/schedulers",
            "/live?queue=secret-q",
        ):
            hidden = await ana.get(BASE + path)
            assert hidden.status_code == 404, path
            assert "There is no queue named" in hidden.text, path
        # As root sees it, it is there: the difference is the grant, not the queue.
        assert (await root.get(f"{BASE}/queue/secret-q")).status_code == 200


async def test_a_user_taken_out_of_the_file_or_given_a_new_password_is_signed_out(
    team: Any, tmp_path: Path
) -> None:
    app, _ = team
    path = tmp_path / "users.toml"

    def rewrite(old: str, new: str, stamp: int) -> None:
        path.write_text(path.read_text().replace(old, new))
        os.utime(path, ns=(stamp, stamp))  # a new modification time, whatever the clock's step

    async with signed_in(app, "ana", ANA) as (ana, _):
        assert (await ana.get(f"{BASE}/queue/mail")).status_code == 200
        old_hash = re.search(r'password = "([^"]+)"', path.read_text())
        assert old_hash
        rewrite(old_hash.group(1), hash_password("a new one"), 1)
        assert (await ana.get(f"{BASE}/queue/mail")).status_code == 303  # to the sign-in form
    async with signed_in(app, "ana", "a new one") as (ana, _):
        assert (await ana.get(f"{BASE}/queue/mail")).status_code == 200
        rewrite('name = "ana"', 'name = "someone-else"', 2)
        assert (await ana.get(f"{BASE}/queue/mail")).status_code == 303
        assert (await ana.get(f"{BASE}/api/queues")).status_code == 401


async def test_the_single_admin_may_rescan_an_empty_redis(server_url: str) -> None:
    """A change naming no queue needs the role on every queue seen; with none seen yet, the
    grants decide, so today's admin still finds the queues made after the start."""
    async with make_client(Settings(redis_url=server_url, token="t0k")) as http:
        found = await http.post(f"{BASE}/rescan", headers={"authorization": "Bearer t0k"})
        assert found.status_code == 303, found.text


async def test_roles_cost_no_redis_command_beyond_what_a_page_costs_today(team: Any) -> None:
    """The grant is recomputed from the file (a stat) on every request: no Redis command."""
    app, _ = team
    async with (
        signed_in(app, "root", "root-pw") as (root, _),
        signed_in(app, "ana", ANA) as (ana, _),
    ):
        for path in ("/queue/mail", "/api/queues/mail/jobs?status=failed"):
            await root.get(BASE + path), await ana.get(BASE + path)  # warm the same caches
            as_root = (await root.get(BASE + path)).headers["x-redis-commands"]
            as_ana = (await ana.get(BASE + path)).headers["x-redis-commands"]
            assert as_ana == as_root, path


async def test_token_roles_the_cron_tokens_apart_and_the_trail_names_user_and_role(
    team: Any,
) -> None:
    app, _ = team
    ci = {"authorization": "Bearer ci-token"}
    async with AppClient(app) as script, signed_in(app, "ana", ANA) as (ana, ana_headers):
        ok = await script.post(f"{BASE}/api/queues/billing-eu/retry?status=failed", headers=ci)
        assert ok.status_code == 200, ok.text
        refused = await script.post(f"{BASE}/api/queues/billing-eu/empty", headers=ci)
        assert refused.status_code == 403
        assert refused.json()["error"] == (
            "This needs the admin role on queue 'billing-eu', and you are operator there."
        )
        assert (await script.get(f"{BASE}/api/queues/mail/jobs", headers=ci)).status_code == 404
        # The cron endpoint keeps its own tokens: a users-file token does not open it, and a
        # cron token is no API token.
        cron = "/api/v1/cron/drain-queues"
        assert (await script.post(cron, headers=ci)).status_code == 401
        crons = {"authorization": "Bearer cron-secret"}
        assert (await script.get(f"{BASE}/api/queues", headers=crons)).status_code == 401
        paused = await ana.post(f"{BASE}/api/queues/billing-eu/pause", headers=ana_headers)
        assert paused.status_code == 200
        viewer = await ana.post(f"{BASE}/api/queues/mail/pause", headers=ana_headers)
        assert viewer.status_code == 403
        trail = (await script.get(f"{BASE}/api/audit", headers=ci)).json()["entries"]
    done = [(e["user"], e["role"], e["action"], e["outcome"]) for e in trail]
    assert ("token ci", "operator", "retry_all", "done") in done
    assert ("token ci", "operator", "empty", "refused") in done
    assert ("ana", "operator", "pause", "done") in done
    # Ana cannot see mail's refusal in the trail read with the CI token: it sees billing-* only.
    assert all(e["queue"] in (None, "billing-eu") for e in trail)


async def test_read_only_caps_everyone_at_viewer(
    server_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Read-only writes nothing to Redis, the trail included: its log lines say the role."""
    caplog.set_level(logging.INFO, "drainboard.audit")
    await make_jobs(server_url, "billing-eu")
    settings = Settings(
        redis_url=server_url, users=team_file(tmp_path / "users.toml"), token="t0k", read_only=True
    )
    async with make_client(settings) as http:
        for headers in ({"authorization": "Bearer t0k"}, {"authorization": "Bearer ci-token"}):
            answer = await http.post(f"{BASE}/api/queues/billing-eu/pause", headers=headers)
            assert answer.status_code == 403
            assert answer.json()["error"] == "This dashboard is read-only; actions are disabled."
    logged = [json.loads(r.getMessage()) for r in caplog.records if r.name == "drainboard.audit"]
    assert [(e["user"], e["role"], e["outcome"]) for e in logged] == [
        ("API token", "viewer", "refused"),
        ("token ci", "viewer", "refused"),
    ]


async def test_the_openapi_document_gives_each_write_its_role_and_403(team: Any) -> None:
    app, _ = team
    async with AppClient(app) as http:
        doc = (
            await http.get(f"{BASE}/api/openapi.json", headers={"authorization": "Bearer ci-token"})
        ).json()
    described = 0
    for (path, method), role in registry.roles_by_operation().items():
        operation = doc["paths"].get(BASE + path, {}).get(method)
        if operation is None:
            assert not path.startswith("/api/"), (path, method)  # every JSON write is described
            continue  # a page's own route (htmx), not part of the JSON API
        described += 1
        assert operation["x-role"] == role.label, (path, method)
        assert f"Needs the {role.label} role" in operation["responses"]["403"]["description"]
    assert described >= 20


async def test_the_quota_and_workers_views_leave_out_clients_of_hidden_queues(
    team: Any, server_url: str
) -> None:
    """A Python worker of secret-q (its connection named as the bullmq package names it) is
    listed for root, and for ana neither under the queue nor under its connection's name."""
    app, _ = team
    worker = aioredis.Redis.from_url(server_url, client_name="bull:secret-q")
    await worker.ping()
    try:
        async with (
            signed_in(app, "root", "root-pw") as (root, _),
            signed_in(app, "ana", ANA) as (ana, _),
        ):
            as_root, as_ana = await asyncio.gather(
                root.get(f"{BASE}/api/quota?seconds=10"), ana.get(f"{BASE}/api/quota?seconds=10")
            )
            assert "secret-q" in (await root.get(f"{BASE}/workers")).text
            assert "secret-q" not in (await ana.get(f"{BASE}/workers")).text
    finally:
        await worker.aclose()
    assert "secret-q" in as_root.text
    assert as_ana.status_code == 200 and "secret-q" not in as_ana.text


async def test_grants_hold_on_every_connection(
    two_redis: tuple[OwnRedis, OwnRedis], tmp_path: Path
) -> None:
    """With several Redis servers, one users file's grants name queues on any of them: Ana sees
    billing-* and mail wherever they are, and neither secret queue (alpha's secret-q, beta's
    secret-b), on each connection's pages, its alerts included; she retries on billing-* on
    beta, and not on mail."""
    alpha, beta = (server.url for server in two_redis)
    for url, names in (
        (alpha, ("billing-eu", "mail", "secret-q")),
        (beta, ("billing-us", "mail", "secret-b")),
    ):
        for name in names:
            ids = await make_jobs(url, name)
    settings = team_settings(
        tmp_path,
        alpha,
        connections=(
            NamedConnection(name="alpha", redis_url=alpha),
            NamedConnection(name="beta", redis_url=beta),
        ),
    )
    app = create_app(settings)
    await fired(beta, app.state.boards["beta"].alerts.config.rules[0].id, ("mail", "secret-b"))
    try:
        async with signed_in(app, "ana", ANA) as (ana, headers):
            listed = (await ana.get(f"{BASE}/api/queues")).json()["queues"]
            assert sorted((q["connection"], q["name"]) for q in listed) == [
                ("alpha", "billing-eu"),
                ("alpha", "mail"),
                ("beta", "billing-us"),
                ("beta", "mail"),
            ]
            for path in ("/", "/c/beta/", "/c/beta/workers", "/c/beta/alerts",
                         "/c/beta/api/alerts", "/c/beta/cost", f"/search?id={ids['failed']}",
                         f"/c/beta/api/search?id={ids['failed']}"):  # fmt: skip
                page = await ana.get(BASE + path)
                assert page.status_code == 200, (path, page.text[:200])
                assert "secret-q" not in page.text and "secret-b" not in page.text, path
            said = (await ana.get(f"{BASE}/c/beta/api/alerts")).json()
            assert [f["queue"] for f in said["rules"][0]["firing"]] == ["mail"]
            assert [e["queue"] for e in said["sent"]] == ["mail"]
            hidden = await ana.get(f"{BASE}/c/beta/queue/secret-b")
            assert hidden.status_code == 404 and "There is no queue named" in hidden.text
            job = f"{BASE}/c/beta/api/queues/%s/jobs/{ids['failed']}/retry"
            assert (await ana.post(job % "billing-us", headers=headers)).status_code == 200
            assert (await ana.post(job % "mail", headers=headers)).status_code == 403
            assert (await ana.post(job % "secret-b", headers=headers)).status_code == 404
    finally:
        for board in app.state.boards.values():
            await board.exporter.counts.close()


async def test_a_read_only_connection_refuses_changes_and_offers_none(
    two_redis: tuple[OwnRedis, OwnRedis],
) -> None:
    """`read_only` on one connection: its writes are refused (403, one sentence) by any URL,
    a bookmark naming no connection included, and its pages offer none; the other connection
    keeps its actions."""
    alpha, beta = (server.url for server in two_redis)
    ids = await make_jobs(alpha, "mail")
    await make_jobs(beta, "sms")
    settings = Settings(
        redis_url=alpha,
        connections=(
            NamedConnection(name="alpha", redis_url=alpha),
            NamedConnection(name="beta", redis_url=beta, read_only=True),
        ),
    )
    failed = ids["failed"]
    async with make_client(settings) as http:
        for path in (
            f"/c/beta/api/queues/sms/jobs/{failed}/retry",
            f"/api/queues/sms/jobs/{failed}/retry",
            f"/api/queues/sms/jobs/{failed}/retry?connection=beta",
            "/c/beta/api/drain",
            "/c/beta/api/queues/sms/pause",
        ):
            refused = await http.post(BASE + path)
            assert refused.status_code == 403, (path, refused.text)
            said = refused.json()["error"]
            assert said == "The connection 'beta' is read-only; actions are disabled there."
        job = (await http.get(f"{BASE}/c/beta/api/queues/sms/jobs/{failed}")).json()
        assert job["state"] == "failed"
        on_beta = (await http.get(f"{BASE}/c/beta/queue/sms?status=failed")).text
        on_alpha = (await http.get(f"{BASE}/c/alpha/queue/mail?status=failed")).text
        assert "Retry all" in on_alpha and "Retry all" not in on_beta
        front = (await http.get(f"{BASE}/")).text
        assert front.count(">Drain now</button>") == 1 and f"{BASE}/c/alpha/api/drain" in front
        retried = await http.post(f"{BASE}/c/alpha/api/queues/mail/jobs/{failed}/retry")
        assert retried.status_code == 200, retried.text


async def test_the_first_connection_read_only_is_refused_by_urls_naming_none(
    two_redis: tuple[OwnRedis, OwnRedis],
) -> None:
    """A URL naming no connection acts on the first one, or on the one holding its queue: a
    read-only first connection is refused there too; a queue on both is a 409 to name one; a
    connection that is down leaves the writes of the others alone; its manage page says why
    it offers nothing."""
    alpha, beta = (server.url for server in two_redis)
    ids = await make_jobs(alpha, "mail")
    await make_jobs(beta, "mail")
    await make_jobs(beta, "sms")
    settings = Settings(
        redis_url=alpha,
        connections=(
            NamedConnection(name="alpha", redis_url=alpha, read_only=True),
            NamedConnection(name="beta", redis_url=beta),
        ),
    )
    failed = ids["failed"]
    async with make_client(settings) as http:
        for path in ("/api/pause-all", "/api/resume-all", "/api/drain", "/rescan"):
            refused = await http.post(BASE + path, headers={"accept": "application/json"})
            assert refused.status_code == 403, (path, refused.text)
            assert "The connection 'alpha' is read-only" in refused.json()["error"], path
        both = await http.post(f"{BASE}/api/drain?queue=mail")
        assert both.status_code == 409 and "several connections" in both.json()["error"]
        manage = (await http.get(f"{BASE}/c/alpha/queue/mail/manage")).text
        assert "This connection is read-only" in manage and "/empty" not in manage
        retried = await http.post(f"{BASE}/api/queues/sms/jobs/{failed}/retry")
        assert retried.status_code == 200, retried.text
        # Nothing under a connection's mount that no route matches is an error of ours.
        assert (await http.post(f"{BASE}/c/beta/api/nope")).status_code == 404
        assert (await http.post(f"{BASE}/c/nope/zzz")).status_code == 404
    two_redis[0].stop()  # alpha down: beta's writes naming no connection still go through
    async with make_client(settings) as http:
        paused = await http.post(f"{BASE}/api/queues/sms/pause")
        assert paused.status_code == 200, paused.text


async def test_a_read_only_single_named_connection_refuses_changes(valkey_url: str) -> None:
    """One connection from a connections file, read-only on its own: its pages link with no
    /c/<name>/, and those URLs are refused as the named ones are."""
    ids = await make_jobs(valkey_url, "mail")
    settings = Settings(
        redis_url=valkey_url,
        connections=(NamedConnection(name="prod", redis_url=valkey_url, read_only=True),),
    )
    async with make_client(settings) as http:
        for path in (f"/api/queues/mail/jobs/{ids['failed']}/retry", "/api/queues/mail/pause"):
            refused = await http.post(BASE + path)
            assert refused.status_code == 403, (path, refused.text)
            assert "The connection 'prod' is read-only" in refused.json()["error"]
