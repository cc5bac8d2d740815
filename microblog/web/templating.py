"""Helpers available in every template."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask
from flask_babel import format_timedelta, get_locale
from flask_babel import gettext as _

from microblog.models import utcnow

JUST_NOW = timedelta(seconds=45)


def ago(moment: datetime) -> str:
    """'5 minutes ago', in the reader's language, rendered on the server."""
    elapsed = moment - utcnow()
    # Under a minute Babel says "3 seconds ago", or "in 1 second" when the
    # database clock runs a little ahead of ours; neither reads well.
    if abs(elapsed) < JUST_NOW:
        return _("just now")
    return str(format_timedelta(elapsed, add_direction=True))


def current_locale_code() -> str:
    return str(get_locale() or "en")


def init_app(app: Flask) -> None:
    """Expose the helpers to Jinja."""
    app.jinja_env.globals.update(ago=ago, current_locale_code=current_locale_code)
