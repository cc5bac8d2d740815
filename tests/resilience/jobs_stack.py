"""Real job workers for the fault tests: PostgreSQL, Redis, SMTP and `flask jobs work`.

The test process plays the web side: an app on the same database and Redis
starts exports through ``start_export``, the code path the profile page and
the API use. Workers are separate processes, started and killed like a
platform would.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import flask_migrate
import sqlalchemy as sa
from flask import Flask
from redis import Redis
from rq.job import Job
from rq.registry import FailedJobRegistry

from microblog import create_app
from microblog.config import normalise_database_url
from microblog.extensions import db
from microblog.jobs.exports import start_export
from microblog.jobs.models import Task
from microblog.jobs.queue import QUEUE_NAME
from microblog.models import Post, User, utcnow
from tests.harness.docs import run_documented
from tests.harness.environment import environment
from tests.harness.factories import make_user
from tests.harness.flask_app import app_config
from tests.harness.mail_server import MailServer
from tests.harness.paths import ROOT, VENV_BIN
from tests.harness.processes import wait_until

SECRET_KEY = secrets.token_hex(32)
JOB_RETRIES = 2
WORKER_COMMAND = [sys.executable, "-m", "flask", "--app", "microblog", "jobs", "work"]


def worker_environment(
    database_url: str, redis_url: str, mail: MailServer
) -> dict[str, str]:
    """What a worker process gets: the app's settings, nothing from a .env."""
    return environment(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY=SECRET_KEY,
        LOG_FORMAT="text",
        LOG_LEVEL="INFO",
        PYTHONPATH=str(ROOT),
        **mail.environment(),
    )


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (RQ's work horse runs in its own group)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found


class WorkerProcess:
    """``flask jobs work`` as the Procfile's worker runs it."""

    def __init__(self, env: dict[str, str], root: Path, name: str) -> None:
        self.log_path = root / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            WORKER_COMMAND,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until(
            lambda: "listening on" in self.log(),
            f"{name} listening",
            timeout=60,
            process=self.process,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM to the worker alone, as supervisor and systemd send it."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill_all(self) -> None:
        """SIGKILL to the worker and its work horse: the machine is gone."""
        for pid in [self.process.pid, *descendants(self.process.pid)]:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(10)

    def close(self) -> None:
        if self.process.poll() is None:
            self.kill_all()
        self._log.close()


@dataclass
class JobStack:
    """The web side (an app in this process) and the pieces workers need."""

    app: Flask
    redis: Redis
    env: dict[str, str]
    mail: MailServer
    root: Path

    def worker(self, name: str) -> WorkerProcess:
        return WorkerProcess(self.env, self.root, name)

    def user_with_posts(self, username: str, posts: int) -> User:
        user = make_user(username)
        start = utcnow() - timedelta(days=1)
        db.session.add_all(
            Post(body=f"{username} {i}", author=user, timestamp=start + timedelta(0, i))
            for i in range(posts)
        )
        db.session.commit()
        return user

    def export(self, user: User) -> str:
        """Start an export as the web does; its task (and job) id."""
        return str(start_export(user, "en").id)

    def task(self, task_id: str) -> Task:
        db.session.rollback()
        task = db.session.get(Task, task_id)
        assert task is not None
        db.session.refresh(task)
        return task

    def mails_for(self, task_id: str) -> int:
        return sum(1 for m in self.mail.messages if task_id in m["Message-ID"])

    def retries(self, task_id: str) -> int:
        """How many times RQ tried the job again (after a failure or abandonment)."""
        job = Job.fetch(task_id, connection=self.redis)
        return JOB_RETRIES - (job.retries_left or 0)

    def failed_ids(self) -> list[str]:
        return list(FailedJobRegistry(QUEUE_NAME, connection=self.redis).get_job_ids())

    def wait_finished(self, task_id: str, timeout: float) -> Task:
        wait_until(
            lambda: self.task(task_id).status == "finished",
            f"task {task_id} finished",
            timeout=timeout,
        )
        return self.task(task_id)

    def wait_failed(self, task_id: str, timeout: float) -> None:
        wait_until(
            lambda: task_id in self.failed_ids(),
            f"job {task_id} in the failed registry",
            timeout=timeout,
        )

    def wait_until_smtp_connection(self, seen: int, timeout: float = 60) -> None:
        """Until a job has opened a new SMTP connection: it is mid-way."""
        wait_until(
            lambda: self.mail.connections > seen, "a job talking SMTP", timeout=timeout
        )

    def task_count(self) -> int:
        db.session.rollback()
        return db.session.scalar(sa.select(sa.func.count()).select_from(Task)) or 0

    def run_as_written(self, command: str) -> str:
        """Run a command a page shows, as written, with the worker's settings."""
        env = {**self.env, "PATH": f"{VENV_BIN}:{self.env.get('PATH', '')}"}
        result = run_documented(command, ROOT, env)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout


@contextmanager
def job_stack(
    database_url: str, redis_url: str, root: Path, mail: MailServer | None = None
) -> Iterator[JobStack]:
    """A migrated database, an SMTP server (``mail`` or a new one), and an app
    that enqueues on Redis."""
    own_mail = mail is None
    mail = mail or MailServer()
    url = normalise_database_url(database_url)
    app = create_app(
        app_config(
            url,
            REDIS_URL=redis_url,
            JOB_RETRIES=JOB_RETRIES,
            JOB_RETRY_DELAY=1,
            **mail.settings(),
        )
    )
    redis = Redis.from_url(redis_url)
    try:
        with app.app_context():
            flask_migrate.upgrade()
            yield JobStack(
                app,
                redis,
                worker_environment(database_url, redis_url, mail),
                mail,
                root,
            )
            db.session.remove()
            db.engine.dispose()
    finally:
        redis.flushdb()
        redis.close()
        if own_mail:
            mail.stop()
