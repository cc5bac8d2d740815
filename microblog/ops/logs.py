"""Logging to stdout, as text locally and as JSON lines on a platform.

Every record carries the request id: taken from ``X-Request-Id`` (Heroku's
router) or ``Fly-Request-Id`` when it looks sane, generated otherwise, and
echoed back in the ``X-Request-Id`` response header.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid

from flask import Flask, Response, g, has_request_context, request
from pythonjsonlogger import json

REQUEST_ID_HEADERS = ("X-Request-Id", "Fly-Request-Id")
# Ids are logged and echoed, so accept only short, plain tokens.
SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,200}$")


def current_request_id() -> str:
    if has_request_context():
        return str(getattr(g, "request_id", "-"))
    return "-"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True


class JsonFormatter(json.JsonFormatter):
    """One JSON object per line, which Heroku, Fly and log drains index.

    Fields given with ``extra=`` come through under their own names, a
    traceback as ``exception`` and ``stack_info=True`` as ``stack_info``.
    """

    def __init__(self) -> None:
        super().__init__(
            ["levelname", "name", "message"],
            rename_fields={
                "levelname": "level",
                "name": "logger",
                "exc_info": "exception",
            },
            timestamp="time",
            # For a record that did not pass RequestIdFilter.
            defaults={"request_id": "-"},
            json_ensure_ascii=False,
        )


TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


def make_handler(log_format: str) -> logging.Handler:
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    return handler


def assign_request_id() -> None:
    for header in REQUEST_ID_HEADERS:
        candidate = request.headers.get(header, "")
        if SAFE_REQUEST_ID.match(candidate):
            g.request_id = candidate
            return
    g.request_id = uuid.uuid4().hex


def echo_request_id(response: Response) -> Response:
    response.headers["X-Request-Id"] = current_request_id()
    return response


def init_app(app: Flask) -> None:
    """Send the ``microblog`` loggers to stdout and tag requests with an id."""
    package_logger = logging.getLogger("microblog")
    package_logger.handlers = [make_handler(app.config["LOG_FORMAT"])]
    package_logger.setLevel(app.config["LOG_LEVEL"])
    package_logger.propagate = False
    app.before_request(assign_request_id)
    app.after_request(echo_request_id)
