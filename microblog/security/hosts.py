"""Answer only for the configured host names (``TRUSTED_HOSTS`` or ``SERVER_NAME``).

Links in e-mails (password reset) are built from the request's Host header, so
an attacker who could send any Host could mail a victim a reset link to their
own site. Flask 3.1's ``TRUSTED_HOSTS`` check is done here instead, as a WSGI
layer: Flask's own raises before the URL adapter exists, so its 400 page cannot
be rendered, and it cannot spare the health probes, which platforms call by IP.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask
from werkzeug.exceptions import SecurityError
from werkzeug.wsgi import get_host

from microblog.web.middleware import Middleware

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# Fly's and Docker's health checks send the machine's address as Host.
PROBE_PATHS = frozenset({"/healthz", "/readyz"})


class TrustedHosts(Middleware):
    """WSGI middleware answering 400 to a request for any other host."""

    def __init__(self, app: WSGIApplication, hosts: list[str]) -> None:
        super().__init__(app)
        self.hosts = hosts

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        if environ.get("PATH_INFO") not in PROBE_PATHS:
            try:
                get_host(environ, self.hosts)
            except SecurityError:
                body = b"Bad Request: this server does not answer for that host.\n"
                start_response(
                    "400 Bad Request",
                    [
                        ("Content-Type", "text/plain; charset=utf-8"),
                        ("Content-Length", str(len(body))),
                        ("Cache-Control", "no-store"),
                    ],
                )
                return [body]
        return self.app(environ, start_response)


def init_app(app: Flask) -> None:
    """Check the Host header before the app sees the request."""
    hosts = app.config.get("TRUSTED_HOSTS")
    # Checked by the layer below; Flask's own check would 500 on the probes.
    app.config["TRUSTED_HOSTS"] = None
    app.config["ALLOWED_HOSTS"] = hosts
    if hosts:
        app.wsgi_app = TrustedHosts(app.wsgi_app, hosts)  # type: ignore[method-assign]
