"""The client's address as plain IPv4 when it reached a dual-stack socket.

gunicorn listens on ``[::]`` so that Fly's IPv6 private network reaches it; on
Linux that one socket also accepts IPv4, and reports such a client as
``::ffff:203.0.113.7``. Rate limits, logs and ProxyFix then see the address
the client really has, whichever socket took the connection.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING

from microblog.web.middleware import Middleware

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

MAPPED_PREFIX = "::ffff:"


def unmapped(address: str) -> str:
    """``address`` without the IPv4-mapped IPv6 form; anything else unchanged."""
    if not address.lower().startswith(MAPPED_PREFIX):
        return address
    try:
        ipv4 = ipaddress.IPv6Address(address).ipv4_mapped
    except ValueError:
        return address
    return str(ipv4) if ipv4 is not None else address


class UnmapIPv4(Middleware):
    """WSGI middleware: REMOTE_ADDR in its IPv4 form (before any ProxyFix)."""

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        if "REMOTE_ADDR" in environ:
            environ["REMOTE_ADDR"] = unmapped(environ["REMOTE_ADDR"])
        return self.app(environ, start_response)
