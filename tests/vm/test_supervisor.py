"""deploy/supervisor: the shipped program run by a real supervisord.

supervisord gets its own configuration in a temporary folder (socket, logs, pid file
there) and includes the shipped program file with paths, port and user replaced.
"""

from __future__ import annotations

import getpass
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.harness.databases import PostgresServer, RedisServer
from tests.harness.environment import environment
from tests.harness.mail_server import attachment_json
from tests.harness.paths import DEPLOY, ROOT
from tests.harness.processes import (
    BackgroundServer,
    free_port,
    port_open,
    require_program,
    run_checked,
    wait_until,
)
from tests.resilience.jobs_stack import job_stack
from tests.vm.support import fetch, render, shared_dir

pytestmark = pytest.mark.slow

SUPERVISORD_CONF = """\
[unix_http_server]
file = {root}/supervisor.sock
chmod = 0700

[supervisord]
logfile = {root}/supervisord.log
pidfile = {root}/supervisord.pid
childlogdir = {root}
nodaemon = true

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl = unix://{root}/supervisor.sock

[include]
files = {root}/conf.d/*.conf
"""
# supervisor's own parser, run by the interpreter supervisord runs on.
READ_PROGRAM = """\
import json, sys
from supervisor.options import ServerOptions
options = ServerOptions()
options.realize(args=["-c", sys.argv[1]])
(group,) = [g for g in options.process_group_configs if g.name == sys.argv[2]]
(program,) = group.process_configs
names = ["command", "directory", "uid", "autostart", "startsecs", "startretries",
         "stopsignal", "stopwaitsecs", "stopasgroup", "killasgroup", "redirect_stderr",
         "stdout_logfile", "stdout_logfile_maxbytes", "stdout_logfile_backups"]
values = {name: getattr(program, name) for name in names}
restart = program.autorestart
values["autorestart"] = getattr(restart, "__name__", str(restart))
print(json.dumps(values, default=str))
"""
VENV_BIN = Path(sys.executable).parent


@dataclass
class Supervised:
    root: Path
    port: int
    supervisorctl: str
    daemon: BackgroundServer

    def ctl(self, *args: str, check: bool = True) -> str:
        command = [self.supervisorctl, "-c", str(self.root / "supervisord.conf"), *args]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if check and result.returncode != 0:
            raise AssertionError(
                f"supervisorctl {args}: {result.stdout}{result.stderr}"
            )
        return result.stdout

    def pid(self) -> int:
        return int(self.ctl("pid", "microblog", check=False).strip() or 0)

    def healthy(self) -> bool:
        try:
            return fetch(self.port, "/healthz").status == 200
        except OSError:
            return False


def program_file(root: Path, port: int) -> str:
    """The shipped program with this machine's paths, a free port and our own user."""
    return render(
        DEPLOY / "supervisor" / "microblog.conf",
        {
            "/srv/microblog/venv/bin/": f"{VENV_BIN}/",
            "/etc/microblog/microblog.env": f"{root}/microblog.env",
            "/srv/microblog/app/gunicorn.conf.py": f"{ROOT}/gunicorn.conf.py",
            "127.0.0.1:8000": f"127.0.0.1:{port}",
            "directory=/srv/microblog/app": f"directory={ROOT}",
            "user=microblog": f"user={getpass.getuser()}",
            "/var/log/microblog/": f"{root}/",
        },
    )


def write_env_file(root: Path, settings: dict[str, str]) -> Path:
    env_file = root / "microblog.env"
    defaults = {
        "SECRET_KEY": "s" * 48,
        "DATABASE_URL": f"sqlite:///{root}/app.sqlite",
        "PROXY_COUNT": "1",
        "WEB_CONCURRENCY": "2",
    }
    lines = [f"{key}={value}\n" for key, value in {**defaults, **settings}.items()]
    env_file.write_text("".join(lines))
    env_file.chmod(0o600)
    return env_file


