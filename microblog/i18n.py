"""Language choice: the user's saved preference, else the browser's."""

from __future__ import annotations

from flask import request

LANGUAGES = ("en", "es")


def select_locale() -> str | None:
    """Flask-Babel's locale selector."""
    return request.accept_languages.best_match(LANGUAGES)
