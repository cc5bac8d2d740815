"""What every API test checks about an error reply."""

from __future__ import annotations

from typing import Any


def error_of(response: Any) -> dict[str, Any]:
    """The JSON error body, checked for the shape every API error has."""
    assert response.is_json, response.data
    body: dict[str, Any] = response.get_json()
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["message"], str) and body["message"]
    return body