def supervise(**settings: str) -> Supervised:
    """supervisord running the shipped programs with ``settings`` in the env file."""
    supervisord = require_program("supervisord", "supervisor")
    supervisorctl = require_program("supervisorctl", "supervisor")
    root = shared_dir("microblog-supervisor-")
    port = free_port()
    (root / "conf.d").mkdir()
    (root / "conf.d" / "microblog.conf").write_text(program_file(root, port))
    (root / "supervisord.conf").write_text(SUPERVISORD_CONF.format(root=root))
    env_file = write_env_file(root, settings)
    # Migrate the way provision.sh does: the settings come from the same file.
    dotenv = [str(VENV_BIN / "dotenv"), "--file", str(env_file), "run", "--"]
    run_checked(
        [*dotenv, str(VENV_BIN / "flask"), "--app", "microblog", "db", "upgrade"],
        cwd=ROOT,
        env=environment(),
    )
    # supervisord's own environment has no SECRET_KEY: the app must read the file.
    daemon = BackgroundServer(
        "supervisord",
        root,
        [supervisord, "-n", "-c", str(root / "supervisord.conf")],
        env=environment(),
    )
    state = Supervised(root, port, supervisorctl, daemon)
    daemon.wait_ready(state.healthy)
    return state


def program_values(supervised: Supervised, name: str) -> dict[str, Any]:
    """Program ``name``'s settings as supervisor itself parsed them."""
    config = str(supervised.root / "supervisord.conf")
    output = run_checked(["/usr/bin/python3", "-c", READ_PROGRAM, config, name])
    values: dict[str, Any] = json.loads(output)
    return values


@pytest.fixture(scope="module")
def supervised() -> Iterator[Supervised]:
    """supervisord running the shipped program; the app's settings only in the file."""
    state = supervise()
    yield state
    state.daemon.stop()


def test_supervisor_reads_every_setting_of_the_program(
    supervised: Supervised,
) -> None:
    # supervisor ignores misspelled keys: read the values back through its parser.
    values = program_values(supervised, "microblog")
    assert values["autostart"] is True
    assert values["autorestart"] == "RestartUnconditionally"
    assert values["stopasgroup"] is True
    assert values["killasgroup"] is True
    assert values["stopsignal"] == signal.SIGTERM
    assert values["stopwaitsecs"] == 35
    assert values["startsecs"] == 3
    assert values["redirect_stderr"] is True
    assert values["stdout_logfile"] == f"{supervised.root}/gunicorn.log"
    assert values["directory"] == str(ROOT)


def test_gunicorn_runs_with_settings_from_the_env_file(supervised: Supervised) -> None:
    reply = fetch(supervised.port, "/readyz")
    assert reply.status == 200, reply.body
    assert supervised.pid() > 0


def test_hup_reloads_workers_without_dropping_a_request(
    supervised: Supervised,
) -> None:
    master = supervised.pid()
    answers: list[str] = []
    done = threading.Event()

    def keep_asking() -> None:
        # Bounded: at most 2000 requests, and only until the reload is over.
        for _ in range(2000):
            try:
                answers.append(str(fetch(supervised.port, "/healthz").status))
            except OSError as error:
                answers.append(repr(error))
            if done.is_set():
                return

    log = supervised.root / "gunicorn.log"

    def count(text: str) -> int:
        return log.read_text().count(text)

    booted, exited = count("Booting worker"), count("Worker exiting")
    client = threading.Thread(target=keep_asking)
    client.start()
    wait_until(lambda: len(answers) >= 5, "requests flowing", timeout=30)
    sent_before_hup = len(answers)
    supervised.ctl("signal", "HUP", "microblog")
    # Two new workers (WEB_CONCURRENCY=2 from the env file) replace the two old ones.
    wait_until(
        lambda: (
            count("Booting worker") >= booted + 2
            and count("Worker exiting") >= exited + 2
        ),
        "workers replaced after HUP",
        timeout=30,
    )
    done.set()
    client.join(timeout=60)
    assert len(answers) > sent_before_hup
    assert set(answers) == {"200"}
    assert supervised.pid() == master


