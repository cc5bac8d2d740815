"""The browser suite's world: gunicorn on PostgreSQL, Debian's Chromium, axe-core.

One live server and one browser serve the whole session; each test gets a fresh
browser context (cookies, viewport, language) and fails if any page it opened
logged a console error, broke the Content-Security-Policy, fetched from another
origin, or had a serious accessibility violation.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.e2e.browser import DESKTOP, OpenPage, PageWatch
from tests.harness.app_server import AppServer, run_flask
from tests.harness.checkout import copy_checkout
from tests.harness.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.harness.environment import environment
from tests.harness.paths import ROOT
from tests.harness.processes import (
    require_program,
    skip_or_fail,
)

HERE = ROOT / "tests" / "e2e"
POSTS_PER_PAGE = 5


@pytest.fixture(scope="session")
def live_server(
    postgres: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppServer]:
    """gunicorn serving the app as a platform builds it (bin/build: compiled
    catalogs, gzip copies of the static files, which Lighthouse checks) on a
    fresh, migrated and seeded PostgreSQL database."""
    built = copy_checkout(tmp_path_factory.mktemp("built") / "app")
    subprocess.run(["bin/build"], cwd=built, env=environment(), check=True)
    env = environment(
        DATABASE_URL=postgres.new_database(),
        SECRET_KEY=secrets.token_hex(32),
        POSTS_PER_PAGE=str(POSTS_PER_PAGE),
        LOG_LEVEL="INFO",
        LOG_FORMAT="text",
        PYTHONPATH=str(built),
    )
    run_flask(env, "db", "upgrade", cwd=built)
    run_flask(env, "seed", "--users", "8", "--follows", "2", "--posts", "4", cwd=built)
    # The project's own gunicorn settings (gthread workers, logs to stdout).
    server = AppServer(
        {**env, "WEB_CONCURRENCY": "2"}, config=built / "gunicorn.conf.py", cwd=built
    ).start()
    yield server
    server.close()


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


@pytest.fixture
def open_page(browser: Browser, live_server: AppServer) -> Iterator[OpenPage]:
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
