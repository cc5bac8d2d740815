"""Refuse NUL characters anywhere in a request's text.

No field of this app can hold one, and PostgreSQL rejects them in any string
("A string literal cannot contain NUL characters"), which would surface as a
500 instead of the 400 the client deserves.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Flask, abort, request


def holds_nul(value: Any) -> bool:
    """True when ``value`` (a string, or JSON made of them) contains a NUL."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(k) or holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(holds_nul(item) for item in value)
    return False


def texts(pairs: Iterable[tuple[str, str]]) -> Iterable[str]:
    for key, value in pairs:
        yield key
        yield value


def refuse_nul() -> None:
    """400 for a NUL in the path, the query, a form field or a JSON body."""
    if "\x00" in request.path or any(
        holds_nul(t) for t in texts(request.args.items(multi=True))
    ):
        abort(400)
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        if any(holds_nul(t) for t in texts(request.form.items(multi=True))):
            abort(400)
    elif request.is_json and holds_nul(request.get_json(silent=True)):
        abort(400)


def init_app(app: Flask) -> None:
    """Check every request before any view or other hook reads it."""
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_nul)
