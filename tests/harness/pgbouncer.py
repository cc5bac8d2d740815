"""A real PgBouncer in transaction mode in front of a test PostgreSQL.

Fly's Managed Postgres, Heroku's Connection Pooling, Supabase and Neon hand the
app a URL like this one: each transaction may run on a different server
connection, and the pool holds few of them.
"""

from __future__ import annotations

import signal

import psycopg2
from sqlalchemy.engine import make_url

from tests.harness.databases import PostgresServer
from tests.harness.processes import (
    BackgroundServer,
    as_user,
    free_port,
    private_dir,
    removed_on_error,
    require_program,
)

# As small as the reproduction: three server connections per database.
DEFAULT_POOL_SIZE = 3

CONFIG = """\
[databases]
; Any database name the client asks for, on the test server, as its superuser.
* = host=127.0.0.1 port={server_port} user=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
; Loopback only and a throwaway server: the client's name and password are
; accepted as given, and every database logs in as the user above.
auth_type = any
pool_mode = {pool_mode}
default_pool_size = {pool_size}
max_client_conn = 200
; Hand out server connections in turn instead of reusing the last one: under
; load a platform's pooler switches connections between transactions as much,
; and session state that leaks across transactions shows at once.
server_round_robin = 1
; psycopg2 may send it; PgBouncer refuses start-up parameters it does not know.
ignore_startup_parameters = extra_float_digits
pidfile = {root}/pgbouncer.pid
admin_users = postgres
"""


class PgBouncerServer:
    """PgBouncer on a free loopback port, pooling ``postgres``'s databases."""

    def __init__(
        self,
        postgres: PostgresServer,
        pool_mode: str = "transaction",
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> None:
        program = require_program("pgbouncer", "pgbouncer", label="PgBouncer")
        self.postgres = postgres
        self.port = free_port()
        root = private_dir("microblog-pgbouncer-", owner="postgres")
        config = root / "pgbouncer.ini"
        config.write_text(
            CONFIG.format(
                server_port=postgres.port,
                port=self.port,
                pool_mode=pool_mode,
                pool_size=pool_size,
                root=root,
            )
        )
        with removed_on_error(root):
            # PgBouncer refuses to run as root, like PostgreSQL. SIGINT is its
            # "safe shutdown"; SIGTERM ends client connections at once.
            self.server = BackgroundServer(
                "pgbouncer",
                root,
                [program, str(config)],
                signal.SIGTERM,
                **as_user("postgres"),
            )
            self.server.wait_ready(self._answers)

    def _answers(self) -> bool:
        try:
            psycopg2.connect(
                host="127.0.0.1",
                port=self.port,
                user="postgres",
                dbname="pgbouncer",
                connect_timeout=2,
            ).close()
        except psycopg2.OperationalError:
            return False
        return True

    def pooled(self, database_url: str) -> str:
        """The same database, reached through this PgBouncer."""
        url = make_url(database_url).set(host="127.0.0.1", port=self.port)
        return url.render_as_string(hide_password=False)

    def show(self, what: str) -> list[dict[str, object]]:
        """Rows of PgBouncer's admin ``SHOW`` command (``pools``, ``servers``)."""
        connection = psycopg2.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="pgbouncer"
        )
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f"SHOW {what}")
                names = [column.name for column in cursor.description]
                return [dict(zip(names, row, strict=True)) for row in cursor]
        finally:
            connection.close()

    def stop(self) -> None:
        """Stop PgBouncer and delete its folder."""
        self.server.stop()
