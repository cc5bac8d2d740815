"""The common part of this app's WSGI layers: each wraps one WSGI app.

Layers wrap ``app.wsgi_app`` rather than hooking into Flask's request cycle
when they must also see responses made outside it (static files, the bad-host
answer) or change the request before ProxyFix and Flask read it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication


class Middleware:
    """A WSGI layer around ``app``; each subclass's ``__call__`` does its part.

    ``__call__`` either answers by itself or passes the request on to
    ``self.app``, changing what goes in or comes out on the way.
    """

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app
