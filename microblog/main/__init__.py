"""The social pages: timeline, explore, profiles, follows and search."""

from flask import Blueprint

bp = Blueprint("main", __name__)

from microblog.main import activity, avatars, language, routes  # noqa: E402,F401
