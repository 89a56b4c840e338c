"""What users install: the wheel, in a clean venv, run from outside the checkout.

The wheel is built from the files the Dockerfile copies (pyproject.toml, README.md, dashboard/,
templates/, static/), installed without `-e` into a fresh venv (one per test session, dependencies
from PyPI through pip's cache), and every command is run from a temporary directory, so nothing
can be found through the source tree. The Docker image runs these same steps.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests.helpers import PACKAGE_SOURCES, free_port, start_redis, wait_for

ROOT = Path(__file__).resolve().parents[2]
BASE = "/admin/queues"


@dataclass
class Installed:
    venv: Path
    outside: Path  # a working directory outside the checkout

    @property
    def drainboard(self) -> str:
        return str(self.venv / "bin" / "drainboard")

    def env(self) -> dict[str, str]:
        """No PYTHONPATH, no inherited Drainboard settings: only what a user's shell would have."""
        keep = ("PATH", "HOME", "LANG", "TMPDIR", "PIP_CACHE_DIR")
        return {k: v for k, v in os.environ.items() if k in keep}

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.drainboard, *args],
            cwd=self.outside,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [self.drainboard, *args],
            cwd=self.outside,
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )


def _copy_sources(target: Path) -> None:
    for name in PACKAGE_SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    work = tmp_path_factory.mktemp("wheel")
    # Built from a copy: no build/ or egg-info left in (or read from) the checkout.
    source, dist = work / "src", work / "dist"
    source.mkdir()
    _copy_sources(source)
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run(
        [*pip_wheel, "-w", str(dist), str(source)],
        check=True,
        cwd=work,
    )
    [wheel] = dist.glob("drainboard-*.whl")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(wheel)],
        check=True,
        cwd=work,
    )
    outside = work / "elsewhere"
    outside.mkdir()
    yield Installed(venv, outside)


@pytest.fixture(scope="module")
def demo_redis(installed: Installed) -> Iterator[str]:
    """Debian's redis-server of its own, filled with the demo data by the installed package."""
    port = free_port()
    workdir = installed.outside / f"redis-{port}"
    workdir.mkdir()
    process = start_redis(port, "--dir", str(workdir))
    url = f"redis://127.0.0.1:{port}"
    try:
        wait_for(url)
        fill = (
            "import asyncio, sys; from dashboard import demo; asyncio.run(demo.fill(sys.argv[1]))"
        )
        subprocess.run(
            [str(installed.venv / "bin" / "python"), "-c", fill, url],
            cwd=installed.outside,
            env=installed.env(),
            check=True,
            timeout=120,
        )
        yield url
    finally:
        process.terminate()
        process.wait(10)


def _wait_http(url: str, process: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}: {process.stdout.read()}")  # type: ignore[union-attr]
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer in {timeout} s")
        time.sleep(0.1)


def _stop(process: subprocess.Popen[str], signum: int = signal.SIGTERM) -> int:
    process.send_signal(signum)
    try:
        return process.wait(20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)


@pytest.fixture(scope="module")
def served(installed: Installed, demo_redis: str) -> Iterator[str]:
    port = free_port()
    process = installed.start("serve", "--redis-url", demo_redis, "--port", str(port))
    origin = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{origin}/healthz", process)
        yield origin
    finally:
        assert _stop(process) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it handled


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)


