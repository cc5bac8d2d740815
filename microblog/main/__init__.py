"""The social pages: timeline, explore, profiles, follows and search."""

from flask import Blueprint

bp = Blueprint("main", __name__)

from microblog.main import (  # noqa: E402,F401
    activity,
    avatars,
    exports,
    language,
    routes,
)
