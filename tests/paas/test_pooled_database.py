"""Releases and migrations through a transaction-mode PgBouncer, as platforms hand out.

The app's ``DATABASE_URL`` may be a pooler (Fly's Managed Postgres, Supabase,
Neon); Heroku adds ``DATABASE_CONNECTION_POOL_URL`` beside a direct
``DATABASE_URL``. Releases racing through the pooler must all finish and leave
no lock behind, and a direct URL, when set, is what the migrations use.
"""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from microblog.config import normalise_database_url
from tests.harness.databases import PostgresServer
from tests.harness.environment import environment
from tests.harness.factories import PASSWORD
from tests.harness.live_app import LiveApp
from tests.harness.paths import ROOT
from tests.harness.pgbouncer import PgBouncerServer
from tests.harness.processes import free_port, wait_until
from tests.paas.support import secret_key

pytestmark = pytest.mark.slow

RACING_RELEASES = 3
ROUNDS = 4
# Far below the lock's own wait: a release that hangs fails here, not in 4 minutes.
RELEASE_TIMEOUT = 60


def flask_db(*arguments: str, **variables: str) -> subprocess.Popen[str]:
    """``flask --app microblog db ...`` as a release process runs it."""
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "microblog", "db", *arguments],
        cwd=ROOT,
        env=environment(
            SECRET_KEY=secret_key(),
            FLASK_SKIP_DOTENV="1",
            PYTHONPATH=str(ROOT),
            **variables,
        ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finished(process: subprocess.Popen[str]) -> str:
    try:
        output, _ = process.communicate(timeout=RELEASE_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"flask db hung for {RELEASE_TIMEOUT} s:\n{output}")
    assert process.returncode == 0, output
    return output


def advisory_locks(postgres: PostgresServer) -> list[tuple[object, ...]]:
    """Every advisory lock on the server, held or awaited, by anyone."""
    engine = sa.create_engine(
        f"postgresql+psycopg2://postgres@127.0.0.1:{postgres.port}/postgres"
    )
    try:
        with engine.connect() as connection:
            query = "SELECT pid, granted FROM pg_locks WHERE locktype = 'advisory'"
            return [tuple(row) for row in connection.execute(sa.text(query))]
    finally:
        engine.dispose()


def schema_version(url: str) -> list[str]:
    # As the superuser: through PgBouncer, every database logs in as postgres,
    # so the tables the migrations made belong to it.
    superuser = make_url(normalise_database_url(url)).set(
        username="postgres", password=None
    )
    engine = sa.create_engine(superuser)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT version_num FROM alembic_version")
            )
            return [row[0] for row in rows]
    finally:
        engine.dispose()


def unreachable_url(database_url: str) -> str:
    """The same database on a port where nothing listens (a pooler that is down)."""
    return database_url.replace(
        database_url.rsplit("@", 1)[1].split("/", 1)[0], f"127.0.0.1:{free_port()}"
    )


def test_racing_releases_through_the_pooler_finish_and_leave_no_lock(
    postgres: PostgresServer, pgbouncer: PgBouncerServer
) -> None:
    """Three upgrades at once, four rounds on one PgBouncer that never restarts."""
    for _ in range(ROUNDS):
        direct = postgres.new_database()
        pooled = pgbouncer.pooled(direct)
        started = time.monotonic()
        releases = [
            flask_db("upgrade", DATABASE_URL=pooled) for _ in range(RACING_RELEASES)
        ]
        outputs = [finished(release) for release in releases]
        assert time.monotonic() - started < RELEASE_TIMEOUT
        # One of them migrated; the others waited, then found the schema at head.
        assert sum("Running upgrade  ->" in output for output in outputs) == 1
        assert len(schema_version(direct)) == 1
        assert advisory_locks(postgres) == []


