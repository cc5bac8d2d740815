"""OpenAPI links: which response values feed which next request.

Clients (and schemathesis' stateful tests) follow them, e.g. from a new post
to reading it back. Operation ids are the view names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from microblog.api import bp

F = TypeVar("F", bound=Callable[..., Any])
BODY_ID = "$response.body#/id"


def links(status: int, **targets: tuple[str, dict[str, str]]) -> Callable[[F], F]:
    """Document links from the ``status`` response to other operations."""
    documented = {
        name: {"operationId": operation, "parameters": parameters}
        for name, (operation, parameters) in targets.items()
    }
    return bp.doc(responses={status: {"links": documented}})


def user_links(status: int) -> Callable[[F], F]:
    """From a user document to that user's other resources."""
    by_id = {"user_id": BODY_ID}
    return links(
        status,
        GetUser=("get_user", by_id),
        UpdateUser=("update_user", by_id),
        ListFollowers=("list_followers", by_id),
        ListFollowing=("list_following", by_id),
        ListUserPosts=("list_user_posts", by_id),
    )
