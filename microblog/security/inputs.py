"""Refuse NUL characters in page requests, and JSON nested past the parser's reach.

No field of this app can hold a NUL, and PostgreSQL rejects one in any string
("A string literal cannot contain NUL characters"), which would surface as a
500 instead of the 400 the client deserves. The JSON API validates its own
bodies (a NUL there is a 422 naming the field), so only the depth check
applies to it.
"""

from __future__ import annotations

from flask import Flask, abort, request

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def has_nul(pairs: list[tuple[str, str]]) -> bool:
    return any("\x00" in key or "\x00" in value for key, value in pairs)


def refuse_bad_text() -> None:
    """400 for a NUL in a page request, or for absurdly nested JSON anywhere."""
    if request.is_json:
        try:
            request.get_json(silent=True)
        except RecursionError:
            # Python's parser gives up past ~1000 levels with an error Flask
            # does not turn into a 400; no real request nests like that.
            abort(400)
    if request.path.startswith("/api/"):
        return
    if "\x00" in request.path or has_nul(list(request.args.items(multi=True))):
        abort(400)
    form = request.mimetype in FORM_TYPES
    if form and has_nul(list(request.form.items(multi=True))):
        abort(400)


def init_app(app: Flask) -> None:
    """Check every request before any view or other hook reads it."""
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_bad_text)
