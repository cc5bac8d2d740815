"""Pages gzip-compressed for browsers that accept it.

Heroku's router and Fly's proxy pass responses through as the app wrote them,
so an uncompressed page is what every visitor downloads (15-17 KB of HTML;
about 4 KB compressed). Static files are not handled here: WhiteNoise serves
them before Flask, with the compressed copies made at build time.

BREACH (guessing a secret in a compressed HTTPS page, byte by byte, from the
sizes of many responses to requests that reflect attacker-chosen text) needs
a secret that stays the same across those responses and requests that carry
the victim's session. Neither holds here: the session cookie is
``SameSite=Lax``, so the requests another site can make a browser send in bulk
(images, scripts, fetch) arrive without it and get anonymous pages; and the
CSRF token in forms is signed with a timestamp (Flask-WTF), so its signed part
changes every second while its constant part is useless without the server's
key. API responses (JSON, where tokens are issued) are not compressed.
"""

from __future__ import annotations

import gzip

from flask import Flask, request
from werkzeug.wrappers import Response

# Below this a gzip header and the extra work cost more than they save.
MIN_SIZE = 512
# A fast level: on a 15.7 KB page, level 3 gives 2.9 KB in 0.09 ms of CPU,
# zlib's default (6) 2.7 KB in 0.22 ms. The 6% it saves in bytes costs more
# CPU than every other step of a remembered page but one.
LEVEL = 3
COMPRESSIBLE = frozenset({"text/html"})


def accepts_gzip() -> bool:
    """The client lists gzip in Accept-Encoding with a non-zero quality."""
    return request.accept_encodings["gzip"] > 0


def compress_page(response: Response) -> Response:
    """Gzip an HTML body when the client takes it; say that the body varies."""
    if response.mimetype not in COMPRESSIBLE:
        return response
    response.vary.add("Accept-Encoding")
    if (
        response.direct_passthrough
        or response.is_streamed
        or "Content-Encoding" in response.headers
        or response.status_code < 200
        or response.status_code in (204, 304)
        or not accepts_gzip()
    ):
        return response
    body = response.get_data()
    if len(body) < MIN_SIZE:
        return response
    response.set_data(gzip.compress(body, compresslevel=LEVEL, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    return response


def init_app(app: Flask) -> None:
    """Register first, so that it runs after every other after-request hook."""
    app.after_request(compress_page)
