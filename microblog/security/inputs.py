"""Refuse a NUL in a page's URL path, and JSON nested past the parser's reach.

No user name or token can hold a NUL, and PostgreSQL rejects one in any string
("A string literal cannot contain NUL characters"), which would surface as a
500 for ``/user/<name>``. Forms and query strings are checked by their own
validators, with a message; the JSON API validates its bodies itself.
"""

from __future__ import annotations

from flask import Flask, abort, request


def refuse_unstorable_input() -> None:
    """404 for a NUL in a page path; 400 for absurdly nested JSON anywhere."""
    if request.is_json:
        try:
            request.get_json(silent=True)
        except RecursionError:
            # Python's parser gives up past ~1000 levels with an error Flask
            # does not turn into a 400; no real request nests like that.
            abort(400)
    if "\x00" in request.path and not request.path.startswith("/api/"):
        abort(404)  # nothing here can be named with a NUL


def init_app(app: Flask) -> None:
    """Check every request before any view or other hook reads it."""
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_unstorable_input)
