"""Alerts with several Redis servers (issue 27): each connection's rules watch that server, and
every message names the connection, so that a team channel can tell staging from production."""

from __future__ import annotations

import asyncio
import time

from bullmq import Queue

from dashboard.config import NamedConnection, Settings
from dashboard.web.app import create_app
from tests.helpers import AlertReceiver, OwnRedis, alert_rules_file, serving


async def waiting(url: str, queue_name: str, count: int) -> None:
    queue = Queue(queue_name, {"connection": url})
    for n in range(count):
        await queue.add("job", {"n": n})
    await queue.close()


def test_a_connections_alert_names_it(
    two_redis: tuple[OwnRedis, OwnRedis], alert_receiver: tuple[AlertReceiver, str], tmp_path
) -> None:
    alpha, beta = (server.url for server in two_redis)
    hook, hook_url = alert_receiver
    asyncio.run(waiting(alpha, "mail", 1))  # under the threshold: alpha stays quiet
    asyncio.run(waiting(beta, "mail", 3))
    rules = alert_rules_file(tmp_path, hook_url, '[[rule]]\nkind = "backlog"\ncount = 2\n')
    settings = Settings(
        redis_url=alpha,
        alerts=rules,
        connections=(
            NamedConnection(name="alpha", redis_url=alpha),
            NamedConnection(name="beta", redis_url=beta),
        ),
    )
    app = create_app(settings)
    for board in app.state.boards.values():
        board.alerts.check_s = 0.2
        board.watcher.interval_s = 1.0
    with serving(app):
        texts = hook.wait(lambda t: any(x.startswith("[firing]") for x in t))
        time.sleep(1.0)  # a second firing (alpha's, were it wrong) would come by now
        texts = hook.texts()
    assert texts == ["[firing] beta: mail: 3 jobs waiting (more than 2 waiting)"], texts
