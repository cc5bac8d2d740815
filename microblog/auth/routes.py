"""Account pages."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from microblog.accounts.passwords import verify_password
from microblog.auth import bp
from microblog.auth.forms import (
    LoginForm,
    RegistrationForm,
    ResetPasswordForm,
    ResetPasswordRequestForm,
)
from microblog.auth.reset_tokens import user_for_reset_token
from microblog.extensions import db
from microblog.jobs.queue import JobsUnavailable, enqueue
from microblog.jobs.rendering import request_origin
from microblog.jobs.wording import jobs_unavailable_message
from microblog.models import User
from microblog.web.urls import safe_next

Page = str | Response


def start_session(user: User, remember: bool) -> None:
    """Log in with a fresh session so a planted cookie gains nothing."""
    session.clear()
    login_user(user, remember=remember)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Page:
    """Sign in with username and password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalar(
            sa.select(User).where(
                sa.func.lower(User.username) == form.username.data.lower()
            )
        )
        if user is None:
            verify_password(None, form.password.data)  # same time as a wrong password
        elif user.check_password(form.password.data):
            db.session.commit()  # keeps a hash upgraded by check_password
            start_session(user, remember=form.remember_me.data)
            return redirect(
                safe_next(request.args.get("next")) or url_for("main.index")
            )
        flash(_("Invalid username or password."), "error")
    return render_template("auth/login.html", title=_("Sign in"), form=form)


@bp.post("/logout")
@login_required
def logout() -> Response:
    """Sign out everywhere: the old cookies stop working on every device."""
    current_user.end_all_sessions()
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have been signed out."), "info")
    return redirect(url_for("main.index"))


@bp.route("/register", methods=["GET", "POST"])
def register() -> Page:
    """Create an account."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegistrationForm()
    if form.validate_on_submit():
        user = User(username=form.username.data, email=form.email.data)
        user.set_password(form.password.data)
        db.session.add(user)
        db.session.commit()
        flash(_("Welcome aboard! You can now sign in."), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/register.html", title=_("Register"), form=form)


@bp.route("/reset_password_request", methods=["GET", "POST"])
def reset_password_request() -> Page:
    """Ask for a reset link; the answer is the same whether the address exists."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = ResetPasswordRequestForm()
    status = 200
    if form.validate_on_submit():
        # The job looks the address up, so known and unknown addresses cost
        # this request the same: one enqueue, no database query, no SMTP.
        try:
            enqueue("password_reset", form.email.data, *request_origin())
        except JobsUnavailable:
            flash(jobs_unavailable_message(), "error")
            status = 503
        else:
            flash(
                _("If that address has an account, a reset link is on its way."),
                "info",
            )
            return redirect(url_for("auth.login"))
    page = render_template(
        "auth/reset_password_request.html", title=_("Reset password"), form=form
    )
    return Response(page, status=status, mimetype="text/html")


@bp.route("/reset_password/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Page:
    """Choose a new password with a link from the reset e-mail."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    user = user_for_reset_token(token)
    if user is None:
        flash(_("That reset link is invalid, expired or already used."), "error")
        return redirect(url_for("auth.reset_password_request"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        user.set_password(form.password.data)
        db.session.commit()
        flash(_("Your password has been reset; please sign in."), "success")
        return redirect(url_for("auth.login"))
    return render_template(
        "auth/reset_password.html", title=_("Reset password"), form=form
    )
