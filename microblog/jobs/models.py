"""Job state that must outlive a worker: what was asked, how far it got, what was sent.

RQ keeps its own state in Redis, which a restart may lose and which knows
nothing of users. A ``Task`` row is the app's record of one job: the page's
progress bar reads it, the one-export-at-a-time rule is a unique column on it,
and the sent-marker that makes a retried mail job send once is a column of it.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from microblog.extensions import db
from microblog.models import User, UTCDateTime, utcnow

TASK_ID_MAX = 36
TASK_NAME_MAX = 32
TASK_ERROR_MAX = 255


class TaskStatus:
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


class Task(db.Model):  # type: ignore[name-defined]
    """One background job the app started, as the app (not RQ) sees it."""

    # The RQ job id, chosen by the app before enqueueing.
    id: so.Mapped[str] = so.mapped_column(sa.String(TASK_ID_MAX), primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(TASK_NAME_MAX))
    user_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default=TaskStatus.QUEUED)
    progress: so.Mapped[int] = so.mapped_column(default=0)
    error: so.Mapped[str | None] = so.mapped_column(sa.String(TASK_ERROR_MAX))
    # Set while the task is queued or running and cleared when it ends: a unique
    # column that admits many NULLs, so "one export at a time per user" holds on
    # every database, even for two requests racing each other.
    active_key: so.Mapped[str | None] = so.mapped_column(
        sa.String(TASK_NAME_MAX + 24), unique=True
    )
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow
    )
    finished_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # The sent-marker: committed right after the SMTP server accepted the message,
    # so a retry of the same job does not send it again.
    mailed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    user: so.Mapped[User | None] = so.relationship()

    def __repr__(self) -> str:
        return f"<Task {self.name} {self.id} {self.status}>"

    @property
    def done(self) -> bool:
        return self.status in (TaskStatus.FINISHED, TaskStatus.FAILED)

    def finish(self, status: str, error: str | None = None) -> None:
        """End the task: free its active slot and record how it ended."""
        self.status = status
        self.active_key = None
        self.finished_at = utcnow()
        if status == TaskStatus.FINISHED:
            self.progress = 100
        self.error = error[:TASK_ERROR_MAX] if error else None
