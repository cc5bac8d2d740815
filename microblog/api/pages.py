"""Paginated collections: one statement per page, no COUNT.

Like the HTML pages, each page fetches one row more than it shows to learn
whether another page follows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from flask import current_app, request, url_for

from microblog.api.errors import fail
from microblog.extensions import db


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
