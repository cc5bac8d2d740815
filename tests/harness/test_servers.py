"""The throwaway servers work, and a missing program skips or fails as promised."""

from __future__ import annotations

import http.server
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError, ProgrammingError

from microblog.config import normalise_database_url
from tests.harness.databases import MariaDBServer, PostgresServer, RedisServer
from tests.harness.environment import environment
from tests.harness.paths import ROOT
from tests.harness.processes import (
    ServiceNotReady,
    free_port,
    require_program,
    wait_for_http,
    wait_for_port,
    wait_until,
)


def engine_for(url: str) -> sa.Engine:
    """An engine on a platform-style URL, normalised the way the app does it."""
    return sa.create_engine(normalise_database_url(url), poolclass=sa.NullPool)


def assert_usable(url: str) -> None:
    engine = engine_for(url)
    try:
        with engine.begin() as connection:
            assert connection.scalar(sa.text("SELECT 1")) == 1
            connection.execute(sa.text("CREATE TABLE note (id INTEGER PRIMARY KEY)"))
            connection.execute(sa.text("INSERT INTO note (id) VALUES (7)"))
            assert connection.scalar(sa.text("SELECT id FROM note")) == 7
    finally:
        engine.dispose()


def test_postgres_gives_a_working_database_in_platform_form(
    postgres: PostgresServer,
) -> None:
    url = postgres.new_database()
    assert url.startswith("postgres://")
    assert_usable(url)


def test_postgres_databases_are_separate_and_empty(postgres: PostgresServer) -> None:
    first, second = postgres.new_database(), postgres.new_database("second_db")
    assert_usable(first)
    assert second.endswith("/second_db")
    engine = engine_for(second)
    try:
        assert sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_mariadb_gives_a_working_database_in_platform_form(
    mariadb: MariaDBServer,
) -> None:
    url = mariadb.new_database()
    assert url.startswith("mysql://")
    assert_usable(url)


def test_mariadb_user_is_limited_to_its_own_database(mariadb: MariaDBServer) -> None:
    mine, other = mariadb.new_database(), mariadb.new_database()
    other_name = sa.make_url(other).database
    engine = engine_for(mine)
    try:
        with engine.connect() as connection, pytest.raises(OperationalError) as denied:
            connection.execute(sa.text(f"CREATE TABLE {other_name}.note (id INT)"))
        assert "denied" in str(denied.value)
    finally:
        engine.dispose()


def test_mariadb_user_cannot_create_databases(mariadb: MariaDBServer) -> None:
    engine = engine_for(mariadb.new_database())
    try:
        with (
            engine.connect() as connection,
            pytest.raises((OperationalError, ProgrammingError)),
        ):
            connection.execute(sa.text("CREATE DATABASE not_allowed"))
    finally:
        engine.dispose()


def test_mariadb_root_is_not_reachable_over_tcp(mariadb: MariaDBServer) -> None:
    with pytest.raises(pymysql.err.OperationalError):
        pymysql.connect(host="127.0.0.1", port=mariadb.port, user="root").close()


def test_mariadb_client_config_gives_scripts_a_root_session(
    mariadb: MariaDBServer,
) -> None:
    client = require_program("mariadb", "mariadb-client", "mysql")
    options = f"--defaults-extra-file={mariadb.client_config}"
    result = subprocess.run(
        [client, options, "-N", "-e", "SELECT CURRENT_USER()"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "root@localhost"


def test_postgres_socket_gives_scripts_a_superuser_session(
    postgres: PostgresServer,
) -> None:
    psql = [str(postgres.bindir / "psql"), "-h", str(postgres.socket_dir)]
    psql += ["-p", str(postgres.port), "-U", "postgres"]
    result = subprocess.run(
        [*psql, "-tAc", "SELECT current_user"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "postgres"


def test_database_names_are_checked(postgres: PostgresServer) -> None:
    with pytest.raises(ValueError, match="database name"):
        postgres.new_database("bad-name; DROP")


def test_redis_answers_ping(redis: RedisServer) -> None:
    assert redis.url == f"redis://127.0.0.1:{redis.port}/0"
    assert redis.command("PING") == b"+PONG\r\n"


def test_missing_program_skips_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REQUIRE_SERVICES", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"apt-get install no-such-pkg"):
        require_program("no-such-program-xyz", "no-such-pkg")


def test_missing_program_fails_when_services_are_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REQUIRE_SERVICES", "1")
    with pytest.raises(
        pytest.fail.Exception, match=r"no-such-program-xyz not installed"
    ):
        require_program("no-such-program-xyz", "no-such-pkg")


def test_require_program_finds_alternatives_and_sbin() -> None:
    assert require_program("no-such-program-xyz", "coreutils", "true").endswith("/true")


SKIPPING_TEST = """
import pytest

def test_needs_a_server():
    pytest.skip("someserver not installed")
"""


@pytest.mark.parametrize(
    ("required", "outcome"), [("0", "1 skipped"), ("1", "1 failed")]
)
def test_require_services_turns_any_skip_into_a_failure(
    tmp_path: Path, required: str, outcome: str
) -> None:
    # A separate pytest run with this plugin, so the skip happens for real.
    (tmp_path / "test_skipping.py").write_text(SKIPPING_TEST)
    env = environment(REQUIRE_SERVICES=required, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "pytest", "-p", "tests.harness.require_services"]
    command += ["-p", "no:cacheprovider", "-q", str(tmp_path)]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert outcome in result.stdout, result.stdout
    assert result.returncode == (1 if required == "1" else 0)


ORPHANING_RUN = """
import sys, time
from tests.harness.processes import BackgroundServer, private_dir

server = BackgroundServer("sleeper", private_dir("microblog-orphan-"), ["sleep", "60"])
print(server.process.pid, server.root, flush=True)
time.sleep(60)
"""


def test_a_server_left_behind_by_a_killed_run_is_stopped(tmp_path: Path) -> None:
    run = subprocess.Popen(
        [sys.executable, "-c", ORPHANING_RUN],
        stdout=subprocess.PIPE,
        text=True,
        env=environment(PYTHONPATH=str(ROOT)),
    )
    assert run.stdout is not None
    pid, folder = run.stdout.readline().split()
    run.kill()  # no finalizers, no atexit: only the watcher can clean up
    run.wait()
    run.stdout.close()

    def server_gone() -> bool:
        return not Path(f"/proc/{pid}").exists() and not Path(folder).exists()

    wait_until(server_gone, "orphaned server", timeout=20)


@pytest.fixture
def http_server() -> Iterator[int]:
    server = http.server.HTTPServer(
        ("127.0.0.1", 0), http.server.BaseHTTPRequestHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join()


def test_wait_for_http_returns_the_first_status(http_server: int) -> None:
    # The bare handler answers every GET with 501: any answer means "up".
    assert wait_for_http(f"http://127.0.0.1:{http_server}/", timeout=5) == 501


def test_wait_for_port_gives_up_on_a_closed_port() -> None:
    with pytest.raises(ServiceNotReady, match="not ready"):
        wait_for_port(free_port(), timeout=0.3)


def test_waiting_refuses_targets_off_this_machine() -> None:
    with pytest.raises(ValueError, match="loopback"):
        wait_for_http("http://example.com/", timeout=0.1)


def test_free_port_can_be_bound() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port()))
