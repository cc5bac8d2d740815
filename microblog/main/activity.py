"""Record when a signed-in user was last seen, without a write per request."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, request
from flask_login import current_user

from microblog.extensions import db
from microblog.main import bp
from microblog.models import User, utcnow

# Requests that must not touch the session or the database at all.
QUIET_ENDPOINTS = frozenset({"static", "ops.healthz", "ops.readyz", "main.avatar"})


@bp.before_app_request
def record_last_seen() -> None:
    """Write ``last_seen`` at most once per LAST_SEEN_INTERVAL per user."""
    if request.endpoint in QUIET_ENDPOINTS or request.blueprint == "api":
        return
    if not current_user.is_authenticated:
        return
    now = utcnow()
    interval = timedelta(seconds=current_app.config["LAST_SEEN_INTERVAL"])
    if current_user.last_seen and now - current_user.last_seen < interval:
        return
    db.session.execute(
        sa.update(User).where(User.id == current_user.id).values(last_seen=now)
    )
    db.session.commit()
