"""The password-reset message."""

from __future__ import annotations

from flask import render_template, url_for
from flask_babel import gettext as _

from microblog.auth.reset_tokens import make_reset_token
from microblog.email import send_email
from microblog.models import User


def send_password_reset_email(user: User) -> None:
    """E-mail ``user`` a link that resets the password once."""
    link = url_for("auth.reset_password", token=make_reset_token(user), _external=True)
    body = render_template("email/reset_password.txt", user=user, link=link)
    send_email(user.email, _("[microblog] Reset your password"), body)
