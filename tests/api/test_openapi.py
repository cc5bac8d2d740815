"""The OpenAPI document describes exactly the routes under /api."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask

from microblog import create_app
from tests.harness.flask_app import app_config

IGNORED_METHODS = {"HEAD", "OPTIONS"}
ERROR_STATUSES = {"400", "401", "403", "404", "409", "413", "415", "422", "429", "503"}


@pytest.fixture(scope="module")
def api_app() -> Flask:
    """An app whose routes and document are read; no database is touched."""
    return create_app(app_config("sqlite://"))


@pytest.fixture(scope="module")
def document(api_app: Flask) -> dict[str, Any]:
    response = api_app.test_client().get("/api/openapi.json")
    assert response.status_code == 200
    assert response.is_json
    return response.get_json()


def routes_under_api(app: Flask) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for rule in app.url_map.iter_rules():
        if not (rule.rule == "/api" or rule.rule.startswith("/api/")):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in (rule.methods or set()) - IGNORED_METHODS:
            found.add((path, method.lower()))
    return found


def documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (path, method)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "put", "post", "delete", "patch"}
    }


def test_document_is_openapi_3_1(document):
    assert document["openapi"].startswith("3.1.")
    assert document["info"]["title"] == "microblog API"


def test_every_api_route_is_documented_and_nothing_more(api_app, document):
    routes = routes_under_api(api_app)
    assert routes, "no API routes found"
    assert routes == documented(document)


def test_every_operation_documents_rate_limiting_and_its_auth(document):
    for path, method in documented(document):
        operation = document["paths"][path][method]
        responses = operation["responses"]
        assert "429" in responses, (path, method)
        assert "default" not in responses, (path, method)
        if operation.get("security"):
            assert "401" in responses, (path, method)


def test_401_response_promises_a_challenge_header(document):
    unauthorized = document["components"]["responses"]["UNAUTHORIZED"]
    assert unauthorized["headers"]["WWW-Authenticate"]["required"] is True


def test_all_error_statuses_share_the_error_schema(document):
    responses = document["components"]["responses"]
    used = {
        status
        for path, method in documented(document)
        for status in document["paths"][path][method]["responses"]
        if status in ERROR_STATUSES
    }
    assert used == ERROR_STATUSES
    error = document["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "message"}
    for response in responses.values():
        schema = response["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Error"}


def test_request_bodies_are_json_and_validated(document):
    for path, method in documented(document):
        operation = document["paths"][path][method]
        if "requestBody" in operation:
            assert set(operation["requestBody"]["content"]) == {"application/json"}
            for status in ("400", "413", "415", "422"):
                assert status in operation["responses"], (path, method, status)


def test_security_schemes_are_basic_and_bearer(document):
    schemes = document["components"]["securitySchemes"]
    assert schemes == {
        "basicAuth": {"type": "http", "scheme": "basic"},
        "bearerAuth": {"type": "http", "scheme": "bearer"},
    }
    tokens = document["paths"]["/api/tokens"]
    assert tokens["post"]["security"] == [{"basicAuth": []}]
    assert tokens["delete"]["security"] == [{"bearerAuth": []}]
    assert "security" not in document["paths"]["/api/users"]["post"]


def test_the_document_can_be_written_without_a_server(api_app, document):
    result = api_app.test_cli_runner().invoke(args=["openapi", "print"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == document
