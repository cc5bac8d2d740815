"""Fixtures of the attack suite: one live server for all of it, fresh clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness.databases import PostgresServer
from tests.harness.http_client import LiveClient
from tests.harness.live_app import LiveApp
from tests.security.attacks.tally import SENT, report_tally


@pytest.fixture(scope="session")
def live(
    postgres: PostgresServer,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[LiveApp]:
    """gunicorn on PostgreSQL, rate limits off so the attacks are not throttled."""
    root = tmp_path_factory.mktemp("live")
    server = LiveApp(postgres.new_database(), root, RATELIMIT_ENABLED="0")
    yield server
    server.stop()
    report_tally(request.config, server)
    errors = server.server_errors()
    assert errors == [], "\n".join(errors)


@pytest.fixture
def client(live: LiveApp) -> Iterator[LiveClient]:
    """A fresh anonymous browser; its requests count towards the tally."""
    browser = live.client()
    yield browser
    SENT["requests"] += browser.sent


@pytest.fixture(scope="session")
def alice(live: LiveApp) -> str:
    """An existing account whose name the look-alikes imitate."""
    browser = live.client()
    live.register(browser, "alice")
    SENT["requests"] += browser.sent
    return "alice"
