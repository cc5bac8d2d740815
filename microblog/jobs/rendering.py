"""Rendering mail in a job, where no request supplies a host or a language."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, g, request
from flask_babel import force_locale, get_locale

DEFAULT_BASE_URL = "http://localhost/"


def request_origin() -> tuple[str, str]:
    """The base URL and language of the current request, for a job to reuse."""
    return request.url_root, str(get_locale() or "en")


@contextmanager
def rendering_for(locale: str, base_url: str = DEFAULT_BASE_URL) -> Iterator[None]:
    """Render as for a visitor of ``base_url`` who reads ``locale``.

    ``base_url`` comes from a request whose Host was checked against
    TRUSTED_HOSTS, so links in the mail point at the site the visitor used.
    """
    with current_app.test_request_context(base_url=base_url):
        # Flask-Babel's force_locale does nothing while ``g`` is empty.
        g.mail_locale = locale
        with force_locale(locale):
            yield
