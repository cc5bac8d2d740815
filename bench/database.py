"""A throwaway PostgreSQL that counts every statement it runs.

The server itself is the one the test suite starts
(``tests/harness/databases.py``); this module only adds ``pg_stat_statements``
and a buffer pool big enough to hold the 200,000-post data set, as any real
server would.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from psycopg2 import sql

from tests.harness.databases import PostgresServer

# What SQLAlchemy's pool_pre_ping sends when it checks a connection out.
PING_QUERIES = frozenset({"SELECT 1", "SELECT $1"})
# Transaction control: round trips too, counted like any statement.
TRANSACTION_CONTROL = frozenset({"BEGIN", "COMMIT", "ROLLBACK"})
QUIET_SECONDS = 0.5
QUIET_TIMEOUT = 30.0


class ServerUnavailable(RuntimeError):
    """The throwaway server could not be started; the message says why."""


@dataclass
class StatementCount:
    """Statements a database ran: queries by normalised text, pool pings and
    transaction control apart. Each one is a round trip to the server."""

    calls: dict[str, int] = field(default_factory=dict)
    pings: int = 0
    transaction_control: int = 0

    @property
    def queries(self) -> int:
        return sum(self.calls.values())

    @property
    def total(self) -> int:
        return self.queries + self.pings + self.transaction_control


class CountingPostgres(PostgresServer):
    """PostgreSQL with ``pg_stat_statements`` loaded and a realistic buffer pool."""

    def _settings(self, root: Path) -> list[str]:
        extra = {
            "shared_preload_libraries": "pg_stat_statements",
            # BEGIN and ROLLBACK are round trips like any query: count them.
            "pg_stat_statements.track_utility": "on",
            "shared_buffers": "128MB",
        }
        # Later settings win, so these replace the test server's values.
        return [*super()._settings(root), *(f"--{k}={v}" for k, v in extra.items())]

    def query(self, statement: str, database: str, *args: Any) -> list[tuple[Any, ...]]:
        """Rows of one statement run as the superuser in ``database``."""
        connection = self._connect(database)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(statement, args or None)
                return list(cursor.fetchall()) if cursor.description else []
        finally:
            connection.close()

    def enable_counting(self, database: str) -> None:
        """Install ``pg_stat_statements`` in ``database``."""
        self.execute(
            sql.SQL("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"), database
        )

    def vacuum_analyze(self, database: str) -> None:
        """Fresh planner statistics and visibility maps, as autovacuum would leave."""
        self.execute("VACUUM ANALYZE", database)

    def calls_so_far(self, database: str) -> int:
        """Statements ``database`` has run since the last reset, minus our own."""
        rows = self.query(
            "SELECT coalesce(sum(s.calls), 0) FROM pg_stat_statements s"
            " JOIN pg_database d ON d.oid = s.dbid"
            " WHERE d.datname = %s AND s.query NOT LIKE '%%pg_stat_statements%%'",
            database,
            database,
        )
        return int(rows[0][0])

    def wait_until_quiet(self, database: str) -> None:
        """Wait until ``database`` runs nothing for QUIET_SECONDS.

        When wrk stops, requests it sent are still being served; counting must
        not start before they are done.
        """
        deadline = time.monotonic() + QUIET_TIMEOUT
        last = self.calls_so_far(database)
        while time.monotonic() < deadline:
            time.sleep(QUIET_SECONDS)
            now = self.calls_so_far(database)
            if now == last:
                return
            last = now
        raise ServerUnavailable(
            f"{database} never went quiet; is something else using it?"
        )

    @contextmanager
    def counting(self, database: str) -> Iterator[StatementCount]:
        """Count the statements ``database`` runs inside the block."""
        self.wait_until_quiet(database)
        self.query("SELECT pg_stat_statements_reset()", database)
        result = StatementCount()
        yield result
        rows = self.query(
            "SELECT s.query, s.calls FROM pg_stat_statements s"
            " JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = %s",
            database,
            database,
        )
        for text, calls in rows:
            words = text.strip().rstrip(";").upper()
            if text.strip() in PING_QUERIES:
                result.pings += calls
            elif words in TRANSACTION_CONTROL:
                result.transaction_control += calls
            elif "pg_stat_statements" not in text:
                result.calls[text] = result.calls.get(text, 0) + calls


def start_postgres() -> CountingPostgres:
    """Start the server, turning the test helpers' skip or fail into one error."""
    try:
        return CountingPostgres()
    except (pytest.skip.Exception, pytest.fail.Exception) as outcome:
        raise ServerUnavailable(str(outcome.msg)) from None
