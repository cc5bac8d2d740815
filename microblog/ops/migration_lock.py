"""One migration run at a time, however many release processes start at once.

Heroku's release phase, Fly's release machine, compose's migrate service and a
VM's deploy script may all run ``flask db upgrade`` together (two deploys in a
row, or several instances). A database lock around the run makes the second
one wait and then find nothing to do.

On PostgreSQL the lock belongs to the migration's own transaction
(``pg_advisory_xact_lock``): it ends with that transaction's commit or rollback,
and with its connection. A session-level lock would not work through a
transaction-mode pooler such as PgBouncer, which hands each transaction to
whichever server connection is free: the lock would stay on a server connection
that the pooler keeps open, held by nobody, and every later release would wait
for it. MySQL and MariaDB commit DDL statement by statement, so there the lock
is the session's (``GET_LOCK``), taken around the run and released after it.
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
# How long a release waits for another one's migrations, and how long one of
# its own statements waits for a table lock: under Fly's 5-minute default
# release_command_timeout (Heroku allows an hour), so a stuck release fails
# with this module's message instead of being killed by the platform.
WAIT_SECONDS = 240


class MigrationLockTimeout(RuntimeError):
    """Another migration held the lock for longer than ``WAIT_SECONDS``."""


def mysql_lock_name(connection: Connection) -> str:
    """The lock's name for this connection's database."""
    database = connection.execute(sa.text("SELECT DATABASE()")).scalar_one()
    return f"{MYSQL_LOCK_PREFIX}{database}"[:MYSQL_LOCK_NAME_MAX]


@contextmanager
def migration_lock(connection: Connection) -> Iterator[None]:
    """Hold the database's migration lock while Alembic runs in the block.

    On PostgreSQL the block runs inside the transaction that holds the lock, so
    Alembic must be configured on ``connection`` inside the block: it then sees
    that transaction as its caller's and leaves the commit to this function.
    """
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
    with connection.begin():
        # is_local: the setting, like the lock, ends with this transaction, so
        # nothing is left on a pooled server connection.
        connection.execute(
            sa.text("SELECT set_config('lock_timeout', :wait, true)"),
            {"wait": f"{WAIT_SECONDS}s"},
        )
        try:
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"),
                {"key": POSTGRES_LOCK_KEY},
            )
        except sa.exc.OperationalError as error:
            raise MigrationLockTimeout(
                f"another migration held the lock for {WAIT_SECONDS} s"
            ) from error
        yield


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
