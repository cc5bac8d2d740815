"""Workers forked from a preloaded master: own database sessions, fast recycles.

gunicorn.conf.py sets ``preload_app``, so the master builds the app and every
worker is a fork of it. A database connection inherited across the fork would
be one socket used by several processes; these tests run real gunicorn on real
PostgreSQL and prove each worker talks over its own sessions, and that worker
recycling (``max_requests``) never leaves a request unanswered.
"""

from __future__ import annotations

import json
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg2
import pytest

from bench.database import CountingPostgres
from microblog import create_app
from microblog.ops.preload import learn_database_servers
from tests.harness.app_server import run_flask
from tests.harness.databases import PostgresServer
from tests.harness.environment import environment
from tests.harness.flask_app import app_config
from tests.harness.http_client import request
from tests.harness.processes import free_port
from tests.paas.support import gunicorn_settings, run_gunicorn, secret_key

WORKERS = 3
REQUESTS = 120
CLIENTS = 12


def test_the_shipped_settings_preload_the_app_and_recycle_with_jitter() -> None:
    settings = gunicorn_settings(DATABASE_URL="postgres://u:p@db/app")
    assert settings["preload_app"] == "True"
    # Each worker's limit is drawn from [max_requests, max_requests + jitter]:
    # a wide spread keeps the workers from restarting together.
    assert int(settings["max_requests_jitter"]) >= int(settings["max_requests"]) // 2


@pytest.mark.parametrize(
    "manager", [{"SUPERVISOR_ENABLED": "1"}, {"INVOCATION_ID": "0123abcd"}]
)
def test_no_preloading_where_updates_reload_with_hup(manager: dict[str, str]) -> None:
    # deploy/update.sh sends HUP under supervisor and systemd; a preloading
    # master would fork the new workers from the old code.
    settings = gunicorn_settings(DATABASE_URL="postgres://u:p@db/app", **manager)
    assert settings["preload_app"] == "False"


def backends_in_use(url: str) -> set[int]:
    connection = psycopg2.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return {row[0] for row in cursor.fetchall()}
    finally:
        connection.close()


def test_every_worker_has_database_sessions_of_its_own(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    url = postgres.new_database()
    with run_gunicorn(
        tmp_path,
        "tests.paas.preload_wsgi:build()",
        DATABASE_URL=url,
        # Two threads each and more clients than that: no worker can take
        # every request, so several share the load (and the master's socket,
        # were it inherited).
        GUNICORN_CMD_ARGS=f"--workers {WORKERS} --threads 2",
    ) as server:

        def ask(index: int) -> dict[str, int]:
            reply = request(server.port, "/_test/backend")
            assert reply.status == 200, reply.text
            answer: dict[str, int] = json.loads(reply.body)
            return answer

        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = list(pool.map(ask, range(REQUESTS)))
        open_backends = backends_in_use(url)
        log = "".join(server.output())

    workers_of: dict[int, set[int]] = defaultdict(set)
    for answer in answers:
        workers_of[answer["backend"]].add(answer["worker"])
    # More than one worker answered, and no session served two of them.
    assert len({answer["worker"] for answer in answers}) > 1
    assert all(len(workers) == 1 for workers in workers_of.values()), workers_of
    # The master's own connection was closed before the first fork: no worker
    # ever used it, and PostgreSQL no longer has it.
    master_backend = answers[0]["master_backend"]
    assert master_backend not in workers_of
    assert master_backend not in open_backends
    assert set(workers_of) <= open_backends
    assert "closed 1 database connections before forking" in log


def test_recycled_workers_leave_no_request_unanswered(tmp_path: Path) -> None:
    recycle_every = 10
    with run_gunicorn(
        tmp_path,
        GUNICORN_CMD_ARGS=(
            f"--workers 2 --max-requests {recycle_every} --max-requests-jitter 5"
        ),
    ) as server:

        def ask(index: int) -> int:
            return request(server.port, "/auth/login").status

        with ThreadPoolExecutor(CLIENTS) as pool:
            statuses = list(pool.map(ask, range(REQUESTS)))
        _, log = server.output()

    assert statuses == [200] * REQUESTS
    # Each worker served at most 15 requests, so most of them were replacements.
    assert log.count("Autorestarting worker") >= REQUESTS // 15 - 2, log[-3000:]


def test_new_workers_do_not_ask_the_database_what_the_master_learnt(
    tmp_path: Path,
) -> None:
    # A first connection makes SQLAlchemy ask the server about itself (version,
    # isolation level, ...). The master asks once; recycled workers inherit it.
    postgres = CountingPostgres()
    try:
        url = postgres.new_database("learnt")
        postgres.enable_counting("learnt")
        run_flask(
            environment(DATABASE_URL=url, SECRET_KEY=secret_key()), "db", "upgrade"
        )
        recycling = "--workers 2 --max-requests 4 --max-requests-jitter 0"
        with (
            postgres.counting("learnt") as count,
            run_gunicorn(
                tmp_path, DATABASE_URL=url, GUNICORN_CMD_ARGS=recycling
            ) as app,
        ):
            statuses = [request(app.port, "/readyz").status for _ in range(24)]
            _, log = app.output()
    finally:
        postgres.stop()

    assert statuses == [200] * 24
    assert log.count("Booting worker") >= 6  # the first two, and their successors
    asked = {text: calls for text, calls in count.calls.items() if "isolation" in text}
    assert list(asked.values()) == [1], asked


def test_a_database_down_at_start_is_left_to_the_workers(
    capfd: pytest.CaptureFixture[str],
) -> None:
    # Nothing listens on the port: the master logs it and forks all the same.
    url = f"postgresql+psycopg2://u:p@127.0.0.1:{free_port()}/app"
    app = create_app(app_config(url))
    assert learn_database_servers(app) == 0
    # The app logs to stdout, where every platform collects it.
    assert "database not reachable before forking" in capfd.readouterr().out
