"""The wheel carries its templates and static files, and both entry points start."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_ships_templates_and_static(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
    )
    [wheel] = tmp_path.glob("drainboard-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "dashboard/templates/layout.html",
        "dashboard/templates/partials/job_table.html",
        "dashboard/static/htmx.min.js",
        "dashboard/static/htmx.LICENSE",
        "dashboard/static/style.css",
    ):
        assert required in names


def test_python_m_dashboard_and_missing_redis_url(tmp_path: Path) -> None:
    help_text = subprocess.run(
        [sys.executable, "-m", "dashboard", "--help"], capture_output=True, text=True, cwd=tmp_path
    )
    assert help_text.returncode == 0 and "serve" in help_text.stdout
    env = {"PATH": "/usr/bin:/bin"}
    missing = subprocess.run(
        [sys.executable, "-m", "dashboard", "serve"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert missing.returncode == 2
    assert "give --redis-url or set REDIS_URL" in missing.stderr
