"""Helpers available in every template."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from flask_babel import format_datetime, format_timedelta, get_locale

from microblog.models import utcnow


def ago(moment: datetime) -> str:
    """'5 minutes ago', in the reader's language, rendered on the server."""
    return str(format_timedelta(moment - utcnow(), add_direction=True))


def current_locale_code() -> str:
    return str(get_locale() or "en")


def init_app(app: Flask) -> None:
    """Expose the helpers to Jinja."""
    app.jinja_env.globals.update(
        ago=ago,
        current_locale_code=current_locale_code,
        format_datetime=format_datetime,
    )
