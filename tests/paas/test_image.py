"""The Docker image, built by buildah and run the way Fly and Docker run it."""

from __future__ import annotations

import gzip
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from microblog.config import normalise_database_url
from tests.harness.databases import PostgresServer
from tests.harness.http_client import request
from tests.harness.paths import ROOT
from tests.harness.processes import free_port, wait_for_http
from tests.paas.buildah import (
    Buildah,
    buildah_with_base,
    require_root_tools,
    standin_rootfs_tar,
)
from tests.paas.support import STOP_TIMEOUT, procfile, read_toml, secret_key

pytestmark = pytest.mark.slow

IMAGE = "localhost/microblog:test"
# What Fly's proxy adds to a request that reached it over HTTPS.
FLY_PROXY_HEADERS = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-For": "203.0.113.9",
    "Fly-Request-Id": "01JTESTFLYREQUEST",
}
PLANTED_SECRET = "planted-" + "s" * 40
# Left out of the build context, as a fresh clone would not have them.
LOCAL_STATE = shutil.ignore_patterns(
    ".git", ".venv", "venv", "instance", "__pycache__", "*_cache", "*.mo"
)
# Run inside the image: what ended up in /app.
INSPECT_APP = """
import json, os, pathlib
app = pathlib.Path("/app")
print(json.dumps({
    "env_file": (app / ".env").exists(),
    "tests": (app / "tests").exists(),
    "git": (app / ".git").exists(),
    "po": sorted(str(p)[:-3] for p in app.rglob("*.po")),
    "mo": sorted(str(p)[:-3] for p in app.rglob("*.mo")),
    "gz": sorted(str(p) for p in app.glob("microblog/static/**/*.gz")),
    "writable": os.access(app / "instance", os.W_OK),
    "code_writable": os.access(app / "microblog", os.W_OK),
}))
"""


# Run inside the image as root (who may look everywhere): what could install or
# compile software, and what a build could have left behind.
INSPECT_TOOLS = """
import importlib.util, json, pathlib, shutil
leftovers = ["/root/.cache", "/tmp/requirements.txt", "/app/.venv"]
find = importlib.util.find_spec
print(json.dumps({
    "modules": [m for m in ("pip", "setuptools", "wheel") if find(m)],
    "programs": [p for p in ("pip", "pip3", "gcc", "cc", "make") if shutil.which(p)],
    "leftovers": [p for p in leftovers if pathlib.Path(p).exists()],
}))
"""
# What the image may add to its base: the venv and the app (about 100 MB with
# the stand-in base's Python; the single-stage image added 128 MB).
MAX_ADDED_BYTES = 115_000_000


@dataclass
class BuiltImage:
    buildah: Buildah
    config: dict[str, Any]
    container: str
    size: int
    base_size: int

    def run(
        self,
        command: list[str],
        env: dict[str, str] | None = None,
        user: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``command`` in the container as the image's user (or ``user``)."""
        argv = self.buildah.run_command(
            self.container, command, env or {}, user or self.config["User"]
        )
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=120, check=False
        )

    def start(self, command: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
        argv = self.buildah.run_command(
            self.container, command, env, self.config["User"]
        )
        return subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )


def base_image_name() -> str:
    base = next(
        line.split()[1]
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("FROM ")
    )
    return f"docker.io/library/{base}"


@pytest.fixture(scope="module")
def image() -> Iterator[BuiltImage]:
    """The project's image, built from a copy of the repository with a `.env`."""
    program, debootstrap = require_root_tools()
    root = Path(tempfile.mkdtemp(prefix="microblog-buildah-"))
    try:
        tarball = standin_rootfs_tar(debootstrap)
        buildah = buildah_with_base(program, root, tarball, base_image_name())
        context = root / "context"
        shutil.copytree(ROOT, context, ignore=LOCAL_STATE)
        # A developer's secrets sit in the checkout; none may reach the image.
        (context / ".env").write_text(f"SECRET_KEY={PLANTED_SECRET}\n")
        buildah.build(context, context / "Dockerfile", IMAGE)
        config = buildah.image_config(IMAGE)
        sizes = buildah.image_size(IMAGE), buildah.image_size(base_image_name())
        yield BuiltImage(buildah, config, buildah.container(IMAGE), *sizes)
    finally:
        for storage in root.iterdir():
            Buildah(program, storage, storage.name).remove_all()
        shutil.rmtree(root, ignore_errors=True)


