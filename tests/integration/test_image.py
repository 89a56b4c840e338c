"""The Docker image: the repository's Dockerfile, built with podman, serving as its own user.

The build copies the same five sources as the Dockerfile (plus the Dockerfile) into a fresh
context and runs `podman build --isolation chroot --network host --format docker` (the docker
format keeps the HEALTHCHECK). pip inside the build gets this machine's pip configuration and the
local files it names (CA bundle, local indexes, constraints), mounted read-only for the build only.

Where a registry answers, the base is the official `python:3.11-slim` and the image runs under
`podman run`. Where none does (this project's own machine), the base is a stand-in made once with
debootstrap from the Debian mirror apt uses here and kept in podman's storage under that name; and
where crun cannot start containers, the built image is mounted and its entrypoint and command run
with `chroot --userspec` as the image's user, with the image's environment.

Either way the server shares the host's network (Redis listens on loopback), so the image's port
is swapped for a free one in its command and in its health check, after checking that EXPOSE, the
command and the health check agree on it.
"""

from __future__ import annotations

import ast
import asyncio
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from bullmq import Queue

from tests.helpers import PACKAGE_SOURCES, free_port

pytestmark = pytest.mark.image

ROOT = Path(__file__).resolve().parents[2]
# What the wheel is built from (locales/ included), and the Dockerfile that builds it.
SOURCES = (*PACKAGE_SOURCES, "Dockerfile")
OFFICIAL_BASE = "docker.io/library/python:3.11-slim"
# The Dockerfile's short name finds an image under localhost/ first, so the stand-in wears it.
STAND_IN = "localhost/python:3.11-slim"
# What the official image sets (python and pip in /usr/local/bin, first on PATH).
STAND_IN_CONFIG = (
    "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    'CMD ["python3"]',
    "LABEL drainboard.stand-in=debootstrap",
)
USER_ID = 10001
TOKEN = "image-test-token"


def podman(*args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} failed:\n{done.stdout[-3000:]}{done.stderr}")
    return done


