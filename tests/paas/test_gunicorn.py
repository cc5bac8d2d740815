"""gunicorn.conf.py and the Procfile's web command, proven by running gunicorn."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.harness.app_server import AppServer
from tests.harness.environment import environment
from tests.harness.http_client import request
from tests.harness.paths import ROOT
from tests.harness.processes import wait_until
from tests.paas.support import gunicorn_settings, read_toml, run_gunicorn, web_command

TEST_TARGET = "tests.paas.wsgi_with_test_routes:build()"
HEROKU_ROUTER_TIMEOUT = 30
HEROKU_SIGKILL_AFTER = 30
HEROKU_ROUTER_IDLE = 90


def test_settings_fit_inside_the_platforms_limits() -> None:
    settings = gunicorn_settings(PORT="8123", DATABASE_URL="postgres://u:p@db/app")
    # IPv4 and IPv6 on every interface (tests/paas/test_listen.py runs both).
    assert settings["bind"] in ("['[::]:8123']", "['0.0.0.0:8123', '[::]:8123']")
    assert settings["worker_class"] == "gthread"
    assert int(settings["timeout"]) < HEROKU_ROUTER_TIMEOUT
    assert int(settings["graceful_timeout"]) < HEROKU_SIGKILL_AFTER
    assert int(settings["keepalive"]) > HEROKU_ROUTER_IDLE
    assert settings["accesslog"] == "-"
    assert "%({x-request-id}o)s" in settings["access_log_format"]


def test_port_defaults_to_the_images_exposed_port() -> None:
    assert gunicorn_settings()["bind"].endswith(":8000']")


def test_threads_match_the_database_pool_and_workers_follow_web_concurrency() -> None:
    settings = gunicorn_settings(
        DATABASE_URL="postgres://u:p@db/app",
        DB_POOL_SIZE="4",
        DB_MAX_OVERFLOW="1",
        WEB_CONCURRENCY="3",
    )
    assert settings["threads"] == "5"
    assert settings["workers"] == "3"


def test_default_pool_times_heroku_workers_fits_an_essential_database() -> None:
    # Two workers (the buildpack's WEB_CONCURRENCY on Basic) must stay under
    # the ~20 connections of Heroku's Essential plans.
    settings = gunicorn_settings(
        DATABASE_URL="postgres://u:p@db/app", WEB_CONCURRENCY="2"
    )
    assert int(settings["workers"]) * int(settings["threads"]) <= 20


def test_trusted_proxies_come_from_the_settings_table() -> None:
    loopback = "['127.0.0.1', '::1', '::ffff:127.0.0.1']"
    assert gunicorn_settings()["forwarded_allow_ips"] == loopback
    heroku = gunicorn_settings(FORWARDED_ALLOW_IPS="*")
    assert heroku["forwarded_allow_ips"] == "['*']"


@pytest.mark.parametrize(
    ("options", "variables"),
    [(("--worker-class", "sync"), {}), ((), {"GUNICORN_CMD_ARGS": "-k sync"})],
    ids=["command line", "GUNICORN_CMD_ARGS"],
)
def test_asking_for_sync_workers_gets_sync_workers(
    options: tuple[str, ...], variables: dict[str, str]
) -> None:
    # gunicorn would run "sync" as gthread if the file's threads applied.
    settings = gunicorn_settings(*options, **variables)
    assert (settings["worker_class"], settings["threads"]) == ("sync", "1")
    # Threads asked for alongside still win, as gunicorn documents.
    threaded = gunicorn_settings(*options, "--threads", "3", **variables)
    assert threaded["threads"] == "3"


def test_the_tutorials_command_runs_one_request_at_a_time_workers(
    tmp_path: Path,
) -> None:
    with run_gunicorn(tmp_path, options=("-w", "2", "-k", "sync")) as server:
        assert request(server.port, "/healthz").status == 200
        assert server.stop() == 0
    _, messages = server.output()
    assert "Using worker: sync" in messages


def test_gunicorn_cmd_args_from_heroku_win_over_the_file() -> None:
    settings = gunicorn_settings(GUNICORN_CMD_ARGS="--workers 1 --timeout 10")
    assert settings["workers"] == "1"
    assert settings["timeout"] == "10"


@pytest.mark.parametrize(
    ("variable", "value"),
    [("PORT", "eighty"), ("DB_POOL_SIZE", "0"), ("LOG_FORMAT", "xml")],
)
def test_bad_setting_stops_gunicorn_with_one_line_naming_it(
    tmp_path: Path, variable: str, value: str
) -> None:
    # The master never connects: a server URL only makes the pool settings count.
    env = environment(SECRET_KEY="k" * 64, DATABASE_URL="postgres://u:p@db/app")
    env[variable] = value
    result = subprocess.run(
        web_command(), cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{variable}: ")
    assert "Traceback" not in result.stdout + result.stderr


def test_missing_secret_key_stops_gunicorn_before_any_worker(tmp_path: Path) -> None:
    env = environment(DATABASE_URL=f"sqlite:///{tmp_path / 'app.sqlite'}")
    result = subprocess.run(
        web_command(), cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("SECRET_KEY: not set")
    assert "Booting worker" not in result.stderr


def test_access_log_carries_the_routers_request_id(tmp_path: Path) -> None:
    with run_gunicorn(tmp_path) as server:
        reply = request(
            server.port, "/healthz", headers={"X-Request-Id": "heroku-router-id-1"}
        )
        assert reply.status == 200
        assert reply.headers["X-Request-Id"] == "heroku-router-id-1"
        fly = request(
            server.port, "/healthz", headers={"Fly-Request-Id": "01FLYREQUESTID"}
        )
        assert fly.headers["X-Request-Id"] == "01FLYREQUESTID"
        own_headers = request(server.port, "/healthz").headers
        assert server.stop() == 0
    access_log, _ = server.output()
    assert '"GET /healthz HTTP/1.1" 200' in access_log
    assert "request_id=heroku-router-id-1" in access_log
    assert "request_id=01FLYREQUESTID" in access_log
    # None from a router: the app generates one, and the log shows the same.
    assert f"request_id={own_headers['X-Request-Id']}" in access_log


def test_on_a_platform_access_lines_are_json_with_the_request_id(
    tmp_path: Path,
) -> None:
    awkward_agent = 'Bot "quoted" \\ agent'
    with run_gunicorn(tmp_path, LOG_FORMAT="json") as server:
        reply = request(
            server.port,
            "/healthz?x=1",
            headers={"X-Request-Id": "heroku-router-id-2", "User-Agent": awkward_agent},
        )
        assert reply.status == 200
        assert server.stop() == 0
    access_log, _ = server.output()
    entries = [json.loads(line) for line in access_log.splitlines()]
    entry = next(e for e in entries if e["request_id"] == "heroku-router-id-2")
    assert entry["path"] == "/healthz"
    assert entry["status"] == 200
    assert entry["method"] == "GET"
    assert entry["user_agent"] == awkward_agent
    assert entry["logger"] == "gunicorn.access"


def test_tutorial_target_microblog_app_also_serves(tmp_path: Path) -> None:
    # microblog/ (the package) shadows microblog.py: the package provides `app`.
    with run_gunicorn(tmp_path, target="microblog:app") as server:
        assert request(server.port, "/healthz").status == 200


def whoami(server: AppServer, headers: dict[str, str]) -> dict[str, str]:
    reply = request(server.port, "/_test/whoami", headers=headers)
    assert reply.status == 200
    result: dict[str, str] = json.loads(reply.body)
    return result


FORWARDED = {
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "microblog.example.com",
}


def test_forwarded_headers_are_ignored_without_a_proxy(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    gate.mkdir()
    with run_gunicorn(tmp_path, TEST_TARGET, PAAS_TEST_GATE=str(gate)) as server:
        seen = whoami(server, FORWARDED)
    # gunicorn itself never rewrites the client address; without PROXY_COUNT
    # the app does not either, so nobody can spoof it.
    assert seen["remote_addr"] == "127.0.0.1"
    assert seen["host"] != "microblog.example.com"


def test_behind_the_heroku_router_the_app_sees_client_https_and_host(
    tmp_path: Path,
) -> None:
    gate = tmp_path / "gate"
    gate.mkdir()
    # What a web dyno gets: DYNO set, FORWARDED_ALLOW_IPS='*' from the buildpack.
    platform = {"DYNO": "web.1", "FORWARDED_ALLOW_IPS": "*"}
    with run_gunicorn(
        tmp_path, TEST_TARGET, PAAS_TEST_GATE=str(gate), **platform
    ) as server:
        seen = whoami(server, FORWARDED)
    assert seen == {
        "remote_addr": "203.0.113.7",
        "scheme": "https",
        "host": "microblog.example.com",
        "script_root": "",
    }


@pytest.mark.slow
def test_kill_signal_lets_an_in_flight_request_finish(tmp_path: Path) -> None:
    # The signal fly.toml names (Heroku, Docker and systemd send the same one).
    kill_signal = signal.Signals[read_toml("fly.toml")["kill_signal"]]
    graceful = int(gunicorn_settings()["graceful_timeout"])
    gate = tmp_path / "gate"
    gate.mkdir()
    responses: dict[str, Any] = {}

    def slow_request(server: AppServer) -> None:
        responses["slow"] = request(server.port, "/_test/slow")

    with run_gunicorn(
        tmp_path, TEST_TARGET, PAAS_TEST_GATE=str(gate), WEB_CONCURRENCY="1"
    ) as server:
        client = threading.Thread(target=slow_request, args=(server,))
        client.start()
        wait_until(lambda: (gate / "started").exists(), "slow request in flight")
        server.process.send_signal(kill_signal)
        # gunicorn has the signal and is draining; now let the request finish.
        wait_until(lambda: "Handling signal" in server.output()[1], "signal handled")
        (gate / "release").touch()
        client.join(graceful)
        exit_status = server.process.wait(graceful)
    slow = responses["slow"]
    assert (slow.status, slow.body) == (200, b"finished\n")
    assert exit_status == 0
    access_log, _ = server.output()
    assert '"GET /_test/slow HTTP/1.1" 200' in access_log
