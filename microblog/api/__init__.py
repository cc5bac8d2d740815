"""The JSON API under ``/api``: bearer tokens, users, follows and posts."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Blueprint

bp = Blueprint(
    "api",
    __name__,
    description="Users, follows and posts for programs: mobile apps, scripts.",
)


def init_app(app: Flask) -> None:
    """Register the API at ``/api`` with its OpenAPI document."""
    from microblog.api.exports import register_export_id
    from microblog.api.openapi import build_api
    from microblog.extensions import csrf

    # Requests authenticate with tokens in a header, which a third-party page
    # cannot make a browser send, so CSRF tokens protect nothing here.
    csrf.exempt(bp)
    api = build_api(app)
    register_export_id(app, api)
    api.register_blueprint(bp, url_prefix="/api")


from microblog.api import (  # noqa: E402,F401
    errors,
    exports,
    follows,
    ids,
    openapi,
    posts,
    tokens,
    users,
)
