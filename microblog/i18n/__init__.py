"""Translations: which language a page is in, and binding Flask-Babel.

The language is the visitor's ``lang`` cookie, else the browser's preference.
``catalogs`` keeps the message catalogs; ``commands`` is ``flask translate``.
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.wrappers import Response

from microblog.extensions import babel
from microblog.i18n import catalogs

LANGUAGES = ("en", "es")
# Each language named in itself, so a reader who cannot read the page finds theirs.
LANGUAGE_NAMES = {"en": "English", "es": "Español"}
LANGUAGE_COOKIE = "lang"
LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600


def chosen_language() -> str | None:
    """The language the visitor picked on the site, if it is one we offer."""
    choice = request.cookies.get(LANGUAGE_COOKIE, "")
    return choice if choice in LANGUAGES else None


def browser_language() -> str:
    """The best of our languages for the browser's Accept-Language."""
    return request.accept_languages.best_match(LANGUAGES) or LANGUAGES[0]


def select_locale() -> str:
    """Flask-Babel's locale selector."""
    return chosen_language() or browser_language()


def remember_language(response: Response, language: str | None) -> None:
    """Store ``language`` in the cookie, or forget the choice when it is None."""
    if language is None:
        response.delete_cookie(LANGUAGE_COOKIE, samesite="Lax")
        return
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    response.set_cookie(
        LANGUAGE_COOKIE,
        language,
        max_age=LANGUAGE_COOKIE_MAX_AGE,
        secure=request.is_secure,
        httponly=True,
        samesite="Lax",
    )


def vary_by_language(response: Response) -> Response:
    """Tell caches that a page's language depends on these request headers."""
    if response.mimetype == "text/html":
        response.vary.add("Accept-Language")
        response.vary.add("Cookie")
    return response


def init_app(app: Flask) -> None:
    """Bind Flask-Babel, reading catalogs that are known to match their sources."""
    app.config.setdefault(
        "BABEL_TRANSLATION_DIRECTORIES", str(catalogs.usable_directory())
    )
    babel.init_app(app, locale_selector=select_locale)
    app.after_request(vary_by_language)
