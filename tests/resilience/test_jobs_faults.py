"""Job faults lose nothing: a table of jobs enqueued, completed, retried and lost.

Real worker processes (`flask jobs work`) on a real Redis and PostgreSQL, mail
to a real SMTP server. Each scenario starts exports the way the web does and
then breaks something: the worker gets SIGTERM, or SIGKILL together with its
work horse, or the SMTP server refuses mail for a while, or for good until an
operator retries, or Redis is down when the request comes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from microblog import create_app
from microblog.extensions import db
from microblog.jobs.exports import start_export
from microblog.jobs.queue import JobsUnavailable
from microblog.models import User
from tests.harness.databases import PostgresServer, RedisServer
from tests.harness.docs import documented_command
from tests.harness.flask_app import app_config
from tests.resilience.jobs_stack import JobStack, WorkerProcess, job_stack

pytestmark = [pytest.mark.resilience, pytest.mark.slow]

# An abandoned job is noticed when its heartbeat expires (30 s) at the next
# sweep (every 30 s), then waits out its retry delay and the scheduler's lock.
ABANDONED_RETRY_TIMEOUT = 180
JOBS_PAGE = "docs/jobs.md"


@dataclass
class FaultRow:
    scenario: str
    enqueued: int
    completed: int
    retried: int
    lost: int
    delivered: int


def format_rows(rows: list[FaultRow]) -> list[str]:
    header = ("scenario", "enqueued", "completed", "retried", "lost", "mails")
    cells = [header] + [
        (
            r.scenario,
            str(r.enqueued),
            str(r.completed),
            str(r.retried),
            str(r.lost),
            str(r.delivered),
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
    return [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in cells
    ]


@pytest.fixture
def stack(
    postgres: PostgresServer, redis: RedisServer, tmp_path: Path
) -> Iterator[JobStack]:
    with job_stack(postgres.new_database(), redis.url, tmp_path) as built:
        yield built


def row_for(stack: JobStack, scenario: str, task_ids: list[str]) -> FaultRow:
    finished = [t for t in task_ids if stack.task(t).status == "finished"]
    delivered = sum(stack.mails_for(t) for t in task_ids)
    # Exactly once: every finished export was mailed once, none twice.
    assert all(stack.mails_for(t) == 1 for t in task_ids), scenario
    return FaultRow(
        scenario,
        enqueued=len(task_ids),
        completed=len(finished),
        retried=sum(stack.retries(t) for t in task_ids),
        lost=len(task_ids) - len(finished),
        delivered=delivered,
    )


def test_job_faults_lose_nothing(
    stack: JobStack, capsys: pytest.CaptureFixture[str]
) -> None:
    rows: list[FaultRow] = []
    users = [stack.user_with_posts(f"user{n}", posts=40) for n in range(8)]
    worker: WorkerProcess | None = stack.worker("worker-1")
    try:
        # 1. Nothing goes wrong.
        ids = [stack.export(user) for user in users[:3]]
        for task_id in ids:
            stack.wait_finished(task_id, timeout=60)
        rows.append(row_for(stack, "1 no fault", ids))

        # 2. SIGTERM while the job talks to a slow SMTP server: warm shutdown.
        stack.mail.delay = 3
        seen = stack.mail.connections
        ids = [stack.export(users[3])]
        stack.wait_until_smtp_connection(seen)
        assert worker.terminate() == 0
        stack.mail.delay = 0
        rows.append(row_for(stack, "2 SIGTERM mid-job", ids))
        assert "warm shut down requested" in worker.log()
        worker.close()

        # 3. SIGKILL to the worker and its work horse in the middle of the job.
        worker = stack.worker("worker-2")
        stack.mail.delay = 5
        seen = stack.mail.connections
        ids = [stack.export(users[4])]
        stack.wait_until_smtp_connection(seen)
        worker.kill_all()
        stack.mail.delay = 0
        worker.close()
        worker = stack.worker("worker-3")  # what supervisor or the platform does
        stack.wait_finished(ids[0], timeout=ABANDONED_RETRY_TIMEOUT)
        rows.append(row_for(stack, "3 SIGKILL mid-job", ids))
        assert "AbandonedJobError" in worker.log() or stack.retries(ids[0]) == 1

        # 4. The SMTP server refuses the first attempt; RQ retries.
        stack.mail.refuse = 1
        ids = [stack.export(users[5])]
        stack.wait_finished(ids[0], timeout=60)
        rows.append(row_for(stack, "4 SMTP refuses once", ids))

        # 5. The SMTP server refuses every attempt: the job ends in RQ's failed
        # registry, the operator lists it, fixes the mail, retries it.
        stack.mail.refuse = -1
        ids = [stack.export(users[6])]
        stack.wait_failed(ids[0], timeout=60)
        listed = stack.run_as_written(
            documented_command(JOBS_PAGE, "flask --app microblog jobs failed")
        )
        assert ids[0] in listed and "SMTPDataError" in listed
        assert stack.task(ids[0]).status == "failed"
        stack.mail.refuse = 0
        retried = stack.run_as_written(
            documented_command(JOBS_PAGE, "flask --app microblog jobs retry")
        )
        assert f"{ids[0]}: queued again" in retried
        stack.wait_finished(ids[0], timeout=60)
        rows.append(row_for(stack, "5 SMTP down, operator retries", ids))
    finally:
        if worker is not None:
            worker.close()

    # 6. Redis is down when the export is asked for: nothing is enqueued and
    # nothing stored; the page or the API says so (tests/app, tests/api).
    dead = RedisServer()
    dead.stop()
    tasks_before = stack.task_count()
    offline = create_app(
        app_config(stack.app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=dead.url)
    )
    with offline.app_context():
        user = db.session.get(User, users[7].id)
        assert user is not None
        with pytest.raises(JobsUnavailable):
            start_export(user, "en")
        db.session.remove()
        db.engine.dispose()
    assert stack.task_count() == tasks_before
    rows.append(FaultRow("6 Redis down at enqueue", 0, 0, 0, 0, 0))

    table = format_rows(rows)
    with capsys.disabled():
        print("\n" + "\n".join(table))
    (stack.root / "job-faults.txt").write_text("\n".join(table) + "\n")
    assert sum(row.lost for row in rows) == 0
    assert [row.retried for row in rows] == [0, 0, 1, 1, 2, 0]
