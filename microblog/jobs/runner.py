"""Running a job by name inside the app, the same way in a worker and in a thread."""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import TracebackType
from typing import Any

from flask import Flask
from rq.job import Job

from microblog.extensions import db
from microblog.jobs import exports, mail
from microblog.jobs.models import Task, TaskStatus

log = logging.getLogger(__name__)

JOBS: dict[str, Callable[..., None]] = {
    "password_reset": mail.send_password_reset,
    "export_posts": exports.export_posts,
}
# Set by `flask jobs work` before it starts the RQ worker; a forked work horse
# inherits it. A bare `rq worker` (no app yet) builds one from the environment.
worker_app: Flask | None = None


def app_for_worker() -> Flask:
    global worker_app
    if worker_app is None:
        from microblog import create_app

        worker_app = create_app()
    return worker_app


def perform(app: Flask, name: str, job_id: str, args: tuple[Any, ...]) -> None:
    """Run job ``name`` in an app context of its own."""
    with app.app_context():
        try:
            JOBS[name](job_id, *args)
        finally:
            db.session.remove()


def perform_in_worker(name: str, job_id: str, *args: Any) -> None:
    """What RQ calls in the work horse."""
    app = app_for_worker()
    with app.app_context():
        # The horse is a fork: connections the parent might hold are not ours.
        db.engine.dispose(close=False)
    perform(app, name, job_id, args)


def record_final_failure(app: Flask, job_id: str, error: BaseException) -> None:
    """Mark the job's task failed (a job without a task row has nothing to mark)."""
    with app.app_context():
        task = db.session.get(Task, job_id)
        if task is not None and not task.done:
            task.finish(TaskStatus.FAILED, f"{type(error).__name__}: {error}")
            db.session.commit()
        db.session.remove()


def record_failure(
    job: Job,
    connection: Any,
    kind: type[BaseException],
    value: BaseException,
    traceback: TracebackType | None,
) -> None:
    """RQ's failure callback: only the last attempt marks the task failed."""
    if job.should_retry:
        log.warning("job %s failed, will retry: %s", job.id, value)
        return
    record_final_failure(app_for_worker(), job.id, value)