def links_of(html: str, page_url: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return [urljoin(page_url, link).split("#")[0] for link in parser.links]


def test_the_package_comes_from_the_venv_not_the_checkout(installed: Installed) -> None:
    where = subprocess.run(
        [
            str(installed.venv / "bin" / "python"),
            "-c",
            "import dashboard; print(dashboard.__file__)",
        ],
        cwd=installed.outside,
        env=installed.env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(installed.venv), where
    assert not Path(where).is_relative_to(ROOT)


# The imports the README shows users, and every sub-package, from the installed wheel.
DOCUMENTED_IMPORTS = """
import importlib, pkgutil, dashboard
from dashboard.connection import connect
from dashboard.workers import OnDemandWorkers
from dashboard.config import Settings
from dashboard.web import create_app
from dashboard.web.process import app
assert callable(connect) and callable(app) and callable(create_app)
names = [m.name for m in pkgutil.walk_packages(dashboard.__path__, "dashboard.")]
names = [name for name in names if name != "dashboard.__main__"]  # it runs the CLI
for name in names:
    importlib.import_module(name)
print(" ".join(names))
"""


def test_the_documented_imports_and_every_module_import_from_the_wheel(
    installed: Installed,
) -> None:
    done = subprocess.run(
        [str(installed.venv / "bin" / "python"), "-c", DOCUMENTED_IMPORTS],
        cwd=installed.outside,
        env=installed.env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    in_checkout = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in (ROOT / "dashboard").rglob("*.py")
    } - {"dashboard", "dashboard.__main__"}
    # The wheel also carries the templates, static files and catalogs as packages of their own.
    data = {"dashboard.templates", "dashboard.static", "dashboard.locales"}
    assert set(done.stdout.split()) - data == in_checkout


def test_python_m_dashboard_and_a_clear_error_without_redis(installed: Installed) -> None:
    python = str(installed.venv / "bin" / "python")
    help_text = subprocess.run(
        [python, "-m", "dashboard", "--help"],
        capture_output=True,
        text=True,
        cwd=installed.outside,
        env=installed.env(),
    )
    assert help_text.returncode == 0 and "serve" in help_text.stdout
    missing = installed.run("serve")
    assert missing.returncode == 2
    assert "give --redis-url or set REDIS_URL" in missing.stderr


def test_every_page_and_every_linked_file_is_served(served: str) -> None:
    """A crawl from the overview: every link and script/style/icon on every page answers 200."""
    start = f"{served}{BASE}/"
    seen, queue = {start}, deque([start])
    kinds: dict[str, int] = {}
    with httpx.Client(timeout=30) as http:
        while queue:
            url = queue.popleft()
            answer = http.get(url)
            assert answer.status_code == 200, f"{url} answered {answer.status_code}"
            kind = answer.headers["content-type"].split(";")[0]
            kinds[kind] = kinds.get(kind, 0) + 1
            if kind != "text/html":
                assert answer.content, f"{url} is empty"
                continue
            for link in links_of(answer.text, url):
                parts = urlsplit(link)
                if parts.netloc != urlsplit(served).netloc or link in seen:
                    continue
                if "download=" in parts.query or "/raw/" in parts.path:
                    continue  # whole stored values: fetched once below, not for every job
                seen.add(link)
                queue.append(link)
    paths = {urlsplit(link).path for link in seen}
    for expected in ("/cost", "/drains", "/static/style.css", "/static/htmx.min.js"):
        assert f"{BASE}{expected}" in paths, f"no page links {expected}"
    assert any(re.search(r"/queue/[^/]+/jobs/[^/]+$", p) for p in paths), "no job page reached"
    assert kinds.get("text/html", 0) > 50 and kinds.get("text/css") and kinds.get("text/javascript")


def test_the_json_api(served: str) -> None:
    api = f"{served}{BASE}/api"
    with httpx.Client(timeout=30) as http:
        queues = http.get(f"{api}/queues").json()["queues"]
        assert {q["name"] for q in queues} >= {"batch-jobs", "retrain-jobs"}
        for q in queues:
            page = http.get(f"{api}/queues/{q['name']}/jobs", params={"status": "failed"})
            assert page.status_code == 200
            assert page.json()["total"] == q["counts"]["failed"]
        job = http.get(f"{api}/queues/batch-jobs/jobs/hostile-html").json()
        assert job["state"] == "waiting" and "<script>" in job["data"]["title"]
        raw = http.get(f"{served}{BASE}/queue/batch-jobs/jobs/hostile-html/raw/data")
        assert raw.status_code == 200 and json.loads(raw.text)["html"]
        cost = http.get(f"{api}/cost").json()
        assert cost["modes"] and cost["recommendation"]["pick"]
        missing = http.get(f"{api}/queues/nope/jobs")
        assert missing.status_code == 404 and missing.json()["status"] == 404


def test_the_wheel_speaks_german(served: str) -> None:
    """The catalogs travel in the wheel: a page asked for in German is German."""
    page = httpx.get(f"{served}{BASE}/", headers={"Accept-Language": "de"}, timeout=30)
    assert page.status_code == 200
    assert '<html lang="de">' in page.text and "Alle jetzt leeren" in page.text


def test_drain_and_cost_commands(installed: Installed, demo_redis: str) -> None:
    drained = installed.run(
        "drain", "--redis-url", demo_redis, "--processors", "dashboard.demo:PROCESSORS"
    )
    result = json.loads(drained.stdout)
    assert drained.returncode == (1 if result["totalFailed"] else 0), drained.stderr
    assert result["ok"] is True and result["totalProcessed"] > 0
    cost = installed.run("cost", "--redis-url", demo_redis, "--measure", "1", "--json")
    assert cost.returncode == 0, cost.stderr
    report = json.loads(cost.stdout)
    assert report["measured"]["measurementCost"] == 4 and report["modes"]


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_demo_serves_and_stops_its_valkey_on_any_signal(installed: Installed, signum: int) -> None:
    port = free_port()
    process = installed.start("demo", "--port", str(port))
    try:
        _wait_http(f"http://127.0.0.1:{port}{BASE}/", process, timeout=90)
        page = httpx.get(f"http://127.0.0.1:{port}{BASE}/queue/batch-jobs", timeout=10)
        assert page.status_code == 200 and "export-report" in page.text
        children = _children(process.pid)
        assert children, "the demo started no valkey-server"
    finally:
        code = _stop(process, signum)
    assert code in (0, 128 + signum, -signum)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in children), "valkey-server outlived the demo"


def _instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    logical = re.sub(r"\\\n\s*", " ", dockerfile)
    lines = [line.strip() for line in logical.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_dockerfile_runs_the_wheel_test_steps() -> None:
    """No Docker engine here: the image must be built by the steps this module tests."""
    steps = _instructions((ROOT / "Dockerfile").read_text())
    stages = [args for op, args in steps if op == "FROM"]
    assert len(stages) >= 2, "multi-stage build expected"
    runs = " ".join(args for op, args in steps if op == "RUN")
    assert "pip wheel --no-deps" in runs and "pip install --no-cache-dir /tmp/*.whl" in runs
    copied = " ".join(args for op, args in steps if op == "COPY")
    for source in PACKAGE_SOURCES:
        assert re.search(rf"\b{re.escape(source)}\b", copied), f"{source} is not copied"
    users = [args for op, args in steps if op == "USER"]
    assert users and users[-1] not in ("root", "0"), "the image must not run as root"
    [health] = [args for op, args in steps if op == "HEALTHCHECK"]
    assert "CMD python -c" in health and "/healthz" in health and "curl" not in health
    assert ("EXPOSE", "3000") in steps
    assert ("CMD", '["serve", "--host", "0.0.0.0", "--port", "3000"]') in steps


def test_the_healthcheck_command_passes_against_the_server(
    installed: Installed, served: str
) -> None:
    [health] = [
        args for op, args in _instructions((ROOT / "Dockerfile").read_text()) if op == "HEALTHCHECK"
    ]
    command = shlex.split(health.split("CMD", 1)[1])
    assert command[:2] == ["python", "-c"]
    script = command[2].replace("http://127.0.0.1:3000", served)
    assert served in script
    check = subprocess.run(
        [str(installed.venv / "bin" / "python"), "-c", script], cwd=installed.outside, timeout=30
    )
    assert check.returncode == 0
