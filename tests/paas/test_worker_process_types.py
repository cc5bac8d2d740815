"""A ``worker`` process wherever ``web`` runs, with the same command everywhere.

Each platform file is read back as its tool reads it. The systemd unit goes
through ``systemd-analyze verify`` in tests/test_deploy_systemd.py, and the
supervisor program runs for real in tests/test_deploy_supervisor.py.
"""

from __future__ import annotations

import configparser
import shlex
from typing import Any

from ruamel.yaml import YAML

from tests.harness.paths import DEPLOY, ROOT
from tests.paas.support import procfile, read_json, read_toml

WORKER_COMMAND = "flask --app microblog jobs work"
WORKER_UNIT = DEPLOY / "systemd" / "microblog-worker.service"


def compose_services() -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(ROOT / "docker-compose.yml")
    return data["services"]


def supervisor_programs() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(DEPLOY / "supervisor" / "microblog.conf")
    return parser


def test_procfile_worker_runs_the_job_worker() -> None:
    assert procfile()["worker"] == WORKER_COMMAND


def test_app_json_formation_runs_a_worker_beside_web() -> None:
    formation = read_json("app.json")["formation"]
    assert set(formation) == set(procfile()) - {"release"}
    assert formation["worker"]["quantity"] >= 1


def test_fly_runs_web_and_worker_with_http_on_web_only() -> None:
    fly = read_toml("fly.toml")
    processes = fly["processes"]
    assert set(processes) == {"web", "worker"}
    assert processes["worker"] == WORKER_COMMAND
    assert shlex.split(processes["web"]) == shlex.split(procfile()["web"])
    # The HTTP service and its checks would otherwise apply to the worker too,
    # which serves nothing and would be marked unhealthy.
    assert fly["http_service"]["processes"] == ["web"]
    assert "services" not in fly and "checks" not in fly


def test_compose_worker_waits_for_migrations_and_redis() -> None:
    services = compose_services()
    worker = services["worker"]
    assert " ".join(worker["command"]) == WORKER_COMMAND
    assert worker["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
    assert worker["healthcheck"] == {"disable": True}
    assert "ports" not in worker
    for name in ("web", "worker"):
        assert services[name]["environment"]["REDIS_URL"] == "redis://redis:6379/0"


def test_supervisor_worker_program_stops_warm() -> None:
    programs = supervisor_programs()
    worker = programs["program:microblog-worker"]
    web = programs["program:microblog"]
    assert worker["command"].endswith(f"/srv/microblog/venv/bin/{WORKER_COMMAND}")
    assert worker["command"].split(" -- ")[0] == web["command"].split(" -- ")[0]
    assert worker["stopsignal"] == "TERM"
    # SIGTERM to the worker alone; it lets the running job finish.
    assert worker["stopasgroup"] == "false"
    assert worker["killasgroup"] == "true"
    assert int(worker["stopwaitsecs"]) >= 30


def test_provision_installs_and_starts_the_worker_with_either_manager() -> None:
    script = (DEPLOY / "provision.sh").read_text()
    assert "microblog-worker.service" in script
    assert '"$DEPLOY_DIR/systemd/microblog-worker.service"' in script
    assert "for program in microblog microblog-worker; do" in script
