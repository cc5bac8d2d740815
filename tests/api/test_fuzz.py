"""schemathesis fuzzes the API from its own OpenAPI document.

A real gunicorn serves the app on a throwaway PostgreSQL database. Every
operation gets a bounded number of generated requests, valid and invalid, sent
with real credentials; then a stateful run follows the document's links
(register, post, read back). Each response must not be a server error, must
have a documented status, content type and headers, and must match its schema;
an invalid request must be refused with a 4xx.
"""

from __future__ import annotations

import base64
import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Flaky
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from microblog import create_app
from microblog.api.tokens_store import issue_token
from microblog.config import normalise_database_url
from microblog.extensions import db
from microblog.models import User
from tests.harness.app_server import AppServer, run_flask
from tests.harness.environment import environment
from tests.harness.flask_app import app_config

pytestmark = pytest.mark.slow

PASSWORD = "fuzzing-password-1"
# Bounded: about a minute on two shared cores.
EXAMPLES_PER_OPERATION = 20
STATEFUL_RUNS = 15
STATEFUL_STEPS = 8
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Invalid requests must also be refused with a 4xx.
NEGATIVE_CHECKS = [*CHECKS, negative_data_rejection]


@dataclass
class LiveApi:
    """gunicorn serving the app, plus a way to mint tokens for its users."""

    base_url: str
    database_url: str
    user_ids: dict[str, int] = field(default_factory=dict)
    cases: dict[str, int] = field(default_factory=dict)
    _app: Any = None

    def user(self, name: str) -> User:
        """The seeded user (by id: fuzzed PUTs may rename it)."""
        user = db.session.get(User, self.user_ids[name])
        assert user is not None
        return user

    def token(self, name: str) -> str:
        with self.app_context():
            secret, _ = issue_token(self.user(name))
        return secret

    def basic(self, name: str) -> str:
        with self.app_context():
            username = self.user(name).username
        pair = base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()
        return f"Basic {pair}"

    def app_context(self) -> Any:
        if self._app is None:
            self._app = create_app(app_config(self.database_url))
        return self._app.app_context()

    def close(self) -> None:
        if self._app is not None:
            with self._app.app_context():
                db.engine.dispose()


@pytest.fixture(scope="module")
def live_api(postgres: Any) -> Iterator[LiveApi]:
    """A migrated PostgreSQL database served by gunicorn on a free loopback port."""
    database_url = postgres.new_database()
    env = environment(
        DATABASE_URL=database_url,
        SECRET_KEY=secrets.token_hex(32),
        LOG_LEVEL="WARNING",
        # Fuzzing must reach the views, not the limiter's 429 after a few
        # requests; the limits have their own tests (tests/api/test_limits.py).
        RATELIMIT_ENABLED="false",
    )
    run_flask(env, "db", "upgrade")
    options = ["--workers", "2", "--graceful-timeout", "2"]
    server = AppServer(env, config=None, options=options)
    try:
        server.start()
        api = LiveApi(server.url, normalise_database_url(database_url))
        seed_users(api)
        yield api
        api.close()
    finally:
        print(server.log_tail())
        server.close()


def seed_users(api: LiveApi) -> None:
    """Two users through the API itself, one following the other, with posts."""
    for name in ("fuzzer", "friend"):
        body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
        response = requests.post(f"{api.base_url}/api/users", json=body, timeout=10)
        assert response.status_code == 201, response.text
        api.user_ids[name] = response.json()["id"]
    headers = {"Authorization": f"Bearer {api.token('friend')}"}
    for number in range(3):
        requests.post(
            f"{api.base_url}/api/posts",
            json={"body": f"seed {number}"},
            headers=headers,
            timeout=10,
        ).raise_for_status()


