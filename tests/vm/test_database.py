"""The app on real database servers, its database and user made by provision.sh."""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pymysql
import pytest
from psycopg2 import sql

from tests.harness.app_server import AppServer, run_flask
from tests.harness.databases import MariaDBServer, PostgresServer, RedisServer
from tests.harness.environment import environment
from tests.harness.paths import ROOT
from tests.vm.support import fetch, provision_shell

pytestmark = pytest.mark.slow

NAME = "microblog"
PACKAGED_SOCKET = "/run/mysqld/mysqld.sock"


def setup_sql(password: str) -> str:
    """provision.sh's own SQL for the database and its user."""
    return provision_shell('mariadb_setup_sql "$@"', NAME, NAME, password)


def app_url(password: str, socket: Path) -> str:
    """provision.sh's DATABASE_URL, pointed at the test server's socket."""
    url = provision_shell('DATABASE=mariadb; database_url "$1"', password).strip()
    assert url.endswith(f"?unix_socket={PACKAGED_SOCKET}")
    return url.replace(PACKAGED_SOCKET, str(socket))


def as_app_user(server: MariaDBServer, password: str) -> pymysql.Connection[Any]:
    return pymysql.connect(
        unix_socket=str(server.socket),
        user=NAME,
        password=password,
        database=NAME,
        autocommit=True,
    )


@pytest.fixture(scope="module")
def provisioned(mariadb: MariaDBServer) -> Iterator[str]:
    """The database and user, created twice (provision.sh must be re-runnable)."""
    password = secrets.token_hex(24)
    for _ in range(2):
        # provision.sh pipes this to the mariadb client as root; the same statements
        # go here one at a time through the server's root connection.
        for statement in setup_sql(password).split(";\n"):
            if statement.strip():
                mariadb.execute(statement)
    yield password
    mariadb.execute(f"DROP DATABASE IF EXISTS `{NAME}`")
    mariadb.execute("DROP USER IF EXISTS %s@'localhost'", NAME)


def test_app_user_is_granted_only_its_own_database(
    mariadb: MariaDBServer, provisioned: str
) -> None:
    connection = as_app_user(mariadb, provisioned)
    with connection, connection.cursor() as cursor:
        cursor.execute("SHOW GRANTS")
        grants = sorted(row[0].split(" IDENTIFIED BY")[0] for row in cursor.fetchall())
        assert grants == [
            f"GRANT ALL PRIVILEGES ON `{NAME}`.* TO `{NAME}`@`localhost`",
            f"GRANT USAGE ON *.* TO `{NAME}`@`localhost`",
        ]
        with pytest.raises(pymysql.err.OperationalError, match="denied"):
            cursor.execute("CREATE DATABASE not_mine")
        with pytest.raises(pymysql.err.OperationalError, match="denied"):
            cursor.execute("SELECT user FROM mysql.user")


def provisioned_env(password: str, socket: Path, redis: RedisServer) -> dict[str, str]:
    """provision.sh's env file for this database, pointed at the test servers."""
    text = provision_shell(
        "DOMAIN=localhost; LOW_MEMORY=false; DATABASE=mariadb; "
        'env_file_contents "$(new_secret 32)" "$(database_url "$1")"',
        password,
    )
    settings = dict(
        line.split("=", 1)
        for line in text.splitlines()
        if line and not line.startswith("#")
    )
    settings["DATABASE_URL"] = settings["DATABASE_URL"].replace(
        PACKAGED_SOCKET, str(socket)
    )
    assert settings["REDIS_URL"] == "redis://127.0.0.1:6379/0"
    settings["REDIS_URL"] = redis.url
    return environment(**settings)


def test_app_runs_on_mariadb_with_the_provisioned_settings(
    mariadb: MariaDBServer, redis: RedisServer, provisioned: str
) -> None:
    env = provisioned_env(provisioned, mariadb.socket, redis)
    run_flask(env, "db", "upgrade")
    run_flask(env, "seed", "--users", "3", "--follows", "1", "--posts", "2")
    # The preflight finds nothing to fix but the mail server, left to the admin.
    check = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "microblog", "deploy", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    prefix = "deploy check: "
    problems = [
        line.removeprefix(prefix).split(":", 1)[0]
        for line in check.stdout.splitlines()
        if line.startswith(prefix)
    ]
    assert problems == ["mail"], check.stdout + check.stderr
    assert check.returncode != 0
    with AppServer(env, options=["--workers", "2"]).start() as gunicorn:
        port = gunicorn.port
        assert fetch(port, "/readyz").status == 200
        # As nginx forwards it; FORCE_HTTPS=1 redirects anything else.
        forwarded = {"X-Forwarded-Proto": "https"}
        assert fetch(port, "/explore", headers=forwarded).status == 200
        assert fetch(port, "/explore").status == 301
    connection = as_app_user(mariadb, provisioned)
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM user")
        assert cursor.fetchone() == (3,)


@pytest.fixture(scope="module")
def provisioned_postgres(postgres: PostgresServer) -> Iterator[str]:
    """The PostgreSQL role and database, the role made twice (re-runnable)."""
    password = secrets.token_hex(24)
    for _ in range(2):
        postgres.execute(provision_shell('postgresql_role_sql "$@"', NAME, password))
    # What provision.sh's createdb call does (--owner, --encoding, --template).
    postgres.execute(
        sql.SQL(
            "CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0"
        ).format(sql.Identifier(NAME), sql.Identifier(NAME))
    )
    postgres.execute(provision_shell('postgresql_database_sql "$1"', NAME))
    yield password
    postgres.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(NAME)))
    postgres.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(NAME)))


def test_postgresql_database_admits_only_its_owner(
    postgres: PostgresServer, provisioned_postgres: str
) -> None:
    url = provision_shell(
        'DATABASE=postgresql; database_url "$1"', provisioned_postgres
    )
    assert url.strip() == f"postgresql://{NAME}:{provisioned_postgres}@localhost/{NAME}"
    test_url = url.strip().replace("@localhost/", f"@127.0.0.1:{postgres.port}/")
    env = environment(SECRET_KEY="deploy-test-" + "p" * 40, DATABASE_URL=test_url)
    run_flask(env, "db", "upgrade")
    postgres.execute("CREATE ROLE intruder LOGIN")
    try:
        with pytest.raises(psycopg2.OperationalError, match="permission denied"):
            psycopg2.connect(
                host="127.0.0.1", port=postgres.port, user="intruder", dbname=NAME
            ).close()
    finally:
        postgres.execute("DROP ROLE intruder")
