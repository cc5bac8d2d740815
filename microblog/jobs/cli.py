"""``flask jobs``: run the worker, list failed jobs, retry them.

RQ's own ``rq`` command shows queues (``rq info``) and requeues jobs (``rq
requeue``); these commands add what an operator of this app needs: the error of
each failed job, and a retry that reopens the job's task so its page shows it.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.results import Result

from microblog.extensions import db
from microblog.jobs.models import Task, TaskStatus
from microblog.jobs.queue import QUEUE_NAME, redis_connection


def failed_registry() -> FailedJobRegistry:
    url = current_app.config.get("REDIS_URL")
    if not url:
        raise click.ClickException(
            "REDIS_URL is not set: jobs run in the web process and are not kept"
        )
    return FailedJobRegistry(QUEUE_NAME, connection=redis_connection(url))


def last_error(job: Job) -> str:
    """The last line of the job's latest failure (the exception and its message)."""
    result = job.latest_result()
    text = result.exc_string if result and result.type == Result.Type.FAILED else ""
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(no error recorded)"


@click.group("jobs")
def jobs_group() -> None:
    """Background jobs (RQ on REDIS_URL)."""


@jobs_group.command("work")
@click.option("--burst", is_flag=True, help="Quit when the queue is empty.")
@with_appcontext
def work_command(burst: bool) -> None:
    """Run a worker: the Procfile's `worker` process."""
    from microblog.jobs.worker import run_worker

    run_worker(current_app._get_current_object(), burst=burst)  # type: ignore[attr-defined]


@jobs_group.command("failed")
@with_appcontext
def failed_command() -> None:
    """List failed jobs: id, name, when, and the error."""
    registry = failed_registry()
    job_ids = registry.get_job_ids()
    for job in Job.fetch_many(job_ids, connection=registry.connection):
        if job is None:
            continue
        ended = job.ended_at.isoformat(timespec="seconds") if job.ended_at else "-"
        click.echo(f"{job.id}  {job.description}  {ended}  {last_error(job)}")
    click.echo(f"{len(job_ids)} failed job(s)")


def reopen_task(job_id: str) -> None:
    task = db.session.get(Task, job_id)
    if task is not None and task.status == TaskStatus.FAILED:
        task.status, task.error, task.finished_at = TaskStatus.QUEUED, None, None
        db.session.commit()


@jobs_group.command("retry")
@click.argument("job_ids", nargs=-1)
@click.option("--all", "retry_all", is_flag=True, help="Retry every failed job.")
@with_appcontext
def retry_command(job_ids: tuple[str, ...], retry_all: bool) -> None:
    """Put failed jobs back on the queue."""
    if not job_ids and not retry_all:
        raise click.UsageError("name the jobs to retry, or pass --all")
    registry = failed_registry()
    wanted = registry.get_job_ids() if retry_all else list(job_ids)
    problems = 0
    for job_id in wanted:
        try:
            registry.requeue(job_id)
        except (InvalidJobOperation, NoSuchJobError):
            click.echo(f"{job_id}: not a failed job", err=True)
            problems += 1
            continue
        reopen_task(job_id)
        click.echo(f"{job_id}: queued again")
    if problems:
        raise SystemExit(1)
