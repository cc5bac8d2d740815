"""Several release processes migrating at once, on real PostgreSQL and MariaDB."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from microblog.config import normalise_database_url
from microblog.ops.migration_lock import migration_lock, mysql_lock_name
from tests.harness.environment import environment
from tests.harness.paths import ROOT
from tests.harness.processes import wait_until
from tests.paas.support import procfile, secret_key

CONCURRENT_RELEASES = 3


def start_release(database_url: str) -> subprocess.Popen[str]:
    """The Procfile's release command, as a platform starts it."""
    return subprocess.Popen(
        procfile()["release"].split(),
        cwd=ROOT,
        env=environment(DATABASE_URL=database_url, SECRET_KEY=secret_key()),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> str:
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output
    return output


def applied_versions(engine: sa.Engine) -> list[str]:
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
        return [row[0] for row in rows]


def head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    (head,) = ScriptDirectory.from_config(config).get_heads()
    return head


def postgres_waiter_count(engine: sa.Engine) -> int:
    """Sessions waiting for an advisory lock in this database."""
    with engine.connect() as connection:
        query = sa.text(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
            " WHERE l.locktype = 'advisory' AND NOT l.granted"
            " AND d.datname = current_database()"
        )
        return int(connection.execute(query).scalar_one())


def mariadb_waiter_count(engine: sa.Engine) -> int:
    """Sessions blocked in GET_LOCK on this database's migration lock."""
    with engine.connect() as connection:
        query = sa.text(
            "SELECT count(*) FROM information_schema.processlist"
            " WHERE info LIKE 'SELECT GET_LOCK(%%' AND db = DATABASE()"
        )
        return int(connection.execute(query).scalar_one())


BACKENDS: dict[str, tuple[str, Callable[[sa.Engine], int]]] = {
    "postgresql": ("postgres", postgres_waiter_count),
    "mariadb": ("mariadb", mariadb_waiter_count),
}


@pytest.fixture(params=sorted(BACKENDS))
def server_database(request: pytest.FixtureRequest) -> tuple[str, Any]:
    """A fresh, empty database on a real server, and its waiter counter."""
    fixture, waiters = BACKENDS[request.param]
    url = request.getfixturevalue(fixture).new_database()
    return url, waiters


@pytest.mark.slow
def test_release_waits_for_a_running_migration_then_finds_nothing_to_do(
    server_database: tuple[str, Callable[[sa.Engine], int]],
) -> None:
    url, waiters = server_database
    engine = sa.create_engine(normalise_database_url(url))
    try:
        # Stand in for a first release process that is still migrating.
        with engine.connect() as holder, migration_lock(holder):
            release = start_release(url)
            wait_until(lambda: waiters(engine) == 1, "release waiting on the lock")
            assert release.poll() is None
            assert not sa.inspect(engine).has_table("alembic_version")
        finish(release)
        assert applied_versions(engine) == [head_revision()]
    finally:
        engine.dispose()


@pytest.mark.slow
def test_releases_started_together_all_succeed(
    server_database: tuple[str, Callable[[sa.Engine], int]],
) -> None:
    url, _ = server_database
    releases = [start_release(url) for _ in range(CONCURRENT_RELEASES)]
    outputs = [finish(release) for release in releases]
    # Exactly one of them ran the migrations; the others found the schema at head.
    assert sum("Running upgrade  ->" in output for output in outputs) == 1
    engine = sa.create_engine(normalise_database_url(url))
    try:
        assert applied_versions(engine) == [head_revision()]
    finally:
        engine.dispose()


def test_mysql_lock_name_is_per_database_and_fits_mysqls_limit(mariadb: Any) -> None:
    engine = sa.create_engine(normalise_database_url(mariadb.new_database()))
    try:
        with engine.connect() as connection:
            name = mysql_lock_name(connection)
            database = connection.execute(sa.text("SELECT DATABASE()")).scalar_one()
    finally:
        engine.dispose()
    assert name.endswith(database)
    assert len(name) <= 64
