"""Paginated collections: one statement per page, no COUNT.

Like the HTML pages, each page fetches one row more than it shows to learn
whether another page follows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import marshmallow as ma
import sqlalchemy as sa
from flask import current_app, request, url_for

from microblog.api import bp
from microblog.api.auth import token_auth
from microblog.api.errors import documents, fail
from microblog.api.schemas import PageArgsSchema
from microblog.extensions import db

F = TypeVar("F", bound=Callable[..., Any])


def user_collection(kind: str, schema: type[ma.Schema]) -> Callable[[F], F]:
    """``GET /users/<user_id>/<kind>``: a page of ``schema`` for a signed-in caller.

    404 when there is no such user; the view gets the page arguments and the id.
    """
    decorators = [
        bp.route(f"/users/<int:user_id>/{kind}", methods=["GET"]),
        token_auth,
        documents(404),
        bp.arguments(PageArgsSchema, location="query"),
        bp.response(200, schema),
    ]

    def decorator(view: F) -> F:
        # Innermost first, as if they were written above the view in this order.
        for apply in reversed(decorators):
            view = apply(view)
        return view

    return decorator


def page_numbers(args: Mapping[str, Any]) -> tuple[int, int]:
    """``(page, per_page)`` from validated query arguments, within the limits."""
    number: int = args.get("page", 1)
    max_page = current_app.config["MAX_PAGE"]
    if number > max_page:
        raise fail(422, f"page: at most {max_page}.", page=f"At most {max_page}.")
    size: int = args.get("per_page") or current_app.config["POSTS_PER_PAGE"]
    return number, size


def collection(
    query: sa.Select[*tuple[Any, ...]],
    args: Mapping[str, Any],
    document: Callable[[Any], dict[str, Any]],
    **view_args: Any,
) -> dict[str, Any]:
    """One page of ``query`` as ``items`` with ``_meta`` and ``_links``."""
    number, size = page_numbers(args)
    rows = db.session.execute(query.limit(size + 1).offset((number - 1) * size)).all()
    has_next = len(rows) > size

    def link(page: int) -> str:
        return url_for(request.endpoint or "", page=page, per_page=size, **view_args)

    return {
        "items": [document(row) for row in rows[:size]],
        "meta": {"page": number, "per_page": size, "has_next": has_next},
        "links": {
            "self": link(number),
            "next": link(number + 1) if has_next else None,
            "prev": link(number - 1) if number > 1 else None,
        },
    }
