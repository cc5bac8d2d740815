"""Refuse NUL characters anywhere in a request's text, and absurdly nested JSON.

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
    # A loop, not recursion: JSON can nest deeper than Python's stack.
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def json_body() -> Any:
    """The parsed JSON body, None if it is not JSON; 400 if it nests too deep."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        # Python's parser gives up past ~1000 levels with an error Flask does not
        # turn into a 400; no real request nests like that.
        abort(400)


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
    elif request.is_json and holds_nul(json_body()):
        abort(400)


def init_app(app: Flask) -> None:
    """Check every request before any view or other hook reads it."""
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_nul)
