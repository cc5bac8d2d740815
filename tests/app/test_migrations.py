"""The migration chain builds the models' schema on every database, and undoes it."""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask

from microblog import PROJECT_ROOT, create_app
from microblog.config import normalise_database_url
from microblog.extensions import db
from tests.harness.environment import environment

BACKENDS = ("sqlite", "postgresql", "mariadb")
SERVER_FIXTURES = {"postgresql": "postgres", "mariadb": "mariadb"}
VERSION_TABLE = "alembic_version"


def script_directory() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return ScriptDirectory.from_config(config)


@pytest.fixture(params=BACKENDS)
def raw_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database on each backend, in the form a platform hands out."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrations.sqlite'}"
    server = request.getfixturevalue(SERVER_FIXTURES[request.param])
    url: str = server.new_database()
    return url


@pytest.fixture
def empty_app(raw_database_url: str) -> Iterator[Flask]:
    """The app on an empty database, inside an app context."""
    url = normalise_database_url(raw_database_url)
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        yield app
        db.engine.dispose()


def schema_tables() -> set[str]:
    """Tables in the database, without Alembic's bookkeeping table."""
    return set(sa.inspect(db.engine).get_table_names()) - {VERSION_TABLE}


def current_revision() -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_the_chain_has_exactly_one_head() -> None:
    assert len(script_directory().get_heads()) == 1


def test_upgrade_builds_every_model_table_and_downgrade_removes_them(
    empty_app: Flask,
) -> None:
    assert schema_tables() == set()

    flask_migrate.upgrade()
    assert schema_tables() == set(db.metadata.tables)
    assert current_revision() == script_directory().get_current_head()

    flask_migrate.downgrade(revision="base")
    assert schema_tables() == set()
    assert current_revision() is None

    # Downgrade left nothing behind (types, sequences, indexes) that a second
    # upgrade would trip over.
    flask_migrate.upgrade()
    assert schema_tables() == set(db.metadata.tables)


def test_models_and_migrations_agree(empty_app: Flask) -> None:
    flask_migrate.upgrade()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_comparison_would_notice_a_model_change(empty_app: Flask) -> None:
    flask_migrate.upgrade()
    changed = sa.MetaData()
    for table in db.metadata.tables.values():
        table.to_metadata(changed)
    sa.Table("extra", changed, sa.Column("id", sa.Integer, primary_key=True))
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), changed)
    assert [change[0] for change in differences] == ["add_table"]


def test_flask_db_upgrade_accepts_the_platform_url(raw_database_url: str) -> None:
    # What a Procfile release phase runs, with DATABASE_URL exactly as given.
    env = environment(
        DATABASE_URL=raw_database_url,
        SECRET_KEY=secrets.token_hex(32),
        FLASK_DEBUG="0",
    )
    flask = Path(sys.executable).with_name("flask")
    result = subprocess.run(
        [str(flask), "--app", "microblog", "db", "upgrade"],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    engine = sa.create_engine(normalise_database_url(raw_database_url))
    try:
        assert set(sa.inspect(engine).get_table_names()) >= {"user", "post"}
    finally:
        engine.dispose()