def test_a_release_killed_while_holding_the_lock_leaves_nothing_held(
    postgres: PostgresServer, pgbouncer: PgBouncerServer
) -> None:
    """The lock ends with its transaction, even when the process dies mid-way."""
    pooled = pgbouncer.pooled(postgres.new_database())
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK, normalise_database_url(pooled)],
        cwd=ROOT,
        env=environment(PYTHONPATH=str(ROOT)),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        assert [granted for _, granted in advisory_locks(postgres)] == [True]
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate()
    wait_until(lambda: advisory_locks(postgres) == [], "the dead holder's lock to end")
    assert "Running upgrade  ->" in finished(flask_db("upgrade", DATABASE_URL=pooled))


# Takes the migration lock as a release does, says so, then waits to be killed.
HOLD_THE_LOCK = """
import sys, time
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from microblog.ops.migration_lock import migration_lock
engine = sa.create_engine(sys.argv[1])
with engine.connect() as connection, migration_lock(connection):
    print("holding", flush=True)
    time.sleep(120)
"""


def test_migrations_use_the_direct_url_when_one_is_set(
    postgres: PostgresServer,
) -> None:
    """Fly's Managed Postgres, Supabase, Neon: DATABASE_DIRECT_URL beside the pooler."""
    direct = postgres.new_database()
    finished(
        flask_db(
            "upgrade", DATABASE_URL=unreachable_url(direct), DATABASE_DIRECT_URL=direct
        )
    )
    assert len(schema_version(direct)) == 1


def test_heroku_pooling_url_leaves_database_url_to_the_migrations(
    postgres: PostgresServer,
) -> None:
    """Heroku's Connection Pooling: web uses the pool URL, releases the direct one."""
    direct = postgres.new_database()
    output = finished(
        flask_db(
            "upgrade",
            DATABASE_URL=direct,
            DATABASE_CONNECTION_POOL_URL=unreachable_url(direct),
        )
    )
    assert "Running upgrade  ->" in output
    assert len(schema_version(direct)) == 1


def test_the_app_works_through_the_pooler(
    postgres: PostgresServer, pgbouncer: PgBouncerServer, tmp_path: Path
) -> None:
    """Pages, forms and the API, with every transaction on any server connection.

    The PgBouncer hands out its server connections in turn, so anything that
    relied on session state (a ``SET``, a session lock, a prepared statement)
    would break here.
    """
    direct = postgres.new_database()
    app = LiveApp(pgbouncer.pooled(direct), tmp_path, DATABASE_DIRECT_URL=direct)
    try:
        alice, alice_name = app.new_account("alice")
        bob, _ = app.new_account("bob")
        posted = alice.submit("/index", {"post": "Through the pooler"}, form_page="/")
        assert posted.status == 302
        followed = bob.submit(
            f"/follow/{alice_name}", {}, form_page=f"/user/{alice_name}"
        )
        assert followed.status == 302
        assert "Through the pooler" in bob.get("/").text
        assert "Through the pooler" in bob.get("/explore").text

        basic = base64.b64encode(f"{alice_name}:{PASSWORD}".encode()).decode()
        token = json.loads(
            app.client()
            .request("POST", "/api/tokens", headers={"Authorization": f"Basic {basic}"})
            .text
        )["token"]
        bearer = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
        }
        api = app.client()
        created = api.request(
            "POST", "/api/posts", body=json.dumps({"body": "API post"}), headers=bearer
        )
        assert created.status == 201, created.text
        timeline = json.loads(api.get("/api/posts", headers=bearer).text)
        bodies = [post["body"] for post in timeline["items"]]
        assert bodies[:2] == ["API post", "Through the pooler"]
        assert app.server_errors() == []
        # Every server connection PgBouncer opened is back in its pool, idle.
        servers = [
            row for row in pgbouncer.show("SERVERS") if row["database"] != "pgbouncer"
        ]
        assert all(row["state"] in ("idle", "used") for row in servers), servers
    finally:
        app.stop()
