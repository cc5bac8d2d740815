"""Turn every HTTP error, and a lost database, into a page or a JSON body."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask.typing import ResponseValue
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable
from werkzeug.http import HTTP_STATUS_CODES

from microblog.extensions import db

log = logging.getLogger(__name__)

ResponseTuple = tuple[ResponseValue, int, dict[str, str]]


def wants_json() -> bool:
    """API paths, and clients that prefer JSON over HTML, get JSON errors."""
    if request.path.startswith("/api/") or request.path == "/api":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and (
        request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def error_response(
    error: HTTPException, template: str = "errors/error.html"
) -> ResponseTuple:
    status = error.code or 500
    headers = dict(error.get_headers())
    headers.pop("Content-Type", None)
    if wants_json():
        body = {
            "error": HTTP_STATUS_CODES.get(status, "Unknown Error"),
            "message": error.description or "",
        }
        return body, status, headers
    page = render_template(template, error=error, status=status)
    return page, status, headers


def handle_http_error(error: HTTPException) -> ResponseTuple:
    return error_response(error)


def handle_database_unavailable(error: DBAPIError) -> ResponseTuple:
    """A database outage is a 503 the client may retry, not a crash."""
    db.session.rollback()
    log.warning("database unavailable: %s", error.orig)
    return error_response(
        ServiceUnavailable("The database is unavailable; please try again shortly."),
        # Standalone page: the normal layout would load the user from the database.
        template="errors/unavailable.html",
    )


def handle_unexpected(error: Exception) -> ResponseTuple:
    db.session.rollback()
    log.exception("unhandled error")
    return error_response(InternalServerError())


def init_app(app: Flask) -> None:
    """Register the handlers on the whole app, not only this blueprint."""
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(OperationalError, handle_database_unavailable)
    app.register_error_handler(DBAPIError, handle_disconnect_or_raise)
    app.register_error_handler(Exception, handle_unexpected)


def handle_disconnect_or_raise(error: DBAPIError) -> ResponseTuple:
    if error.connection_invalidated:
        return handle_database_unavailable(error)
    return handle_unexpected(error)
