"""A PostgreSQL primary and its hot standby, for the read-replica scenarios.

The standby is made the way a platform makes a follower: ``pg_basebackup -R``
copies the primary and writes the streaming settings, then a second server
starts on that copy as a hot standby on its own loopback port. Both servers
log every statement with the database name in front, so a test can count
which server really answered the app's queries.
"""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path
from typing import Any

import psycopg2

from tests.harness.databases import PostgresServer, PostgresSession
from tests.harness.processes import (
    BackgroundServer,
    as_user,
    free_port,
    private_dir,
    removed_on_error,
    run_setup,
)

# "<database>|" before each log line, then PostgreSQL's "LOG:  statement: ...".
LOG_PREFIX = "%d|"
# The statements that read the app's tables of posts (the pages' main query).
POST_QUERY = re.compile(r"statement: SELECT .*\bFROM post\b", re.S)


def statement_logging(settings: list[str]) -> list[str]:
    return [*settings, "--log_statement=all", f"--log_line_prefix={LOG_PREFIX}"]


class LoggingPostgres(PostgresServer):
    """The test harness's PostgreSQL, logging every statement."""

    def _settings(self, root: Path) -> list[str]:
        return statement_logging(super()._settings(root))

    def statements(self, database: str, pattern: re.Pattern[str] = POST_QUERY) -> int:
        return count_statements(self.server, database, pattern)


class StreamingReplica(PostgresSession):
    """A hot standby of ``primary`` on its own port, fed by streaming replication."""

    def __init__(self, primary: PostgresServer) -> None:
        self.port = free_port()
        root = private_dir("microblog-replica-", owner="postgres")
        data = root / "data"
        copy = [str(primary.bindir / "pg_basebackup"), "-h", "127.0.0.1"]
        # -R: standby.signal plus primary_conninfo, as a platform's follower has.
        copy += ["-p", str(primary.port), "-U", "postgres", "-D", str(data), "-R"]
        # A fast checkpoint: the default spreads it over minutes.
        copy += ["-X", "stream", "--no-sync", "--checkpoint=fast"]
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(root),
            "hot_standby": "on",
            "fsync": "off",
            "shared_buffers": "32MB",
            # Report replay progress to the primary at once.
            "wal_receiver_status_interval": "1s",
        }
        command = [str(primary.bindir / "postgres"), "-D", str(data)]
        command += statement_logging([f"--{k}={v}" for k, v in settings.items()])
        with removed_on_error(root):
            run_setup(copy, "pg_basebackup", cwd=root, **as_user("postgres"))
            self.server = BackgroundServer(
                "replica", root, command, signal.SIGINT, **as_user("postgres")
            )
            self.server.wait_ready(self._answers)

    def query(
        self, statement: str, database: str = "postgres", params: tuple[Any, ...] = ()
    ) -> list[tuple[Any, ...]]:
        """Rows of one statement, run as the superuser."""
        connection = self._connect(database)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(statement, params or None)
                rows: list[tuple[Any, ...]] = cursor.fetchall()
        finally:
            connection.close()
        return rows

    def pause_replay(self) -> None:
        self.query("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        self.query("SELECT pg_wal_replay_resume()")

    def wait_for(
        self, database: str, statement: str, params: tuple[Any, ...] = ()
    ) -> None:
        """Wait until ``statement`` finds a row here (replication caught up)."""
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.query(statement, database, params):
                    return
            except psycopg2.Error:
                pass  # the database itself has not arrived yet
            assert time.monotonic() < deadline, f"replica never had: {statement}"
            time.sleep(0.1)

    def statements(self, database: str, pattern: re.Pattern[str] = POST_QUERY) -> int:
        return count_statements(self.server, database, pattern)

    def stop(self) -> None:
        self.server.stop()


def count_statements(
    server: BackgroundServer, database: str, pattern: re.Pattern[str]
) -> int:
    """Statements matching ``pattern`` that ``server`` logged for ``database``."""
    text = server.log_path.read_text(errors="replace")
    # One entry per prefixed line; a statement's further lines have no prefix.
    entries = re.split(r"\n(?=[a-z0-9_]*\|)", text)
    prefix = f"{database}|"
    return sum(1 for e in entries if e.startswith(prefix) and pattern.search(e))