def test_image_runs_exec_form_entrypoint_and_cmd_as_non_root(
    image: BuiltImage,
) -> None:
    config = image.config
    assert config["Entrypoint"] == ["/app/entrypoint.sh"]
    assert config["Cmd"] == shlex.split(procfile()["web"])
    assert config["User"].split(":")[0] not in {"", "0", "root"}
    exposed = read_toml("fly.toml")["http_service"]["internal_port"]
    assert set(config["ExposedPorts"]) == {f"{exposed}/tcp"}
    assert config["StopSignal"] == "SIGTERM"
    assert config["Healthcheck"]["Test"][0] == "CMD"
    environment = dict(item.split("=", 1) for item in config["Env"])
    assert environment["PYTHONUNBUFFERED"] == "1"
    assert environment["PORT"] == str(exposed)
    assert "SECRET_KEY" not in environment
    assert PLANTED_SECRET not in json.dumps(config)


def test_image_holds_compiled_assets_and_no_local_secrets(image: BuiltImage) -> None:
    result = image.run(["python", "-c", INSPECT_APP])
    assert result.returncode == 0, result.stdout + result.stderr
    found = json.loads(result.stdout)
    assert found["env_file"] is False
    assert found["tests"] is False and found["git"] is False
    # Every catalog compiled at build time (not in a release step).
    assert found["po"] and found["mo"] == found["po"]
    assert "/app/microblog/static/css/app.css.gz" in found["gz"]
    assert found["writable"] is True
    assert found["code_writable"] is False


def test_image_holds_no_installer_compiler_or_build_leftovers(
    image: BuiltImage,
) -> None:
    result = image.run(["python", "-c", INSPECT_TOOLS], user="0:0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == {
        "modules": [],
        "programs": [],
        "leftovers": [],
    }
    # The app's venv has no pip of its own either.
    venv = image.run(["/opt/venv/bin/python", "-m", "pip", "--version"])
    assert venv.returncode != 0 and "No module named pip" in venv.stderr


def test_image_adds_little_to_its_base(image: BuiltImage) -> None:
    added = image.size - image.base_size
    sys.stderr.write(
        f"image {image.size / 1e6:.0f} MB, base {image.base_size / 1e6:.0f} MB\n"
    )
    assert 0 < added <= MAX_ADDED_BYTES, f"the image adds {added / 1e6:.0f} MB"


@pytest.fixture(scope="module")
def database(postgres: PostgresServer) -> str:
    """An empty PostgreSQL database, reachable from the container over loopback."""
    return postgres.new_database()


def release_as_fly(
    image: BuiltImage, database: str
) -> subprocess.CompletedProcess[str]:
    """fly.toml's release_command through the image's ENTRYPOINT, as Fly runs it."""
    command = image.config["Entrypoint"] + shlex.split(
        read_toml("fly.toml")["deploy"]["release_command"]
    )
    env = {"RELEASE_COMMAND": "1", "DATABASE_URL": database}
    env["SECRET_KEY"] = secret_key()
    env["FLY_APP_NAME"] = "microblog-test"
    return image.run(command, env)


def test_release_command_runs_through_the_entrypoint_and_repeats_safely(
    image: BuiltImage, database: str
) -> None:
    for _ in range(2):
        release = release_as_fly(image, database)
        assert release.returncode == 0, release.stdout + release.stderr
        assert "release machine" in release.stderr
    engine = sa.create_engine(normalise_database_url(database))
    try:
        with engine.connect() as connection:
            versions = connection.execute(sa.text("SELECT * FROM alembic_version"))
            assert len(versions.all()) == 1
    finally:
        engine.dispose()


