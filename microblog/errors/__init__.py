"""Error pages: HTML for browsers, JSON for API clients."""

from flask import Blueprint

bp = Blueprint("errors", __name__)
