"""Mail jobs: the password-reset message.

The web request enqueues this job for every address it is given, known or not,
so its answer takes the same time either way; the lookup happens here.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template, url_for
from flask_babel import gettext as _

from microblog.auth.reset_tokens import make_reset_token
from microblog.email import send_email
from microblog.extensions import db
from microblog.jobs.models import Task, TaskStatus
from microblog.jobs.rendering import rendering_for
from microblog.models import User, utcnow


def send_password_reset(job_id: str, email: str, base_url: str, locale: str) -> None:
    """Mail a reset link to the account with ``email``, if there is one, once."""
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        return
    task = db.session.get(Task, job_id)
    if task is None:
        task = Task(
            id=job_id, name="password_reset", user=user, status=TaskStatus.RUNNING
        )
        db.session.add(task)
        db.session.commit()
    if task.mailed_at is not None:
        return  # an earlier attempt sent it and crashed before finishing
    with rendering_for(locale, base_url):
        link = url_for(
            "auth.reset_password", token=make_reset_token(user), _external=True
        )
        body = render_template("email/reset_password.txt", user=user, link=link)
        subject = _("[microblog] Reset your password")
    send_email(user.email, subject, body, message_key=job_id)
    task.mailed_at = utcnow()
    task.finish(TaskStatus.FINISHED)
    db.session.commit()
