"""schemathesis against the published OpenAPI document, on a real uvicorn with demo data:
0 server errors, every answer as documented (status, content type, body schema: error bodies
are exactly {"error", "status"}). Bounded: a fixed seed and a few examples per operation."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from dashboard.config import Settings
from dashboard.observe.measure import measure
from dashboard.web import create_app
from dashboard.web.routes import quota_view
from tests.helpers import only_demo_jobs
from tests.uvicorn_thread import serving

CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance"
)
MAX_EXAMPLES = 10
SEED = 11
# Stateful sequences (links between operations) are left out: they doubled the run's time.
PHASES = "examples,coverage,fuzzing"


def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(
    valkey_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # api/quota answers after the window it is asked for (10 to 300 s): the fuzzer's valid
    # cases would take hours. Its window shrinks to 50 ms here; all else runs as served.
    monkeypatch.setattr(
        quota_view,
        "measure",
        lambda redis, prefix, queues, seconds, own=None: measure(redis, prefix, queues, 0.05, own),
    )
    only_demo_jobs(valkey_url)
    settings = Settings(redis_url=valkey_url, token="t", cron_tokens=("c",))
    with serving(create_app(settings)) as origin:
        document = httpx.get(
            f"{origin}/admin/queues/api/openapi.json", headers={"Authorization": "Bearer t"}
        ).json()
        assert "/admin/queues/api/queues/{queue}/jobs/{job_id}" in document["paths"]
        binary = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
        assert binary, "schemathesis is a test extra: pip install -e '.[test]'"
        run = subprocess.run(
            [
                binary,
                "run",
                f"{origin}/admin/queues/api/openapi.json",
                "-H",
                "Authorization: Bearer t",
                "-H",
                "X-Cron-Secret: c",
                "--checks",
                CHECKS,
                "--max-examples",
                str(MAX_EXAMPLES),
                "--seed",
                str(SEED),
                "--phases",
                PHASES,
                "--workers",
                "1",
                "--no-color",
                "--report-dir",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
    summary = run.stdout[run.stdout.rfind("SUMMARY") :]
    print(summary)  # shown with -s: how many cases, how many failures
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    generated = re.search(r"(\d+) generated", summary)
    assert generated and int(generated.group(1)) > 100