def gunicorn_master(port: int) -> int:
    """PID of the gunicorn master serving ``port`` (its PORT is in its environment)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            environ = (proc / "environ").read_bytes().split(b"\0")
            status = (proc / "status").read_text()
        except OSError:
            continue
        if f"PORT={port}".encode() not in environ:
            continue
        if not any(part.endswith(b"gunicorn") for part in cmdline):
            continue
        parent = int(
            next(ln for ln in status.splitlines() if ln.startswith("PPid:"))[5:]
        )
        found.append((parent, int(proc.name)))
    pids = {pid for _, pid in found}
    # The master is the one whose parent is not itself a gunicorn process.
    masters = [pid for parent, pid in found if parent not in pids]
    assert len(masters) == 1, found
    return masters[0]


def test_cmd_serves_the_app_answers_its_healthcheck_and_stops_on_sigterm(
    image: BuiltImage, database: str
) -> None:
    assert release_as_fly(image, database).returncode == 0
    port = free_port()
    env = {"PORT": str(port), "DATABASE_URL": database, "SECRET_KEY": secret_key()}
    env["FLY_APP_NAME"] = "microblog-test"
    command = image.config["Entrypoint"] + image.config["Cmd"]
    with image.start(command, env) as server:
        try:
            # Fly's health check: plain HTTP, no redirect followed (force_https is
            # the proxy's job), although the app itself insists on HTTPS.
            healthz = f"http://127.0.0.1:{port}/healthz"
            assert wait_for_http(healthz, process=server) == 200
            assert request(port, "/readyz").status == 200
            assert request(port, "/auth/login").status in {301, 308}
            form = request(port, "/auth/login", headers=FLY_PROXY_HEADERS)
            assert form.status == 200 and b"<form" in form.body
            css = request(
                port,
                "/static/css/app.css",
                headers={**FLY_PROXY_HEADERS, "Accept-Encoding": "gzip"},
            )
            assert css.status == 200 and css.headers["Content-Encoding"] == "gzip"
            stylesheet = (ROOT / "microblog/static/css/app.css").read_bytes()
            assert gzip.decompress(css.body) == stylesheet
            # The image's own HEALTHCHECK, run inside the container.
            check = image.config["Healthcheck"]["Test"][1:]
            probe = image.run(check, {"PORT": str(port)})
            assert probe.returncode == 0, probe.stdout + probe.stderr
            # SIGTERM, as Docker and Fly (kill_signal) send it, to gunicorn itself.
            os.kill(gunicorn_master(port), signal.SIGTERM)
            output, _ = server.communicate(timeout=STOP_TIMEOUT)
        finally:
            if server.poll() is None:
                stop_after_failure(server, port)
    assert server.returncode == 0, output
    assert "Handling signal: term" in output
    # JSON logs on a platform (FLY_APP_NAME set), one object per line, the
    # access lines carrying Fly's request id.
    entries = [json.loads(line) for line in output.splitlines() if line[:1] == "{"]
    assert all(entry["request_id"] for entry in entries)
    login = [
        e for e in entries if e.get("path") == "/auth/login" and e["status"] == 200
    ]
    assert login[0]["request_id"] == FLY_PROXY_HEADERS["Fly-Request-Id"]


def stop_after_failure(server: subprocess.Popen[str], port: int) -> None:
    """Stop gunicorn itself: killing `buildah run` would leave it running."""
    try:
        os.kill(gunicorn_master(port), signal.SIGTERM)
        server.wait(STOP_TIMEOUT)
    except (AssertionError, ProcessLookupError, subprocess.TimeoutExpired):
        server.kill()
        server.wait()
