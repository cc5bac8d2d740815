"""Accounts: registration, login, logout and password reset."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from microblog.auth import routes, sessions  # noqa: E402,F401
