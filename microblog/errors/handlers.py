"""Turn every HTTP error, and a lost database, into a page or a JSON body."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, render_template, request
from flask.typing import ResponseReturnValue, ResponseValue
from flask_babel import gettext as _
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable
from werkzeug.http import HTTP_STATUS_CODES

from microblog.errors import wording
from microblog.extensions import db
from microblog.ops.read_requests import retry_read

log = logging.getLogger(__name__)

ResponseTuple = tuple[ResponseValue, int, dict[str, str]]
# A database failover or restart takes seconds; tell clients when to come back.
RETRY_AFTER_SECONDS = 5


def wants_json() -> bool:
    """API paths, and clients that prefer JSON over HTML, get JSON errors."""
    if request.path.startswith("/api/") or request.path == "/api":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and (
        request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def render_without_user(template: str, **context: Any) -> str:
    """Render ``template`` without the app's context processors.

    Flask-Login's processor puts ``current_user`` in every template, which
    loads the signed-in user from the database: the very thing that is down.
    """
    return current_app.jinja_env.get_template(template).render(**context)


def error_response(
    error: HTTPException, template: str = "errors/error.html", standalone: bool = False
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
    title, explanation = wording.describe(error)
    render = render_without_user if standalone else render_template
    page = render(template, status=status, title=title, explanation=explanation)
    return page, status, headers


def handle_http_error(error: HTTPException) -> ResponseTuple:
    if isinstance(error, InternalServerError):
        # The failed request may have left the transaction aborted, and the
        # page layout needs the database to load the signed-in user.
        db.session.rollback()
    return error_response(error)


def handle_database_unavailable(error: DBAPIError) -> ResponseReturnValue:
    """A database outage is a 503 the client may retry, not a crash.

    A read that only met a connection dropped while it sat in the pool runs
    once more on a new one first.
    """
    retried = retry_read(error)
    if retried is not None:
        return retried
    db.session.rollback()
    log.warning("database unavailable: %s", error.orig)
    return error_response(
        ServiceUnavailable(
            _("The database is unavailable; please try again shortly."),
            retry_after=RETRY_AFTER_SECONDS,
        ),
        # Standalone page: the normal layout would load the user from the database.
        template="errors/unavailable.html",
        standalone=True,
    )


def init_app(app: Flask) -> None:
    """Register the handlers on the whole app, not only this blueprint.

    Other exceptions reach Flask, which logs them and answers with the 500
    handler above (or, in debug mode, shows the debugger).
    """
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(OperationalError, handle_database_unavailable)
    app.register_error_handler(DBAPIError, handle_lost_connection)


def handle_lost_connection(error: DBAPIError) -> ResponseReturnValue:
    """A dropped connection is an outage; any other database error is a bug."""
    if error.connection_invalidated:
        return handle_database_unavailable(error)
    raise error
