"""The browser suite's world: gunicorn on PostgreSQL, Debian's Chromium, axe-core.

One live server and one browser serve the whole session; each test gets a fresh
browser context (cookies, viewport, language) and fails if any page it opened
logged a console error, broke the Content-Security-Policy, fetched from another
origin, or had a serious accessibility violation.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.e2e.browser import PageWatch
from tests.processes import (
    CHROMIUM,
    CHROMIUM_ARGS,
    BackgroundServer,
    free_port,
    port_open,
    private_dir,
    require_program,
    run_setup,
    skip_or_fail,
    wait_for_http,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 390, "height": 844}
POSTS_PER_PAGE = 5
RESET_LINK = re.compile(r"https?://[^\s/]+/auth/reset_password/[A-Za-z0-9._-]+")
MAIL_WAIT_SECONDS = 20.0


@dataclass
class LiveServer:
    """A running gunicorn; its log is where the app's e-mails end up."""

    url: str
    log_path: Path

    def reset_link_for(self, address: str) -> str:
        """The link in the newest reset e-mail to ``address``, once it is logged."""
        deadline = time.monotonic() + MAIL_WAIT_SECONDS
        marker = f"To: {address}\n"
        while time.monotonic() < deadline:
            log = self.log_path.read_text(errors="replace")
            start = log.rfind(marker)
            if start != -1:
                found = RESET_LINK.search(log, start)
                if found:
                    return found.group(0)
            time.sleep(0.1)
        raise AssertionError(f"no reset e-mail to {address} in the server log")


def server_environment(database_url: str) -> dict[str, str]:
    """A clean environment: nothing from a developer's shell or .env leaks in."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(PROJECT_ROOT),
        "PYTHONUNBUFFERED": "1",
        "FLASK_SKIP_DOTENV": "1",
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_hex(32),
        "POSTS_PER_PAGE": str(POSTS_PER_PAGE),
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "text",
    }


def venv_program(name: str) -> str:
    program = Path(sys.executable).parent / name
    if not program.exists():
        skip_or_fail(f"{name} not installed (pip install -r requirements-dev.txt)")
    return str(program)


@pytest.fixture(scope="session")
def live_server(postgres: Any) -> Iterator[LiveServer]:
    """gunicorn serving the app on a fresh, migrated and seeded PostgreSQL database."""
    env = server_environment(postgres.new_database())
    flask = [venv_program("flask"), "--app", "microblog"]
    run_setup([*flask, "translate", "compile"], "translate compile", env=env)
    run_setup([*flask, "db", "upgrade"], "db upgrade", env=env, cwd=PROJECT_ROOT)
    run_setup(
        [*flask, "seed", "--users", "8", "--follows", "2", "--posts", "4"],
        "seed",
        env=env,
        cwd=PROJECT_ROOT,
    )
    port = free_port()
    root = private_dir("microblog-e2e-")
    # The project's own gunicorn settings (gthread workers, logs to stdout), but
    # bound to loopback only: a command-line --bind beats the file's.
    server = BackgroundServer(
        "gunicorn",
        root,
        [
            venv_program("gunicorn"),
            "--config",
            str(PROJECT_ROOT / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "microblog:create_app()",
        ],
        env={**env, "WEB_CONCURRENCY": "2"},
    )
    server.wait_ready(lambda: port_open(port))
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/healthz", process=server.process)
    yield LiveServer(url=url, log_path=server.log_path)
    server.stop()


@pytest.fixture(scope="session")
def axe_source(tmp_path_factory: pytest.TempPathFactory) -> str:
    """axe-core's script, installed with npm from the pinned lockfile (tests only)."""
    npm = require_program("npm", "npm")
    lock = (HERE / "package-lock.json").read_bytes()
    cache_root = (
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        / "microblog-tests"
    )
    folder = cache_root / f"axe-{hashlib.sha256(lock).hexdigest()[:12]}"
    script = folder / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(HERE / "package.json", folder)
        shutil.copy(HERE / "package-lock.json", folder)
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            skip_or_fail(f"npm ci for axe-core failed: {result.stderr[-2000:]}")
    return script.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    require_program("chromium", "chromium")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless; Playwright never downloads a browser here."""
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"{CHROMIUM} missing (apt-get install chromium)")
    instance = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield instance
    instance.close()


OpenPage = Callable[..., tuple[Page, PageWatch]]


@pytest.fixture
def open_page(browser: Browser, live_server: LiveServer) -> Iterator[OpenPage]:
    """Open pages in fresh contexts; fail the test on anything a page did wrong."""
    opened: list[tuple[Any, PageWatch]] = []

    def factory(
        viewport: dict[str, int] = DESKTOP,
        locale: str = "en-US",
        color_scheme: str = "light",
    ) -> tuple[Page, PageWatch]:
        context = browser.new_context(
            viewport=viewport,  # type: ignore[arg-type]
            locale=locale,
            color_scheme=color_scheme,  # type: ignore[arg-type]
            base_url=live_server.url,
            is_mobile=viewport["width"] < DESKTOP["width"] // 2,
            has_touch=viewport["width"] < DESKTOP["width"] // 2,
        )
        context.set_default_timeout(15_000)
        watch = PageWatch(origin=live_server.url)
        watch.attach(context)
        opened.append((context, watch))
        return context.new_page(), watch

    yield factory
    problems = []
    for context, watch in opened:
        context.close()
        problems.extend(watch.problems())
    assert not problems, "\n".join(problems)
