"""``/api/exports``: start an export of one's posts, and follow it.

The export runs as a background job; the file arrives by e-mail, as it does
for the profile page's button. One export per user at a time (409).
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask import Flask, url_for
from flask_smorest import Api
from marshmallow import fields
from werkzeug.routing import BaseConverter

from microblog.api import bp
from microblog.api.auth import current_api_user, current_api_user_id, token_auth
from microblog.api.errors import documents, fail, found_or_404
from microblog.api.links import BODY_ID, links
from microblog.api.views import signed_in_get
from microblog.jobs.exports import JOB_NAME, ExportInProgress, start_export
from microblog.jobs.models import Task, TaskStatus
from microblog.jobs.queue import JobsUnavailable
from microblog.jobs.rendering import request_origin


class ExportIdConverter(BaseConverter):
    """An export id in a path: 32 lowercase hex digits, anything else is a 404."""

    regex = "[0-9a-f]{32}"
    part_isolating = True


def export_id_schema(converter: BaseConverter) -> dict[str, Any]:
    """How the OpenAPI document describes the converter (schemathesis reads it)."""
    return {"type": "string", "pattern": f"^{ExportIdConverter.regex}$"}


def register_export_id(app: Flask, api: Api) -> None:
    app.url_map.converters["export_id"] = ExportIdConverter
    api.register_converter(ExportIdConverter, export_id_schema)


STATUSES = (
    TaskStatus.QUEUED,
    TaskStatus.RUNNING,
    TaskStatus.FINISHED,
    TaskStatus.FAILED,
)


class ExportLinksSchema(ma.Schema):
    self = fields.String(required=True)


class ExportSchema(ma.Schema):
    id = fields.String(required=True)
    status = fields.String(
        required=True,
        validate=ma.validate.OneOf(STATUSES),
        metadata={"enum": list(STATUSES)},
    )
    progress = fields.Integer(
        required=True,
        metadata={"minimum": 0, "maximum": 100, "description": "Percent done"},
    )
    created_at = fields.DateTime(format="iso", required=True)
    finished_at = fields.DateTime(format="iso", required=True, allow_none=True)
    mailed = fields.Boolean(
        required=True, metadata={"description": "The file was sent by e-mail"}
    )
    links = fields.Nested(ExportLinksSchema, data_key="_links", required=True)


def export_document(task: Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "status": task.status,
        "progress": task.progress,
        "created_at": task.created_at,
        "finished_at": task.finished_at,
        "mailed": task.mailed_at is not None,
        "links": {"self": url_for("api.get_export", export_id=task.id)},
    }


@bp.route("/exports", methods=["POST"])
@token_auth
@documents(409, 503)
@links(202, GetExport=("get_export", {"export_id": BODY_ID}))
@bp.response(202, ExportSchema, headers={"Location": {"schema": {"type": "string"}}})
def create_export() -> tuple[dict[str, Any], int, dict[str, str]]:
    """Export the caller's posts to a JSON file sent by e-mail; poll its status."""
    try:
        task = start_export(current_api_user(), request_origin()[1])
    except ExportInProgress as busy:
        running = f" ({busy.task.id})" if busy.task else ""
        raise fail(409, f"An export is already in progress{running}.") from None
    except JobsUnavailable:
        raise fail(
            503, "The job queue is unavailable; nothing was started. Try again later."
        ) from None
    document = export_document(task)
    return document, 202, {"Location": document["links"]["self"]}


@signed_in_get("/exports/<export_id:export_id>", ExportSchema)
def get_export(export_id: str) -> dict[str, Any]:
    """One of the caller's exports: its status and progress."""
    task = found_or_404(
        sa.select(Task).where(
            Task.id == export_id,
            Task.name == JOB_NAME,
            Task.user_id == current_api_user_id(),
        ),
        f"You have no export with id {export_id}.",
    )
    return export_document(task)
