"""Fly multi-region: requests that write run in the primary database's region.

In a region other than ``PRIMARY_REGION`` a Machine reads from its regional
replica, but a write would cross the world once per statement. So a request
that would write is answered at once with ``fly-replay: region=<primary>``,
and Fly's proxy delivers the same request again to a Machine in the primary
region. The writer's reads for ``READ_YOUR_WRITES_SECONDS`` afterwards are
replayed too, because the regional replica may not have the write yet.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, request

from microblog.replicas.read_your_writes import SAFE_METHODS, recent_writer

log = logging.getLogger(__name__)

# Served where they land: the probes check this Machine, and signing out only
# clears the session cookie.
LOCAL_ENDPOINTS = frozenset({"ops.healthz", "ops.readyz", "static", "auth.logout"})
# Fly's proxy adds it to a request it replays.
REPLAYED_HEADER = "Fly-Replay-Src"


def replay_reason() -> str | None:
    """Why this request must run in the primary region, or None."""
    if request.endpoint in LOCAL_ENDPOINTS:
        return None
    if request.method not in SAFE_METHODS:
        return "write"
    if recent_writer():
        return "read_your_writes"
    return None


def replay_in_primary_region() -> Response | None:
    """Before each request: answer with fly-replay when it belongs elsewhere."""
    reason = replay_reason()
    if reason is None:
        return None
    if REPLAYED_HEADER in request.headers:
        # Replayed here already, yet still not in the primary region (a Machine
        # with a stale PRIMARY_REGION): serve it rather than loop.
        log.warning(
            "not replaying %s again: %s", request.path, request.headers[REPLAYED_HEADER]
        )
        return None
    region = current_app.config["FLY_REPLAY_REGION"]
    response = Response(f"Replaying in {region}.\n", status=409, mimetype="text/plain")
    response.headers["fly-replay"] = f"region={region};state={reason}"
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Register before the hooks that count or check requests (CSRF, limits)."""
    if app.config["FLY_REPLAY_REGION"]:
        app.before_request(replay_in_primary_region)
