"""Helpers shared by the API tests: tokens and headers."""

from __future__ import annotations

from typing import Any

from microblog.api.tokens_store import issue_token
from microblog.models import User


def bearer(user: User) -> dict[str, str]:
    """Headers that authenticate as ``user`` with a freshly issued token."""
    secret, _ = issue_token(user)
    return {"Authorization": f"Bearer {secret}"}


def error_of(response: Any) -> dict[str, Any]:
    """The JSON error body, checked for the shape every API error has."""
    assert response.is_json, response.data
    body: dict[str, Any] = response.get_json()
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["message"], str) and body["message"]
    return body
