"""Someone who just wrote reads from the primary for a while, wherever they land.

A request that wrote gets a cookie signed with ``SECRET_KEY`` whose signature
carries the time; for ``READ_YOUR_WRITES_SECONDS`` after it, that client's reads
go to the primary (and, on Fly, to the primary region). A cookie needs no state
on the server: any instance in any region checks it alone, which a per-process
memory could not do and a database lookup would do at the cost of a query on the
primary per request. Browsers return it by themselves; API clients do when they
keep cookies (``requests.Session``, ``curl -b/-c``), and the rest see their own
writes once the replica has them, at most ``REPLICA_MAX_LAG`` later.
"""

from __future__ import annotations

from flask import Response, current_app, request
from itsdangerous import BadSignature, TimestampSigner

from microblog.extensions import db
from microblog.replicas.session import WROTE

COOKIE_NAME = "recent_write"
SALT = "microblog.read-your-writes"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def cookie_name() -> str:
    # Same prefix rule as the session cookie: __Host- when served over HTTPS.
    prefix = "__Host-" if current_app.config["FORCE_HTTPS"] else ""
    return prefix + COOKIE_NAME


def signer() -> TimestampSigner:
    return TimestampSigner(current_app.config["SECRET_KEY"], salt=SALT)


def recent_writer() -> bool:
    """True when this client wrote less than READ_YOUR_WRITES_SECONDS ago."""
    value = request.cookies.get(cookie_name())
    if not value:
        return False
    try:
        signer().unsign(value, max_age=current_app.config["READ_YOUR_WRITES_SECONDS"])
    except BadSignature:  # also an expired signature
        return False
    return True


def remember_write(response: Response) -> Response:
    """After a request that wrote to the database, mark its client a writer."""
    if request.method in SAFE_METHODS or not db.session.registry.has():
        return response
    if not db.session.info.get(WROTE):
        return response
    response.set_cookie(
        cookie_name(),
        signer().sign(b"1").decode(),
        max_age=current_app.config["READ_YOUR_WRITES_SECONDS"],
        path="/",
        secure=current_app.config["FORCE_HTTPS"],
        httponly=True,
        samesite="Lax",
    )
    return response
