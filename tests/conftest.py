"""What every area of the suite needs: real database servers, and no silent skips.

Each area's own fixtures live in its own ``conftest.py``; helpers live in
``tests/harness/``. Nothing here is imported by a test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness.databases import MariaDBServer, PostgresServer, RedisServer
from tests.harness.pgbouncer import PgBouncerServer

pytest_plugins = ["tests.harness.require_services"]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the whole session; ``new_database()`` per test."""
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mariadb() -> Iterator[MariaDBServer]:
    """A real MariaDB server for the whole session; ``new_database()`` per test."""
    server = MariaDBServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis() -> Iterator[RedisServer]:
    """A real Redis server for the whole session; connect to ``redis.url``."""
    server = RedisServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pgbouncer(postgres: PostgresServer) -> Iterator[PgBouncerServer]:
    """A transaction-mode PgBouncer in front of ``postgres``: ``pooled(url)``."""
    server = PgBouncerServer(postgres)
    yield server
    server.stop()