def test_supervisor_restarts_gunicorn_after_kill_9(supervised: Supervised) -> None:
    killed = supervised.pid()
    os.kill(killed, signal.SIGKILL)
    wait_until(
        lambda: supervised.pid() not in {0, killed} and supervised.healthy(),
        "gunicorn restarted",
        timeout=60,
    )
    assert (
        "exited: microblog (terminated by SIGKILL"
        in (supervised.root / "supervisord.log").read_text()
    )


def test_supervisorctl_stop_is_a_graceful_gunicorn_shutdown(
    supervised: Supervised,
) -> None:
    wait_until(supervised.healthy, "gunicorn serving", timeout=60)
    # After an earlier test's restart, workers may still be booting.
    wait_until(lambda: bool(children(supervised.pid())), "workers running", 30)
    workers = children(supervised.pid())
    supervised.ctl("stop", "microblog")
    assert supervised.pid() == 0
    assert not port_open(supervised.port)
    # Orphaned workers are reaped by init a moment later on a busy machine.
    wait_until(lambda: not [pid for pid in workers if running(pid)], "workers gone", 10)
    gunicorn_log = (supervised.root / "gunicorn.log").read_text()
    assert "Handling signal: term" in gunicorn_log
    assert "Shutting down: Master" in gunicorn_log
    assert (
        "stopped: microblog (exit status 0)"
        in (supervised.root / "supervisord.log").read_text()
    )


def test_supervisor_reads_every_setting_of_the_worker_program(
    supervised: Supervised,
) -> None:
    values = program_values(supervised, "microblog-worker")
    assert values["command"].endswith("flask --app microblog jobs work")
    assert values["autorestart"] == "RestartUnconditionally"
    assert values["stopsignal"] == signal.SIGTERM
    # The worker alone gets SIGTERM (it waits for the running job); all get SIGKILL.
    assert values["stopasgroup"] is False
    assert values["killasgroup"] is True
    assert values["stopwaitsecs"] == 60
    assert values["stdout_logfile"] == f"{supervised.root}/worker.log"


def test_worker_without_redis_idles_and_stops_cleanly(supervised: Supervised) -> None:
    log = supervised.root / "worker.log"
    wait_until(
        lambda: log.exists() and "this worker idles" in log.read_text(),
        "worker says it idles",
        timeout=60,
    )
    assert "RUNNING" in supervised.ctl("status", "microblog-worker")
    supervised.ctl("stop", "microblog-worker")
    assert (
        "stopped: microblog-worker (exit status 0)"
        in (supervised.root / "supervisord.log").read_text()
    )


def test_worker_program_mails_an_export_and_stops_warm_mid_job(
    postgres: PostgresServer, redis: RedisServer, tmp_path: Path
) -> None:
    """The supervised worker on Redis: an export arrives with every post, and
    `supervisorctl stop` in the middle of the next one lets it finish."""
    database = postgres.new_database()
    with job_stack(database, redis.url, tmp_path) as stack:
        keys = ("REDIS_URL", "MAIL_SERVER", "MAIL_PORT", "MAIL_USE_TLS")
        state = supervise(DATABASE_URL=database, **{k: stack.env[k] for k in keys})
        try:
            log = state.root / "worker.log"
            wait_until(
                lambda: log.exists() and "listening on" in log.read_text(),
                "supervised worker listening",
                timeout=60,
            )
            alice = stack.user_with_posts("alice", posts=321)
            first = stack.export(alice)
            (message,) = stack.mail.wait_for(1, timeout=60)
            assert len(attachment_json(message)["posts"]) == 321
            stack.wait_finished(first, timeout=30)
            stack.mail.delay = 3
            seen = stack.mail.connections
            second = stack.export(alice)
            stack.wait_until_smtp_connection(seen)
            state.ctl("stop", "microblog-worker")
            assert stack.mails_for(second) == 1
            assert stack.task(second).status == "finished"
            assert (
                "stopped: microblog-worker (exit status 0)"
                in (state.root / "supervisord.log").read_text()
            )
        finally:
            state.daemon.stop()


def running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (from /proc/<id>/stat)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # the process ended while we looked
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found
