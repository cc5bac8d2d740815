"""Throwaway PostgreSQL, MariaDB and Redis servers for the test run.

Each server runs in its own temporary folder on a free loopback port, tuned to
start fast and to trade durability for speed. The session fixtures in
``tests/conftest.py`` start one of each on first use and stop it at the end. A
missing server skips the tests that use it, or fails them under
``REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import re
import secrets
import signal
import socket
from pathlib import Path
from typing import Any

import psycopg2
import pymysql
from psycopg2 import sql

from tests.harness.processes import (
    BackgroundServer,
    as_user,
    find_program,
    free_port,
    port_open,
    private_dir,
    removed_on_error,
    require_program,
    run_setup,
    skip_or_fail,
)

DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,47}")


def database_name(name: str | None) -> str:
    """``name`` checked for use as a database and user name, or a fresh one."""
    name = name or f"test_{secrets.token_hex(4)}"
    if not DATABASE_NAME.fullmatch(name):
        raise ValueError(f"database name {name!r}: use [a-z0-9_], 48 at most")
    return name


def postgres_bindir() -> Path | None:
    """Folder of the newest installed PostgreSQL server programs."""
    # Debian keeps them off PATH, one folder per major version.
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda path: int(path.parent.parent.name),
    )
    if versions:
        return versions[-1].parent
    found = find_program("postgres")
    return Path(found).parent if found else None


class PostgresSession:
    """Superuser sessions on a PostgreSQL server on loopback at ``port``."""

    port: int

    def _connect(self, database: str = "postgres") -> Any:
        return psycopg2.connect(
            host="127.0.0.1",
            port=self.port,
            user="postgres",
            dbname=database,
            connect_timeout=2,
        )

    def _answers(self) -> bool:
        try:
            self._connect().close()
        except psycopg2.OperationalError:
            return False
        return True


class PostgresServer(PostgresSession):
    """A PostgreSQL server with trust authentication on loopback."""

    def __init__(self) -> None:
        bindir = postgres_bindir()
        if bindir is None or not (bindir / "initdb").exists():
            skip_or_fail("PostgreSQL not installed (apt-get install postgresql)")
        self.port = free_port()
        self.bindir = bindir
        root = private_dir("microblog-postgres-", owner="postgres")
        # psql -h socket_dir -p port -U postgres: a superuser session for scripts.
        self.socket_dir = root
        data = str(root / "data")
        initdb = [str(bindir / "initdb"), "-D", data, "-U", "postgres", "-A", "trust"]
        initdb += ["-E", "UTF8", "--locale=C", "--no-sync"]
        server = [str(bindir / "postgres"), "-D", data, *self._settings(root)]
        with removed_on_error(root):
            run_setup(initdb, "initdb", cwd=root, **as_user("postgres"))
            # SIGINT is PostgreSQL's "fast" shutdown: it ends open sessions.
            self.server = BackgroundServer(
                "postgres", root, server, signal.SIGINT, **as_user("postgres")
            )
            self.server.wait_ready(self._answers)

    def _settings(self, root: Path) -> list[str]:
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(root),
            # A throwaway server: durability buys nothing and costs seconds.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "shared_buffers": "32MB",
        }
        return [f"--{key}={value}" for key, value in settings.items()]

    def execute(
        self, statement: str | sql.Composable, database: str = "postgres"
    ) -> None:
        """Run one statement as the superuser, outside a transaction."""
        connection = self._connect(database)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(statement)
        finally:
            connection.close()

    def new_database(self, name: str | None = None) -> str:
        """Create an empty database owned by a user of the same name; return its URL."""
        name = database_name(name)
        password = secrets.token_hex(12)
        self.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(name), sql.Literal(password)
            )
        )
        self.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(name)
            )
        )
        # The form Heroku and Fly hand out; the app must normalise it.
        return f"postgres://{name}:{password}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        """Stop the server ("fast" shutdown: ends open sessions) and delete its data."""
        self.server.stop()


MARIADB_CONFIG = """\
[mysqld]
datadir = {root}/data
socket = {root}/mysqld.sock
pid-file = {root}/mysqld.pid
port = {port}
bind-address = 127.0.0.1
skip-networking = 0
character-set-server = utf8mb4
collation-server = utf8mb4_unicode_ci
# Small and not durable: this server lives for one test run.
innodb_buffer_pool_size = 32M
innodb_log_file_size = 16M
innodb_flush_log_at_trx_commit = 0
innodb_doublewrite = 0
innodb_flush_method = nosync
performance_schema = OFF
skip-log-bin
"""


class MariaDBServer:
    """A MariaDB server on loopback; only this object knows root's password."""

    def __init__(self) -> None:
        daemon = require_program(
            "mariadbd", "mariadb-server", "mysqld", label="MariaDB"
        )
        install = require_program(
            "mariadb-install-db", "mariadb-server", "mysql_install_db", label="MariaDB"
        )
        self.port = free_port()
        root = private_dir("microblog-mariadb-", owner="mysql")
        self.socket = root / "mysqld.sock"
        self.client_config = root / "client.cnf"
        self.root_password = ""
        config = root / "my.cnf"
        config.write_text(MARIADB_CONFIG.format(root=root, port=self.port))
        # Readable by the mysql user; mariadbd ignores world-writable option files.
        config.chmod(0o644)
        defaults = f"--defaults-file={config}"
        setup = [install, defaults, "--auth-root-authentication-method=normal"]
        setup += ["--skip-test-db"]
        with removed_on_error(root):
            run_setup(setup, "mariadb-install-db", cwd=root, **as_user("mysql"))
            self.server = BackgroundServer(
                "mariadb", root, [daemon, defaults], **as_user("mysql")
            )
            self.server.wait_ready(self._answers)
        self._lock_root()

    def _lock_root(self) -> None:
        # Name resolution stays on, as on a default install, so TCP from 127.0.0.1
        # counts as "localhost": root gets a password and keeps no other hosts.
        for (host,) in self.query(
            "SELECT Host FROM mysql.user WHERE User = 'root' AND Host <> 'localhost'"
        ):
            self.execute("DROP USER 'root'@%s", host)
        password = secrets.token_hex(16)
        self.execute("ALTER USER 'root'@'localhost' IDENTIFIED BY %s", password)
        self.root_password = password
        # For scripts under test: mariadb --defaults-extra-file=... runs as root.
        self.client_config.write_text(
            f"[client]\nsocket = {self.socket}\nuser = root\npassword = {password}\n"
        )
        self.client_config.chmod(0o600)

    def _connect(self) -> pymysql.Connection[Any]:
        return pymysql.connect(
            unix_socket=str(self.socket),
            user="root",
            password=self.root_password,
            connect_timeout=2,
            autocommit=True,
        )

    def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            self._connect().close()
        except pymysql.err.OperationalError:
            return False
        return port_open(self.port)

    def query(self, statement: str, *args: Any) -> list[tuple[Any, ...]]:
        """Run one statement as root (``%s`` placeholders filled from ``args``)."""
        connection = self._connect()
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement, args or None)
                return list(cursor.fetchall())
        finally:
            connection.close()

    def execute(self, statement: str, *args: Any) -> None:
        """Run one statement as root, ignoring any rows it returns."""
        self.query(statement, *args)

    def grant_database_user(
        self, database: str, user: str, password: str, host: str = "127.0.0.1"
    ) -> None:
        """Create ``user`` allowed everything on ``database`` and nothing else."""
        database_name(database)
        self.execute("CREATE USER %s@%s IDENTIFIED BY %s", user, host, password)
        self.execute(f"GRANT ALL PRIVILEGES ON `{database}`.* TO %s@%s", user, host)

    def new_database(self, name: str | None = None) -> str:
        """Create an empty database with its own limited user; return its URL."""
        name = database_name(name)
        password = secrets.token_hex(12)
        self.execute(f"CREATE DATABASE `{name}`")
        self.grant_database_user(name, name, password)
        return f"mysql://{name}:{password}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        """Shut the server down cleanly and delete its data."""
        self.server.stop()


class RedisServer:
    """A Redis server on loopback that keeps nothing on disk."""

    def __init__(self) -> None:
        program = require_program("redis-server", "redis-server", label="Redis")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        root = private_dir("microblog-redis-")
        command = [program, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(root)]
        with removed_on_error(root):
            self.server = BackgroundServer("redis", root, command)
            self.server.wait_ready(self._answers)

    def command(self, *words: str) -> bytes:
        """Send one command in Redis's inline protocol and return the raw reply line."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
            conn.sendall(" ".join(words).encode() + b"\r\n")
            return conn.makefile("rb").readline()

    def _answers(self) -> bool:
        try:
            return self.command("PING") == b"+PONG\r\n"
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the server and delete its folder."""
        self.server.stop()