def auth_headers(api: LiveApi, case: Any) -> dict[str, str]:
    """Credentials the operation's security scheme asks for: Basic or a fresh token."""
    security = case.operation.definition.raw.get("security") or []
    schemes = {name for requirement in security for name in requirement}
    if "basicAuth" in schemes:
        return {"Authorization": api.basic("fuzzer")}
    if "bearerAuth" in schemes:
        # A fresh token per request: DELETE /api/tokens revokes the one it used.
        return {"Authorization": f"Bearer {api.token('fuzzer')}"}
    return {}


FUZZ_CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {
            # Credentials come from auth_headers(): real ones, never generated.
            "with-security-parameters": False,
            # Undeclared query parameters are ignored (as cache busters like
            # ?_=123 expect), so adding one does not make a request invalid.
            "allow-extra-parameters": False,
        }
    }
)
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


STATEFUL_SETTINGS = settings(
    max_examples=STATEFUL_RUNS,
    stateful_step_count=STATEFUL_STEPS,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def schema(live_api: LiveApi) -> Any:
    """The document as the live server serves it.

    Loaded from the fetched JSON rather than with ``from_url``, which leaves
    out the operation that serves the document; here it is fuzzed like the rest.
    """
    url = f"{live_api.base_url}/api/openapi.json"
    document = requests.get(url, timeout=10).json()
    return schemathesis.openapi.from_dict(document, config=FUZZ_CONFIG)


def has_inputs(operation: Any) -> bool:
    return bool(list(operation.iter_parameters()) or len(operation.body))


def fuzz_operation(api: LiveApi, operation: Any, mode: GenerationMode) -> None:
    key = f"{operation.label} ({mode.value})"

    @given(case=operation.as_strategy(generation_mode=mode))
    @FUZZ_SETTINGS
    def run(case: Any) -> None:
        api.cases[key] = api.cases.get(key, 0) + 1
        case.call_and_validate(
            base_url=api.base_url,
            headers=auth_headers(api, case),
            checks=CHECKS if mode == GenerationMode.POSITIVE else NEGATIVE_CHECKS,
        )

    run()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_survives_fuzzing(live_api, schema, mode, record_property):
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(
        [
            m
            for item in schema.raw_schema["paths"].values()
            for m in item
            if m != "parameters"
        ]
    )
    failures = []
    for operation in operations:
        if mode == GenerationMode.NEGATIVE and not has_inputs(operation):
            continue  # nothing to make invalid (the document itself)
        try:
            fuzz_operation(live_api, operation, mode)
        except Exception as error:  # gather every operation's failures, then report
            failures.append(f"{operation.label}: {error}")
    ran = {key: count for key, count in live_api.cases.items() if mode.value in key}
    record_property("schemathesis_cases", sum(ran.values()))
    print(f"schemathesis ran {sum(ran.values())} {mode.value} cases: {ran}")
    assert not failures, "\n\n".join(failures)


def test_linked_workflows_survive_fuzzing(live_api, schema, record_property):
    """Follow the document's links: create, then read, list and edit what was made."""
    api = live_api
    steps: list[str] = []
    failures: list[str] = []

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": api.base_url, "headers": auth_headers(api, case)}

        def after_call(self, response: Any, case: Any) -> None:
            steps.append(f"{case.operation.label} -> {response.status_code}")

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            # Recorded, not raised: a raise makes hypothesis replay the scenario,
            # and a server that kept the first run's data answers differently.
            try:
                case.validate_response(response, checks=CHECKS)
            except FailureGroup as group:
                failures.append(f"{case.operation.label}: {group}")

    # Hypothesis replays choice sequences; against a live server whose data grew
    # meanwhile a replay can draw differently. That is no API failure
    # (schemathesis' own runner treats it the same way); failures were recorded
    # above as they happened.
    with contextlib.suppress(Flaky):
        Workflow.run(settings=STATEFUL_SETTINGS)
    linked = [step for step in steps if "{" in step and "-> 2" in step]
    record_property("schemathesis_cases", len(steps))
    print(f"schemathesis stateful: {len(steps)} calls, {len(linked)} linked 2xx")
    assert not failures, "\n\n".join(failures)
    assert linked, steps
