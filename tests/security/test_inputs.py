"""Input no database can store gets a 4xx, never a 500, on every backend."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient


@pytest.mark.parametrize(
    "path", ["/user/al%00ice", "/user/al%00ice?page=2", "/auth/reset_password/a%00b"]
)
def test_nul_in_a_page_path_is_not_found(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_absurdly_nested_json_is_a_bad_request(client: FlaskClient) -> None:
    nested = "[" * 10_000 + "]" * 10_000  # 20 KB, under the size limit
    response = client.post(
        "/api/posts", data=nested, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json is not None and response.json["error"] == "Bad Request"
