"""Redacted fields never leave the server: every page, API answer, raw view and download is read
and none holds a redacted value, while everything else is still shown."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
import redis
from bullmq import Queue, Worker

from dashboard.config import ConfigError, Settings
from tests.helpers import csrf_token, make_client

SECRETS = ("hunter2-SECRET", "4111-SECRET-CARD", "LIST-SECRET", "TOKEN-SECRET", "LOG-SECRET")
REDACT = ("data.password", "data.card.number", "data.users.password", "returnvalue.token")
RAW_FIELDS = ("data", "returnvalue", "opts", "stacktrace", "parent")


def secret_data(n: int) -> dict:
    return {
        "user": f"ann-{n}",
        "password": "hunter2-SECRET",
        "card": {"number": "4111-SECRET-CARD", "exp": "12/30"},
        "users": [{"name": "bo", "password": "LIST-SECRET"}],
    }


async def secret_jobs(url: str) -> list[str]:
    """A completed, a failed, a waiting and a delayed job, all holding the secrets."""
    opts = {"connection": url}
    queue = Queue("vault", opts)
    worker = Worker("vault", None, {**opts, "autorun": False})
    token = uuid.uuid4().hex
    try:
        for n in range(2):
            await queue.add("charge", secret_data(n))
        job = await worker.getNextJob(token)
        await job.log("charging with LOG-SECRET")
        await job.moveToCompleted({"ok": True, "token": "TOKEN-SECRET"}, token)
        done = job.id
        job = await worker.getNextJob(token)
        try:
            raise RuntimeError("card declined")
        except RuntimeError as err:
            await job.moveToFailed(err, token)
        failed = job.id
        waiting = (await queue.add("charge", secret_data(2))).id
        delayed = (await queue.add("charge", secret_data(3), {"delay": 600_000})).id
        # A job scheduler whose template holds the secrets too (its next job is delayed).
        await queue.upsertJobScheduler("nightly", {"every": 86_400_000}, "charge", secret_data(4))
    finally:
        await worker.close(force=True)
        await queue.close()
    return [done, failed, waiting, delayed]


def assert_clean(response: httpx.Response, where: str) -> None:
    assert response.status_code < 500, (where, response.status_code)
    body = response.text
    for secret in SECRETS:
        assert secret not in body, f"{secret} leaked by {where}"


async def test_no_redacted_value_in_any_answer(server_url: str) -> None:
    ids = await secret_jobs(server_url)
    settings = Settings(redis_url=server_url, redact=REDACT, formatter="tests.formatters:mask_logs")
    async with make_client(settings) as http:
        base, api = "/admin/queues", "/admin/queues/api"
        seen: list[str] = []

        async def visit(path: str, **kwargs: object) -> httpx.Response:
            response = await http.get(path, **kwargs)  # type: ignore[arg-type]
            assert_clean(response, path)
            seen.append(path)
            return response

        await visit(f"{base}/")
        await visit(f"{api}/queues")
        for state in ("completed", "failed", "waiting", "delayed"):
            await visit(f"{base}/queue/vault?status={state}")
            await visit(f"{api}/queues/vault/jobs?status={state}")
            await visit(f"{base}/queue/vault/search?status={state}")
            await visit(f"{api}/queues/vault/search?status={state}")
        for job_id in ids:
            page = await visit(f"{base}/queue/vault/jobs/{job_id}")
            assert "ann-" in page.text and "12/30" in page.text and "[redacted]" in page.text
            job = (await visit(f"{api}/queues/vault/jobs/{job_id}")).json()
            assert job["data"]["password"] == "[redacted]"
            assert job["data"]["card"] == {"number": "[redacted]", "exp": "12/30"}
            assert job["data"]["users"] == [{"name": "bo", "password": "[redacted]"}]
            for field in RAW_FIELDS:
                await visit(f"{base}/queue/vault/jobs/{job_id}/raw/{field}")
                await visit(f"{base}/queue/vault/jobs/{job_id}/raw/{field}?download=1")
            await visit(f"{api}/search?id={job_id}")
            await visit(f"{base}/search?id={job_id}", follow_redirects=True)
        done = (await visit(f"{api}/queues/vault/jobs/{ids[0]}")).json()
        assert done["returnvalue"] == {"ok": True, "token": "[redacted]"}
        assert done["logs"] == ["charging with ***"]
        await visit(f"{base}/queue/vault/manage")
        await visit(f"{base}/queue/vault/schedulers")
        listed = (await visit(f"{api}/queues/vault/schedulers")).json()["schedulers"]
        assert listed[0]["template"]["data"]["password"] == "[redacted]"
        for job_id in ids:
            await visit(f"{api}/queues/vault/jobs/{job_id}/flow")
            await visit(f"{base}/queue/vault/jobs/{job_id}/flow")

        # A search must not tell what a redacted field holds: a secret text finds nothing, an
        # unredacted one still finds its job.
        for state in ("completed", "waiting"):
            for secret in SECRETS:
                found = await visit(
                    f"{api}/queues/vault/search", params={"status": state, "data": secret}
                )
                assert found.json()["jobs"] == [], (state, secret)
        shown = await visit(
            f"{api}/queues/vault/search", params={"status": "waiting", "data": "ann-2"}
        )
        assert [job["id"] for job in shown.json()["jobs"]] == [ids[2]]
        assert len(seen) > 60


async def test_duplicate_and_edit_keep_secrets_on_the_server(server_url: str) -> None:
    ids = await secret_jobs(server_url)
    settings = Settings(redis_url=server_url, redact=REDACT)
    async with make_client(settings) as http:
        token = await csrf_token(http)
        htmx = {"X-CSRF-Token": token, "HX-Request": "true"}
        page = await http.get(f"/admin/queues/queue/vault/jobs/{ids[2]}")
        assert "Edit data" not in page.text  # it would write the placeholders back
        form = await http.get(f"/admin/queues/queue/vault/add?from={ids[2]}")
        assert form.status_code == 409
        copy = await http.post(
            f"/admin/queues/api/queues/vault/jobs/{ids[2]}/duplicate", headers=htmx
        )
        assert_clean(copy, "duplicate")
        assert copy.status_code == 200
    new_id = re.search(r"as job (\S+)\.", copy.text).group(1)
    client = redis.Redis.from_url(server_url, decode_responses=True)
    assert "hunter2-SECRET" in client.hget(f"bull:vault:{new_id}", "data")
    client.close()


def test_bad_redaction_settings_are_refused() -> None:
    for paths in (("password",), ("data.",), ("opts.x",), ("data..x",)):
        with pytest.raises(ConfigError):
            Settings.from_env({}, redact=",".join(paths))
    for spec in ("nope:fn", "tests.formatters", "tests.formatters:missing"):
        with pytest.raises(ConfigError, match="--formatter"):
            Settings.from_env({"DRAINBOARD_FORMATTER": spec})
    assert Settings.from_env({}, formatter="tests.formatters:mask_logs").formatter
