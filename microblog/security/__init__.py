"""Secure defaults: response headers, HTTPS, trusted hosts and rate limits.

The WSGI layers wrap everything the app serves, static files included, in this
order from the outside in: headers, host check, HTTPS redirect, the app.
"""

from __future__ import annotations

from flask import Flask

from microblog.security import headers, hosts, inputs, limits, transport


def init_app(app: Flask) -> None:
    """Wrap the app in the security layers and attach the rate limits."""
    inputs.init_app(app)
    limits.init_app(app)
    transport.init_app(app)
    hosts.init_app(app)
    headers.init_app(app)
