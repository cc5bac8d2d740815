"""Scenario 4: three releases run ``flask db upgrade`` at the same moment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

from microblog.config import normalise_database_url
from microblog.extensions import db
from tests.harness.databases import MariaDBServer, PostgresServer
from tests.harness.environment import environment
from tests.harness.paths import ROOT
from tests.resilience.cluster import SECRET_KEY
from tests.resilience.report import Row, add_row

pytestmark = [pytest.mark.resilience, pytest.mark.slow]

RELEASES = 3
MIGRATIONS = ROOT / "migrations"


def migration_revisions() -> list[str]:
    """Every revision shipped in ``migrations/versions``, oldest first."""
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    return [revision.revision for revision in script.walk_revisions()][::-1]


def release_environment(database_url: str) -> dict[str, str]:
    """What a release phase gets: the database and the production key."""
    return environment(
        PYTHONPATH=str(ROOT), DATABASE_URL=database_url, SECRET_KEY=SECRET_KEY
    )


def run_releases_together(database_url: str, workdir: Path) -> list[tuple[int, str]]:
    """Start ``flask db upgrade`` three times at once; exit codes and output."""
    start_file = workdir / "start"
    launcher = Path(__file__).with_name("release_together.py")
    processes = [
        subprocess.Popen(
            [sys.executable, str(launcher), str(start_file)],
            cwd=workdir,
            env=release_environment(database_url),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(RELEASES)
    ]
    try:
        # Every process has loaded the app before any of them starts.
        for process in processes:
            assert process.stdout is not None
            assert process.stdout.readline() == "loaded\n"
        start_file.touch()
        results = []
        for process in processes:
            output, _ = process.communicate(timeout=120)
            results.append((process.returncode, output))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return results


def schema_of(database_url: str) -> tuple[set[str], set[str]]:
    """The tables in the database and the revisions in ``alembic_version``."""
    engine = sa.create_engine(normalise_database_url(database_url))
    try:
        with engine.connect() as connection:
            tables = set(sa.inspect(connection).get_table_names())
            versions = connection.execute(
                sa.text("SELECT version_num FROM alembic_version")
            )
            return tables, {row[0] for row in versions}
    finally:
        engine.dispose()


def check_releases(
    name: str, server: PostgresServer | MariaDBServer, tmp_path: Path
) -> None:
    url = server.new_database()
    results = run_releases_together(url, tmp_path)
    revisions = migration_revisions()
    applied = {
        revision: sum(
            "Running upgrade " in output and f"-> {revision}," in output
            for _, output in results
        )
        for revision in revisions
    }
    tables, versions = schema_of(url)
    failures = sum(code != 0 for code, _ in results)
    add_row(
        Row(
            f"4 three db upgrades at once ({name})",
            RELEASES,
            failures,
            0,
            0,
            note="each migration applied once" if set(applied.values()) == {1} else "",
        )
    )
    assert failures == 0, "\n".join(output for _, output in results)
    assert applied == dict.fromkeys(revisions, 1)
    assert versions == {revisions[-1]}
    assert tables == {*db.metadata.tables, "alembic_version"}


def test_concurrent_upgrades_on_postgres_apply_each_migration_once(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    check_releases("PostgreSQL", postgres, tmp_path)


def test_concurrent_upgrades_on_mariadb_apply_each_migration_once(
    mariadb: MariaDBServer, tmp_path: Path
) -> None:
    check_releases("MariaDB", mariadb, tmp_path)
