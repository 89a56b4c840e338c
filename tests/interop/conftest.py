"""Shared by the interop tests: the pinned Node BullMQ majors and a `node` that can load them."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
MAJORS = ("5", "6")


@pytest.fixture(scope="session")
def node() -> str:
    binary = shutil.which("node")
    if binary is None:
        pytest.fail(
            "`node` is not on PATH; the interop tests need Node.js 20: run `make test`.",
            pytrace=False,
        )
    missing = [m for m in MAJORS if not (HERE / "node_modules" / f"bullmq{m}").is_dir()]
    if missing:
        pytest.fail(
            f"tests/interop/node_modules has no bullmq{', bullmq'.join(missing)}: "
            "run `make test` (it runs `npm ci` in tests/interop).",
            pytrace=False,
        )
    return binary


def node_json(
    node: str, script: str, *args: str, timeout: float = 60, env: dict[str, str] | None = None
) -> Any:
    """Run one of the Node helpers here and return the JSON it prints."""
    done = subprocess.run(
        [node, script, *args],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )
    assert done.returncode == 0, f"{script} {args}: {done.stderr}"
    return json.loads(done.stdout)
