"""How a login cookie maps back to a user, and how it stops working."""

from __future__ import annotations

import hmac

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from microblog.extensions import db, login
from microblog.models import User, thread_statement

login.login_view = "auth.login"
login.login_message = _l("Please sign in to see this page.")
login.login_message_category = "info"


def user_by_id() -> sa.Select[User]:
    """A user by ``user_id``, in a statement built once per thread: cheaper
    than ``Session.get``, which assembles its statement on every request."""
    return thread_statement(
        ("user by id",),
        lambda: sa.select(User).where(User.id == sa.bindparam("user_id")),
    )


@login.user_loader
def load_user(identity: str) -> User | None:
    """Resolve ``id:session_token``; a rotated token means the session ended."""
    user_id, _, token = identity.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.scalar(user_by_id(), {"user_id": int(user_id)})
    if user is None or not hmac.compare_digest(user.session_token, token):
        return None
    return user
