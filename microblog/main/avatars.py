"""Generated avatars: a symmetric pattern drawn from a digest of the username.

Served by the app itself, so pages make no third-party request (no Gravatar)
and a strict Content-Security-Policy holds.
"""

from __future__ import annotations

import re

from flask import Response, abort
from markupsafe import escape

from microblog.main import bp

DIGEST = re.compile(r"^[0-9a-f]{16}$")
GRID = 5
CELL = 10
ONE_YEAR = 365 * 24 * 3600


def identicon_svg(digest: str) -> str:
    """A 5x5 mirrored pattern; colour and cells both come from ``digest``."""
    bits = int(digest, 16)
    hue = bits % 360
    cells = []
    for row in range(GRID):
        for column in range((GRID + 1) // 2):
            bit = row * 3 + column
            if not (bits >> (bit + 9)) & 1:
                continue
            for x in {column, GRID - 1 - column}:
                cells.append(
                    f'<rect x="{x * CELL + 5}" y="{row * CELL + 5}" '
                    f'width="{CELL}" height="{CELL}"/>'
                )
    size = GRID * CELL + 10
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'role="img" aria-label="avatar {escape(digest)}">'
        f'<rect width="{size}" height="{size}" fill="hsl({hue},45%,92%)"/>'
        f'<g fill="hsl({hue},55%,45%)">{"".join(cells)}</g></svg>'
    )


@bp.get("/avatar/<digest>.svg")
def avatar(digest: str) -> Response:
    """The avatar for a username digest; cacheable forever."""
    if not DIGEST.match(digest):
        abort(404)
    response = Response(identicon_svg(digest), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
    return response
