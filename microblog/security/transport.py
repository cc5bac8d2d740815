"""Send plain-HTTP requests to HTTPS when ``FORCE_HTTPS`` is on.

Heroku's router does not redirect by itself; Fly's ``force_https`` and our
nginx site do, and then this layer never fires. The scheme comes from
``X-Forwarded-Proto`` through ProxyFix, so ``PROXY_COUNT`` must be right or
every request loops (``flask deploy check`` says so).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask
from werkzeug.utils import redirect
from werkzeug.wsgi import get_current_url

from microblog.security.hosts import PROBE_PATHS
from microblog.web.middleware import Middleware

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

SAFE_METHODS = frozenset({"GET", "HEAD"})


class RedirectToHttps(Middleware):
    """WSGI middleware: permanent redirect to the same URL over HTTPS."""

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        # Health checks must answer over plain HTTP (platforms do not follow).
        if environ.get("wsgi.url_scheme") == "https" or (
            environ.get("PATH_INFO") in PROBE_PATHS
        ):
            return self.app(environ, start_response)
        url = "https" + get_current_url(environ).removeprefix("http")
        # 308 keeps a POST a POST; browsers cache 301 for GET.
        code = 301 if environ.get("REQUEST_METHOD") in SAFE_METHODS else 308
        return redirect(url, code)(environ, start_response)


def init_app(app: Flask) -> None:
    """Redirect to HTTPS when FORCE_HTTPS is on."""
    if app.config["FORCE_HTTPS"]:
        app.wsgi_app = RedirectToHttps(app.wsgi_app)  # type: ignore[method-assign]
