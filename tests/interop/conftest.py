"""Fixtures of the interop tests: a `node` that can load the pinned Node BullMQ majors, and
Node's own view of the queues it produced."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest

from dashboard.bullmq.keys import DEFAULT_PREFIX
from tests.helpers import INTEROP, MAJORS, NODE_PAUSED_QUEUE, NODE_QUEUE


@pytest.fixture(scope="session")
def node() -> str:
    binary = shutil.which("node")
    if binary is None:
        pytest.fail(
            "`node` is not on PATH; the interop tests need Node.js 20: run `make test`.",
            pytrace=False,
        )
    missing = [m for m in MAJORS if not (INTEROP / "node_modules" / f"bullmq{m}").is_dir()]
    if missing:
        pytest.fail(
            f"tests/interop/node_modules has no bullmq{', bullmq'.join(missing)}: "
            "run `make test` (it runs `npm ci` in tests/interop).",
            pytrace=False,
        )
    return binary


@pytest.fixture(params=MAJORS, ids=[f"bullmq{m}" for m in MAJORS])
def node_view(request: pytest.FixtureRequest, node: str, server_url: str) -> dict[str, Any]:
    """Run the Node producer on the (freshly flushed) server and return Node's answers."""
    major = request.param
    try:
        done = subprocess.run(
            [node, "produce.mjs", major, server_url, DEFAULT_PREFIX, NODE_QUEUE],
            cwd=INTEROP,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"produce.mjs (BullMQ {major}) did not finish in 60 s: {exc.stderr}")
    if done.returncode != 0:
        pytest.fail(
            f"produce.mjs (BullMQ {major}) exited with {done.returncode}:\n{done.stderr}",
            pytrace=False,
        )
    view = json.loads(done.stdout)
    assert set(view["queues"]) == {NODE_QUEUE, NODE_PAUSED_QUEUE}
    return view
