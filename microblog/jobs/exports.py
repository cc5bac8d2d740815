""" "Export my posts": start one export per user, and the job that mails the file.

The job writes the user's posts to a JSON file in batches, committing its
progress after each (the page's progress bar reads it), then mails the finished
file as an attachment. A retried job starts the file again from the first post;
it never mails a partial file, and never mails twice once the sent-marker is in.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import IO

import sqlalchemy as sa
from flask import render_template
from flask_babel import gettext as _

from microblog.email import Attachment, send_email
from microblog.extensions import db
from microblog.jobs.models import Task, TaskStatus
from microblog.jobs.queue import JobsUnavailable, enqueue, new_job_id
from microblog.jobs.rendering import rendering_for
from microblog.models import Post, User, utcnow

JOB_NAME = "export_posts"
BATCH_SIZE = 500
# An export still "active" after this long lost its job (say, Redis was wiped
# with the queue in it): it no longer blocks a new one.
STALE_AFTER = timedelta(minutes=30)


class ExportInProgress(Exception):
    """The user already has an export queued or running."""

    def __init__(self, task: Task | None) -> None:
        super().__init__("an export is already in progress")
        self.task = task


def active_key(user: User) -> str:
    return f"{JOB_NAME}:{user.id}"


def latest_export(user: User) -> Task | None:
    """The user's most recent export, if any."""
    return db.session.scalar(
        sa.select(Task)
        .where(Task.user_id == user.id, Task.name == JOB_NAME)
        .order_by(Task.created_at.desc())
        .limit(1)
    )


def active_export(user: User) -> Task | None:
    return db.session.scalar(sa.select(Task).where(Task.active_key == active_key(user)))


def free_stale_export(user: User) -> None:
    task = active_export(user)
    if task is not None and utcnow() - task.updated_at > STALE_AFTER:
        task.finish(TaskStatus.FAILED, "abandoned: no progress for 30 minutes")
        db.session.commit()


def start_export(user: User, locale: str) -> Task:
    """Record and enqueue an export of ``user``'s posts.

    Raises :class:`ExportInProgress` when one is active, and
    :class:`JobsUnavailable` (leaving no row behind) when the queue is down.
    """
    free_stale_export(user)
    task = Task(
        id=new_job_id(), name=JOB_NAME, user_id=user.id, active_key=active_key(user)
    )
    db.session.add(task)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        # The unique active_key: another request got there first.
        db.session.rollback()
        raise ExportInProgress(active_export(user)) from None
    try:
        enqueue(JOB_NAME, locale, job_id=task.id)
    except JobsUnavailable:
        db.session.delete(task)
        db.session.commit()
        raise
    return task


def post_batches(user_id: int) -> Iterator[list[Post]]:
    """The user's posts, oldest first, a batch at a time (keyset, not offset)."""
    last_id = 0
    while True:
        batch = list(
            db.session.scalars(
                sa.select(Post)
                .where(Post.user_id == user_id, Post.id > last_id)
                .order_by(Post.id)
                .limit(BATCH_SIZE)
            )
        )
        if not batch:
            return
        yield batch
        last_id = batch[-1].id


def write_posts(task: Task, user: User, out: IO[str]) -> int:
    """Write the export document to ``out``, committing progress per batch."""
    total = db.session.scalar(
        sa.select(sa.func.count()).select_from(Post).where(Post.user_id == user.id)
    )
    # Streamed, so that memory does not grow with the number of posts.
    out.write(f'{{"user": {json.dumps(user.username)}, ')
    out.write(f'"exported_at": {json.dumps(utcnow().isoformat())}, "posts": [')
    written = 0
    for batch in post_batches(user.id):
        for post in batch:
            document = {
                "id": post.id,
                "body": post.body,
                "timestamp": post.timestamp.isoformat(),
            }
            out.write((", " if written else "") + json.dumps(document))
            written += 1
        # Never 100 before the mail is out: 100 means "sent".
        task.progress = min(99, written * 100 // max(total or 1, 1))
        db.session.commit()
    out.write("]}")
    return written


def export_posts(job_id: str, locale: str) -> None:
    """The job: write the posts to a file, mail it, mark the export finished."""
    task = db.session.get(Task, job_id)
    if task is None or task.status == TaskStatus.FINISHED or task.user is None:
        return
    user = task.user
    task.status = TaskStatus.RUNNING
    task.progress = 0
    db.session.commit()
    if task.mailed_at is None:
        with tempfile.TemporaryDirectory(prefix="microblog-export-") as folder:
            path = Path(folder) / f"posts-{user.username}.json"
            with path.open("w", encoding="utf-8") as out:
                count = write_posts(task, user, out)
            mail_export(task, user, path, count, locale)
    task.finish(TaskStatus.FINISHED)
    db.session.commit()


def mail_export(task: Task, user: User, path: Path, count: int, locale: str) -> None:
    """Send the finished file, then commit the sent-marker at once."""
    with rendering_for(locale):
        subject = _("[microblog] Your posts")
        body = render_template("email/export_posts.txt", user=user, count=count)
    attachment = Attachment(path.name, path.read_bytes())
    send_email(user.email, subject, body, (attachment,), message_key=task.id)
    task.mailed_at = utcnow()
    db.session.commit()


__all__ = ["ExportInProgress", "JobsUnavailable", "export_posts", "start_export"]
