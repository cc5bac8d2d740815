"""One migration run at a time, however many release processes start at once.

Heroku's release phase, Fly's release machine, compose's migrate service and a
VM's deploy script may all run ``flask db upgrade`` together (two deploys in a
row, or several instances). A database lock around the run makes the second
one wait and then find nothing to do. The locks are session-level, so they
outlive the transactions Alembic commits and vanish if the process dies.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection

# Any fixed 64-bit number works; this one spells "microblg" in ASCII.
POSTGRES_LOCK_KEY = 0x6D6963726F626C67
# MySQL/MariaDB lock names are per server, so the database name goes in them.
MYSQL_LOCK_PREFIX = "microblog-migrations:"
MYSQL_LOCK_NAME_MAX = 64
# Longer than any migration should take, shorter than Heroku's 1-hour release limit.
WAIT_SECONDS = 900


class MigrationLockTimeout(RuntimeError):
    """Another migration held the lock for longer than ``WAIT_SECONDS``."""


def mysql_lock_name(connection: Connection) -> str:
    """The lock's name for this connection's database."""
    database = connection.execute(sa.text("SELECT DATABASE()")).scalar_one()
    return f"{MYSQL_LOCK_PREFIX}{database}"[:MYSQL_LOCK_NAME_MAX]


@contextmanager
def migration_lock(connection: Connection) -> Iterator[None]:
    """Hold the database's migration lock for the block (SQLite needs none)."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        with _postgres_lock(connection):
            yield
    elif dialect in ("mysql", "mariadb"):
        with _mysql_lock(connection):
            yield
    else:
        # SQLite locks the whole file for each write transaction already.
        yield


@contextmanager
def _postgres_lock(connection: Connection) -> Iterator[None]:
    connection.execute(
        sa.text("SELECT set_config('lock_timeout', :wait, false)"),
        {"wait": f"{WAIT_SECONDS}s"},
    )
    try:
        connection.execute(
            sa.text("SELECT pg_advisory_lock(:key)"), {"key": POSTGRES_LOCK_KEY}
        )
    except sa.exc.OperationalError as error:
        raise MigrationLockTimeout(
            f"another migration held the lock for {WAIT_SECONDS} s"
        ) from error
    connection.execute(sa.text("RESET lock_timeout"))
    # Alembic must start its own transaction, not join the one these opened.
    connection.commit()
    try:
        yield
    finally:
        connection.rollback()
        connection.execute(
            sa.text("SELECT pg_advisory_unlock(:key)"), {"key": POSTGRES_LOCK_KEY}
        )
        connection.commit()


@contextmanager
def _mysql_lock(connection: Connection) -> Iterator[None]:
    name = mysql_lock_name(connection)
    got = connection.execute(
        sa.text("SELECT GET_LOCK(:name, :wait)"), {"name": name, "wait": WAIT_SECONDS}
    ).scalar()
    if got != 1:
        raise MigrationLockTimeout(
            f"another migration held the lock {name!r} for {WAIT_SECONDS} s"
        )
    connection.commit()
    try:
        yield
    finally:
        connection.rollback()
        connection.execute(sa.text("SELECT RELEASE_LOCK(:name)"), {"name": name})
        connection.commit()
