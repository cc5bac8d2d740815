"""API errors: always JSON ``{"error", "message"}``, naming the fields at fault."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from http import HTTPStatus
from typing import Any, TypeVar

import marshmallow as ma
import sqlalchemy as sa
from flask import request
from flask.typing import ResponseValue
from werkzeug.exceptions import (
    BadRequest,
    HTTPException,
    UnsupportedMediaType,
    default_exceptions,
)
from werkzeug.http import HTTP_STATUS_CODES

from microblog.api import bp
from microblog.extensions import db

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
ResponseTuple = tuple[ResponseValue, int, dict[str, str]]
# marshmallow's name for errors about the body as a whole.
WHOLE_BODY = "_schema"


def field_messages(messages: Any) -> dict[str, list[str]]:
    """webargs' ``{location: {field: [msg]}}`` as ``{field: [msg]}``."""
    flat: dict[str, list[str]] = {}
    for location, found in (messages or {}).items():
        if isinstance(found, dict):
            for name, texts in found.items():
                key = "body" if name == WHOLE_BODY else str(name)
                flat.setdefault(key, []).extend(flatten_texts(texts))
        else:
            key = "body" if location == "json" else str(location)
            flat.setdefault(key, []).extend(flatten_texts(found))
    return flat


def flatten_texts(texts: Any) -> list[str]:
    if isinstance(texts, dict):
        return [
            f"{key}: {text}"
            for key, sub in texts.items()
            for text in flatten_texts(sub)
        ]
    if isinstance(texts, list | tuple):
        return [text for item in texts for text in flatten_texts(item)]
    return [str(texts)]


def handle_api_error(error: HTTPException) -> ResponseTuple:
    """Every error raised inside an API view, as JSON."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    fields = field_messages(data.get("messages")) or data.get("errors") or {}
    summary = " ".join(f"{name}: {' '.join(texts)}" for name, texts in fields.items())
    body: dict[str, Any] = {
        "error": HTTP_STATUS_CODES.get(status, "Unknown Error"),
        "message": data.get("message") or summary or error.description or "",
    }
    if fields:
        body["errors"] = fields
    headers = dict(error.get_headers())
    headers.pop("Content-Type", None)
    headers.update(data.get("headers") or {})
    return body, status, headers


bp.register_error_handler(HTTPException, handle_api_error)


def fail(status: int, message: str, **errors: str) -> HTTPException:
    """An HTTP error carrying a message and, optionally, messages by field."""
    error = default_exceptions[status](message)
    error.data = {  # type: ignore[attr-defined]
        "message": message,
        "errors": {name: [text] for name, text in errors.items()},
    }
    return error


def found_or_404(statement: sa.Select[T], message: str) -> T:
    """The first value ``statement`` selects; a 404 with ``message`` if none."""
    found = db.session.scalar(statement)
    if found is None:
        raise fail(404, message)
    return found


def documents(*statuses: int) -> Callable[[F], F]:
    """Add error responses to a view's OpenAPI operation."""

    def decorator(view: F) -> F:
        for status in statuses:
            view = bp.alt_response(status, response=HTTPStatus(status).name)(view)
        return view

    return decorator


def json_body(schema: type[ma.Schema]) -> Callable[[F], F]:
    """Validate a JSON body with ``schema``; 415 when it is not sent as JSON."""

    def decorator(view: F) -> F:
        parsed = bp.arguments(schema)(view)

        @wraps(parsed)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if not request.is_json:
                raise UnsupportedMediaType(
                    "Send the body as JSON with Content-Type: application/json."
                )
            if not request.get_data(cache=True).strip():
                raise BadRequest("The body is empty; send a JSON object.")
            return parsed(*args, **kwargs)

        return documents(400, 413, 415)(checked)  # type: ignore[return-value]

    return decorator
