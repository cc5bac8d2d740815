"""Security headers on every response, static files and error pages included.

A WSGI layer rather than ``after_request``, so that responses made outside
Flask's request cycle (static files served by WhiteNoise, the bad-host answer)
carry them too. The CSP allows scripts and styles only from files on this site:
templates hold no inline ``<script>`` or ``style`` and must keep it that way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask

from microblog.web.middleware import Middleware

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        # Avatars are SVGs this app generates; no third-party images.
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ]
)
# Features this app never uses, switched off for it and anything it embeds.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
        "browsing-topics",
    )
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Full URL to this site (Flask-WTF's HTTPS CSRF check reads the Referer),
    # nothing at all to other sites.
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": PERMISSIONS_POLICY,
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# Two years, the value preload lists ask for; sent only over HTTPS (RFC 6797).
STRICT_TRANSPORT_SECURITY = "max-age=63072000; includeSubDomains"
# Headers that tell an attacker which software, and which version, answers.
REVEALING = frozenset({"server", "x-powered-by"})


def security_headers(https: bool) -> dict[str, str]:
    """The headers every response gets; HSTS only when served over HTTPS."""
    extra = {"Strict-Transport-Security": STRICT_TRANSPORT_SECURITY} if https else {}
    return {**HEADERS, **extra}


class SecurityHeaders(Middleware):
    """WSGI middleware adding the security headers the response does not set."""

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        wanted = security_headers(environ.get("wsgi.url_scheme") == "https")

        def add_headers(
            status: str, response_headers: list[tuple[str, str]], *args: Any
        ) -> Any:
            present = {name.lower() for name, _ in response_headers}
            kept = [h for h in response_headers if h[0].lower() not in REVEALING]
            kept += [(k, v) for k, v in wanted.items() if k.lower() not in present]
            return start_response(status, kept, *args)

        return self.app(environ, add_headers)


def init_app(app: Flask) -> None:
    """Wrap the app so that every response carries the headers."""
    app.wsgi_app = SecurityHeaders(app.wsgi_app)  # type: ignore[method-assign]
