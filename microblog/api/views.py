"""Decorator stacks shared by the API's read-only views."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import marshmallow as ma

from microblog.api import bp
from microblog.api.auth import token_auth
from microblog.api.errors import documents
from microblog.api.schemas import PageArgsSchema

F = TypeVar("F", bound=Callable[..., Any])
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def signed_in_get(
    path: str, schema: type[ma.Schema], *inner: Decorator
) -> Callable[[F], F]:
    """``GET path`` for a signed-in caller, answering ``schema``; 404 documented.

    ``inner`` decorators go between the 404 and the response, in the order given.
    """
    decorators: list[Decorator] = [
        bp.route(path, methods=["GET"]),
        token_auth,
        documents(404),
        *inner,
        bp.response(200, schema),
    ]

    def decorator(view: F) -> F:
        # Innermost first, as if they were written above the view in this order.
        wrapped: Callable[..., Any] = view
        for apply in reversed(decorators):
            wrapped = apply(wrapped)
        return cast(F, wrapped)

    return decorator


def user_collection(kind: str, schema: type[ma.Schema]) -> Callable[[F], F]:
    """``GET /users/<user_id>/<kind>``: one page of ``schema``, 404 for no such user.

    The view gets the page arguments and the user's id.
    """
    return signed_in_get(
        f"/users/<int:user_id>/{kind}",
        schema,
        bp.arguments(PageArgsSchema, location="query"),
    )
