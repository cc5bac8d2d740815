"""docs/api.md's `flask openapi write`, run as written in a fresh checkout."""

from __future__ import annotations

import json
from pathlib import Path

from tests.harness.checkout import checkout_with_venv
from tests.harness.docs import documented_command, run_documented
from tests.harness.environment import environment
from tests.paas.support import secret_key

PAGE = "docs/api.md"


def test_openapi_write_saves_the_document_without_a_server(tmp_path: Path) -> None:
    checkout = checkout_with_venv(tmp_path)
    command = documented_command(PAGE, "flask --app microblog openapi write")
    # What `make run` put in .env: a real key, as the app demands outside debug.
    result = run_documented(command, checkout, environment(SECRET_KEY=secret_key()))

    assert result.returncode == 0, result.stderr
    document = json.loads((checkout / "openapi.json").read_text())
    assert document["openapi"].startswith("3.1")
    assert {"/api/tokens", "/api/users", "/api/posts"} <= set(document["paths"])
