"""NUL characters in page requests and absurdly nested JSON get 400, not a 500."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.conftest import make_user


@pytest.mark.parametrize(
    "path",
    [
        "/user/al%00ice",
        "/search?q=a%00b",
        "/explore?page=1&x%00=1",
        "/auth/reset_password/abc%00def",
    ],
)
def test_nul_in_the_url_is_a_bad_request(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 400


def test_nul_in_a_form_is_a_bad_request_and_stores_nothing(client: FlaskClient) -> None:
    make_user("alice")
    login = client.post("/auth/login", data={"username": "al\x00ice", "password": "x"})
    register = client.post(
        "/auth/register",
        data={
            "username": "bob\x00",
            "email": "bob@example.com",
            "password": "correct-horse-battery",
            "password2": "correct-horse-battery",
        },
    )
    assert (login.status_code, register.status_code) == (400, 400)
    assert client.get("/user/bob").status_code == 404


def test_text_without_nul_passes(client: FlaskClient) -> None:
    assert client.get("/search?q=caf%C3%A9").status_code == 200


def test_absurdly_nested_json_is_a_bad_request(client: FlaskClient) -> None:
    nested = "[" * 10_000 + "]" * 10_000  # 20 KB, under the size limit
    response = client.post(
        "/api/posts", data=nested, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
