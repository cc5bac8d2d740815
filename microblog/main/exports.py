""" "Export my posts" from the profile page, and the status its progress bar polls."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from microblog.jobs.exports import ExportInProgress, latest_export, start_export
from microblog.jobs.models import Task, TaskStatus
from microblog.jobs.queue import JobsUnavailable
from microblog.jobs.rendering import request_origin
from microblog.jobs.wording import jobs_unavailable_message
from microblog.main import bp
from microblog.main.forms import EmptyForm


def export_message(task: Task | None) -> str:
    """One sentence for the page about where the export stands."""
    if task is None:
        return ""
    return {
        TaskStatus.QUEUED: _("Your export is waiting to start."),
        TaskStatus.RUNNING: _("Exporting your posts: %(num)d%%", num=task.progress),
        TaskStatus.FINISHED: _("Your posts are on their way to your e-mail address."),
        TaskStatus.FAILED: _("The export failed; please try again later."),
    }[task.status]


def export_state(task: Task | None) -> dict[str, Any]:
    """What the progress bar shows (the page renders it first, then polls it)."""
    if task is None:
        return {"status": "none", "progress": 0, "message": ""}
    return {
        "id": task.id,
        "status": task.status,
        "progress": task.progress,
        "message": export_message(task),
    }


@bp.post("/export_posts")
@login_required
def export_posts() -> Response:
    """Start an export of one's posts; the file arrives by e-mail."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        start_export(current_user, request_origin()[1])
    except ExportInProgress:
        flash(_("An export of your posts is already in progress."), "info")
    except JobsUnavailable:
        flash(jobs_unavailable_message(), "error")
    else:
        flash(_("Your export has started."), "success")
    return redirect(url_for("main.user", username=current_user.username))


@bp.get("/export_posts/status")
@login_required
def export_status() -> dict[str, Any]:
    """The latest export's status as JSON, for the profile's progress bar."""
    return export_state(latest_export(current_user))
