"""Each post's ``<article>``, rendered once and remembered by what it shows.

A post looks the same to every reader who sees the same ``PostView`` (its text,
time, author and age in the reader's language), so its markup is kept per
worker under that value, for any page and any reader: a timeline rendered for
the first time mostly reuses articles already rendered for explore, profiles
or other readers. The article holds nothing of the reader, and a changed post,
author name or age is another key.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import current_app
from markupsafe import Markup

from microblog.main.snapshots import PostView
from microblog.web.remembered_pages import memory
from microblog.web.templating import avatar_url_of, profile_url_of

# About forty pages' worth of posts; an article is about 600 bytes.
ARTICLES_KEPT = 1024


def post_articles(posts: Sequence[PostView]) -> Markup:
    """The articles of ``posts``, in order."""
    articles = memory("post_articles", ARTICLES_KEPT)
    template = current_app.jinja_env.get_template("_post.html")
    parts = []
    for post in posts:
        html = articles.get(post)
        if html is None:
            html = template.render(
                post=post,
                profile_url=profile_url_of(post.author),
                avatar_url=avatar_url_of(post.avatar_digest),
            )
            articles.put(post, html)
        parts.append(html)
    # Each part is the output of _post.html, which Jinja autoescapes.
    return Markup("\n".join(parts))  # noqa: S704
