"""The OpenAPI 3.1 document, generated from the views and schemas by flask-smorest."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from apispec import BasePlugin
from flask import Flask, current_app
from flask_smorest import Api

from microblog.api import bp
from microblog.api.auth import REALM
from microblog.api.schemas import ErrorSchema

API_CONFIG = {
    "API_TITLE": "microblog API",
    "API_VERSION": "1.0",
    "OPENAPI_VERSION": "3.1.0",
    # The document is served by the view below, inside the API blueprint, so
    # that it is described, rate-limited and answered like every other route.
    "OPENAPI_URL_PREFIX": None,
}
ERROR_STATUSES = (400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 503)
SECURITY_SCHEMES = {
    "basicAuth": {"type": "http", "scheme": "basic"},
    "bearerAuth": {"type": "http", "scheme": "bearer"},
}
HEADERS = {
    401: {
        "WWW-Authenticate": {
            "description": f'The scheme to use, e.g. Bearer realm="{REALM}"',
            "required": True,
            "schema": {"type": "string"},
        }
    },
    429: {
        "Retry-After": {
            "description": "Seconds to wait before trying again",
            "schema": {"type": "string"},
        }
    },
}


class CommonResponsesPlugin(BasePlugin):
    """Every operation: an operationId, and 429 from the rate limiter."""

    def operation_helper(
        self,
        path: str | None = None,
        operations: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        rule = kwargs.get("rule")
        for operation in (operations or {}).values():
            operation.setdefault("responses", {})["429"] = "TOO_MANY_REQUESTS"
            if rule is not None:
                # One view per route and method: its name is a stable, unique id.
                operation.setdefault("operationId", rule.endpoint.rpartition(".")[2])


class MicroblogApi(Api):
    """flask-smorest's Api with the project's error shape.

    Errors are answered by ``microblog.api.errors`` (and, outside views, by the
    app's handlers); this class only documents them.
    """

    ERROR_SCHEMA = ErrorSchema
    # No catch-all "default" response: every status the API answers is listed.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self) -> None:
        """Leave error handling to the app; flask-smorest's shape differs."""

    def _register_responses(self) -> None:
        for status in ERROR_STATUSES:
            content = {"application/json": {"schema": "Error"}}
            response: dict[str, Any] = {
                "description": HTTPStatus(status).phrase,
                "content": content,
            }
            if status in HEADERS:
                response["headers"] = HEADERS[status]
            self.spec.components.response(HTTPStatus(status).name, response)


def build_api(app: Flask) -> MicroblogApi:
    """An Api bound to ``app``, with the security schemes the views use."""
    for key, value in API_CONFIG.items():
        app.config.setdefault(key, value)
    api = MicroblogApi(spec_kwargs={"extra_plugins": [CommonResponsesPlugin()]})
    api.init_app(app)
    api.spec.components.schema("Error", schema=ErrorSchema)
    for name, scheme in SECURITY_SCHEMES.items():
        api.spec.components.security_scheme(name, scheme)
    return api


@bp.route("/openapi.json", methods=["GET"])
@bp.doc(
    responses={
        "200": {
            "description": "This document",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    }
)
def openapi_document() -> dict[str, Any]:
    """This API's OpenAPI 3.1 document."""
    api: MicroblogApi = current_app.extensions["flask-smorest"]["blp_name_to_api"][
        bp.name
    ]
    document: dict[str, Any] = api.spec.to_dict()
    return document
