"""Accounts: registration, login, logout and password reset."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from microblog.auth import login_cookies, routes  # noqa: E402,F401