@contextmanager
def machine_lock(name: str) -> Iterator[None]:
    """One holder across processes: parallel runs (other workers, other checkouts) share the
    podman storage, and the stand-in must be made once."""
    with open(Path(tempfile.gettempdir()) / f"drainboard-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def debian_mirror() -> str:
    """The Debian archive apt uses on this machine, as apt itself reports it (one-line or deb822
    sources alike): the entry of the main component labelled Debian (not Debian-Security)."""
    policy = subprocess.run(["apt-cache", "policy"], capture_output=True, text=True, check=True)
    entry = re.compile(
        r"^ *\d+ (\S+) [a-z]+/main \S+ Packages\n +release \S*o=Debian,\S*l=Debian,c=main",
        re.MULTILINE,
    )
    found = entry.search(policy.stdout)
    assert found, f"apt has no Debian main archive to debootstrap from:\n{policy.stdout}"
    return found.group(1)


def make_stand_in() -> None:
    with tempfile.TemporaryDirectory(prefix="drainboard-stand-in-") as work:
        rootfs = Path(work) / "rootfs"
        bootstrap = subprocess.run(
            [
                *("debootstrap", "--variant=minbase", "--include=python3,python3-venv"),
                *("bookworm", str(rootfs), debian_mirror()),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=900,
        )
        assert bootstrap.returncode == 0, f"debootstrap failed:\n{bootstrap.stdout[-3000:]}"
        # Bookworm's python3 is 3.11. A venv at /usr/local puts python and pip where the official
        # image has them; the downloaded .debs and apt lists would only weigh the image down.
        subprocess.run(["chroot", str(rootfs), "python3", "-m", "venv", "/usr/local"], check=True)
        for leftovers in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for path in (rootfs / leftovers).glob("*"):
                if path.is_file():
                    path.unlink()
        changes = [arg for change in STAND_IN_CONFIG for arg in ("--change", change)]
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(
            ["podman", "import", "-q", *changes, "-", STAND_IN],
            stdin=tar.stdout,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert tar.wait() == 0 and imported.returncode == 0, imported.stderr


def base_image() -> str:
    """Pull the official base if a registry answers; otherwise make (once) or reuse the stand-in."""
    with machine_lock("image-base"):
        if podman("pull", "-q", OFFICIAL_BASE, timeout=600, check=False).returncode == 0:
            # Where the official base is at hand, a stand-in left over would shadow it.
            podman("rmi", STAND_IN, check=False)
            return OFFICIAL_BASE
        if podman("image", "exists", STAND_IN, check=False).returncode != 0:
            make_stand_in()
        return STAND_IN


def pip_mounts(work: Path) -> list[str]:
    """`-v` arguments giving pip inside the build what pip has on this machine: its settings
    (files and PIP_* variables, merged as pip merges them, into /etc/pip.conf) and every local
    file or directory they name, at the same path, read-only."""
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    # PIP_* variables beat the files: read them last.
    listed.sort(key=lambda line: line.startswith(":env:."))
    sections: dict[str, dict[str, str]] = {}
    for line in listed:
        name, _, value = line.partition("=")
        section, _, key = name.rpartition(".")
        section = "global" if section == ":env:" else section
        sections.setdefault(section, {})[key] = ast.literal_eval(value)
    conf = work / "pip.conf"
    conf.write_text(
        "".join(
            f"[{section}]\n" + "".join(f"{key} = {value}\n" for key, value in settings.items())
            for section, settings in sections.items()
        )
    )
    mounts = {str(conf): "/etc/pip.conf"}
    for settings in sections.values():
        for word in " ".join(settings.values()).split():
            local = word.removeprefix("file://")
            if not local.startswith("/") or not os.path.exists(local):
                continue
            # A local PEP 503 index links its files beside simple/ (../../files/…).
            if word.startswith("file://") and local.rstrip("/").endswith("/simple"):
                local = os.path.dirname(local.rstrip("/"))
            mounts[local] = local
    return [arg for host, inside in mounts.items() for arg in ("-v", f"{host}:{inside}:ro")]


@dataclass
class Image:
    tag: str
    base: str
    config: dict  # `podman image inspect`'s Config
    healthcheck: list[str]  # the HEALTHCHECK's Test: ["CMD-SHELL", command] or ["CMD", *argv]


@pytest.fixture
def image(tmp_path: Path) -> Iterator[Image]:
    base = base_image()
    context = tmp_path / "context"
    context.mkdir()
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, context / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, context / name)
    tag = f"localhost/drainboard-image-test-{uuid.uuid4().hex[:12]}"
    # No layer cache: a change to the sources rebuilds both stages anyway, and the intermediate
    # images of the build stage would pile up in the shared storage, run after run.
    podman(
        "build",
        *("--isolation", "chroot", "--network", "host", "--format", "docker"),
        *("--pull=never", "--layers=false", "-t", tag),
        *pip_mounts(tmp_path),
        str(context),
        timeout=900,
    )
    try:
        [inspected] = json.loads(podman("image", "inspect", tag).stdout)
        assert inspected["Healthcheck"], f"the image lost its HEALTHCHECK (built from {base})"
        yield Image(tag, base, inspected["Config"], inspected["Healthcheck"]["Test"])
    finally:
        podman("rmi", "-f", tag, check=False)


def containers_run(image: Image) -> bool:
    """Whether this machine's podman can start a container (crun cannot in some sandboxes)."""
    probe = ["run", "--rm", "--network", "host", "--entrypoint", "true", image.tag]
    return podman(*probe, check=False).returncode == 0


def uids_in(status: str) -> set[str]:
    """The real, effective, saved and filesystem uids of a /proc/<pid>/status."""
    [line] = [line for line in status.splitlines() if line.startswith("Uid:")]
    return set(line.split()[1:])


@dataclass
class Served:
    uids: Callable[[], set[str]]  # of the serving process, as the image sees them
    run: Callable[[list[str]], int]  # exit code of a command in the image, as its user
    log: Callable[[], str]  # what the server printed


@contextmanager
def serve_in_chroot(image: Image, command: list[str], env: dict[str, str]) -> Iterator[Served]:
    """The image's filesystem mounted, its entrypoint and `command` run by `chroot --userspec` as
    its user, with exactly its environment (plus `env`) and in its working directory."""
    root = podman("image", "mount", image.tag).stdout.strip()
    try:
        user = image.config["User"]
        entry = next(
            line.split(":")
            for line in Path(root, "etc/passwd").read_text().splitlines()
            if line.split(":")[0] == user or line.split(":")[2] == user
        )
        uid, gid, home = entry[2], entry[3], entry[5]
        environment = [*image.config["Env"], f"HOME={home}"]
        environment += [f"{key}={value}" for key, value in env.items()]
        # coreutils' chroot runs its command from "/": env -C enters the WORKDIR first.
        as_user = ["chroot", f"--userspec={uid}:{gid}", f"--groups={gid}", root]
        as_user += ["/usr/bin/env", "-i", "-C", image.config["WorkingDir"], *environment]
        with tempfile.TemporaryFile("w+") as log:
            process = subprocess.Popen(
                [*as_user, *image.config["Entrypoint"], *command],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

            def read_log() -> str:
                log.seek(0)
                return log.read()

            try:
                yield Served(
                    lambda: uids_in(Path(f"/proc/{process.pid}/status").read_text()),
                    lambda check: subprocess.run([*as_user, *check], timeout=60).returncode,
                    read_log,
                )
            finally:
                process.send_signal(signal.SIGTERM)
                try:
                    code = process.wait(20)
                finally:
                    if process.poll() is None:
                        process.kill()
                        process.wait(5)
                # uvicorn exits 0 after its graceful shutdown, or re-raises the signal it handled.
                assert code in (0, -signal.SIGTERM), read_log()
    finally:
        podman("image", "unmount", image.tag, check=False)


@contextmanager
def serve_in_container(image: Image, command: list[str], env: dict[str, str]) -> Iterator[Served]:
    name = f"drainboard-image-test-{uuid.uuid4().hex[:12]}"
    settings = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
    podman("run", "-d", "--name", name, "--network", "host", *settings, image.tag, *command)
    try:
        # /proc inside the container: pid 1 is the entrypoint, its uid as the container sees it.
        yield Served(
            lambda: uids_in(podman("exec", name, "cat", "/proc/1/status").stdout),
            lambda command: podman("exec", name, *command, check=False).returncode,
            lambda: podman("logs", name, check=False).stdout,
        )
    finally:
        podman("rm", "-f", "-t", "10", name, check=False)


async def one_queue(url: str, name: str) -> None:
    queue = Queue(name, {"connection": url})
    try:
        await queue.add("image-job", {"from": "test_image"})
    finally:
        await queue.close()


def wait_healthy(origin: str, served: Served, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{origin}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"no /healthz in {timeout} s:\n{served.log()}"
        time.sleep(0.2)


def test_the_image_builds_runs_as_its_user_and_serves(image: Image, redis7_url: str) -> None:
    config = image.config
    assert config["Entrypoint"] == ["drainboard"]
    [exposed] = config["ExposedPorts"]
    port = exposed.removesuffix("/tcp")
    command = config["Cmd"]
    at = command.index("--port") + 1
    assert command[at] == port, command
    kind, *check = image.healthcheck
    check = ["/bin/sh", "-c", *check] if kind == "CMD-SHELL" else check
    assert any(f":{port}/" in part for part in check), check

    mine = str(free_port())
    command = [*command[:at], mine, *command[at + 1 :]]
    health = [part.replace(f":{port}/", f":{mine}/") for part in check]
    queue = f"image-{uuid.uuid4().hex[:8]}"
    asyncio.run(one_queue(redis7_url, queue))

    # Listening on 0.0.0.0, the image's command needs credentials: a token, as a user would give.
    env = {"REDIS_URL": redis7_url, "DRAINBOARD_TOKEN": TOKEN}
    serve = serve_in_container if containers_run(image) else serve_in_chroot
    origin = f"http://127.0.0.1:{mine}"
    with serve(image, command, env) as served:
        wait_healthy(origin, served)
        assert served.uids() == {str(USER_ID)}
        signed = httpx.Client(base_url=origin, headers={"Authorization": f"Bearer {TOKEN}"})
        with signed:
            anonymous = httpx.get(f"{origin}/admin/queues/")
            assert anonymous.status_code == 303, anonymous.text
            assert anonymous.headers["location"].startswith("/admin/queues/login")
            overview = signed.get("/admin/queues/")
            assert overview.status_code == 200 and queue in overview.text
            page = signed.get(f"/admin/queues/queue/{queue}")
            assert page.status_code == 200 and "image-job" in page.text
            css = signed.get("/admin/queues/static/style.css")
            assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
            assert css.text == (ROOT / "static" / "style.css").read_text()
        assert served.run(health) == 0
        # And it can fail: the same check on a port where nothing answers.
        nobody = str(free_port())
        assert served.run([part.replace(f":{mine}/", f":{nobody}/") for part in health]) != 0
