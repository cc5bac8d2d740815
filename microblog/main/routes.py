"""The social pages."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from microblog.accounts.rules import username_taken
from microblog.extensions import db
from microblog.jobs.exports import latest_export
from microblog.main import bp
from microblog.main.exports import export_state
from microblog.main.forms import EditProfileForm, EmptyForm, PostForm, SearchForm
from microblog.main.listings import (
    author_listing,
    explore_listing,
    listing_page,
    search_listing,
    timeline_listing,
)
from microblog.main.post_articles import post_articles
from microblog.main.posting import IDEMPOTENCY_KEY, create_post
from microblog.main.snapshots import PostView, export_view, post_page, profile_view
from microblog.models import User, profile_query
from microblog.web.pagination import Page as ResultPage
from microblog.web.pagination import requested_depth
from microblog.web.remembered_pages import render_remembered

Page = str | Response
PostsPage = ResultPage[PostView]

bp.add_app_template_global(post_articles)


@bp.route("/index", methods=["GET", "POST"])
@bp.route("/", methods=["GET", "POST"])
@login_required
def index() -> Page:
    """Home timeline: own and followed users' posts, with a form to post."""
    if request.method == "POST":
        form = PostForm()
        if form.validate_on_submit():
            create_post(current_user, form.post.data, form.idempotency_key.data)
            flash(_("Your post is now live!"), "success")
            return redirect(url_for("main.index"))
        # The form again with what was typed and why it was refused.
        return render_template(
            "main/index.html",
            title=_("Home"),
            form=form,
            page=timeline_page(),
            endpoint="main.index",
        )
    return render_remembered(
        "main/index.html",
        forms={"form": new_post_form},
        fresh=(IDEMPOTENCY_KEY,),
        title=_("Home"),
        page=timeline_page(),
        endpoint="main.index",
    )


def timeline_page() -> PostsPage:
    statement = timeline_listing()
    values = {"timeline_user_id": current_user.id, "timeline_depth": requested_depth()}
    return post_page(listing_page(statement, **values))


def new_post_form() -> PostForm:
    return PostForm(idempotency_key=IDEMPOTENCY_KEY.marker)


@bp.get("/explore")
def explore() -> str:
    """Every user's posts, newest first."""
    return render_remembered(
        "main/explore.html",
        title=_("Explore"),
        page=post_page(listing_page(explore_listing())),
        endpoint="main.explore",
    )


@bp.get("/user/<username>")
def user(username: str) -> str:
    """A profile: about-me, counts, last seen and the user's posts."""
    viewer_id = current_user.id if current_user.is_authenticated else None
    row = db.session.execute(
        profile_query(), {"profile_username": username, "viewer_id": viewer_id or 0}
    ).first()
    if row is None:
        abort(404, _("There is no user called %(name)s.", name=username))
    profile = profile_view(row)
    own = profile.id == viewer_id
    return render_remembered(
        "main/user.html",
        forms={"form": EmptyForm},
        title=profile.username,
        user=profile,
        page=post_page(listing_page(author_listing(), author_id=profile.id)),
        endpoint="main.user",
        export=export_view(export_state(latest_export(current_user))) if own else None,
    )


@bp.route("/edit_profile", methods=["GET", "POST"])
@login_required
def edit_profile() -> Page:
    """Change one's username and about-me."""
    form = EditProfileForm(obj=current_user)
    if form.validate_on_submit():
        if username_taken(form.username.data, except_id=current_user.id):
            form.username.errors.append(_("That username is taken."))
        else:
            current_user.username = form.username.data
            current_user.about_me = form.about_me.data or None
            db.session.commit()
            flash(_("Your changes have been saved."), "success")
            return redirect(url_for("main.user", username=current_user.username))
    return render_template("main/edit_profile.html", title=_("Edit profile"), form=form)


def user_or_404(username: str) -> User:
    found = db.session.scalar(sa.select(User).where(User.username == username))
    if found is None:
        abort(404, _("There is no user called %(name)s.", name=username))
    return found


@bp.post("/follow/<username>")
@login_required
def follow(username: str) -> Response:
    """Start following a user."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    target = user_or_404(username)
    if target.id == current_user.id:
        flash(_("You cannot follow yourself."), "error")
    elif current_user.follow(target):
        db.session.commit()
        flash(_("You are following %(name)s.", name=username), "success")
    return redirect(url_for("main.user", username=username))


@bp.post("/unfollow/<username>")
@login_required
def unfollow(username: str) -> Response:
    """Stop following a user."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    target = user_or_404(username)
    if current_user.unfollow(target):
        db.session.commit()
        flash(_("You are not following %(name)s.", name=username), "info")
    return redirect(url_for("main.user", username=username))


@bp.get("/search")
def search() -> str:
    """Posts whose text contains the query, newest first."""
    form = SearchForm(request.args)
    page = None
    if "q" in request.args and form.validate():
        page = post_page(listing_page(search_listing(form.q.data)))
    return render_template(
        "main/search.html",
        title=_("Search"),
        form=form,
        page=page,
        endpoint="main.search",
    )
