"""The real app plus two test-only routes, for tests that drive real gunicorn.

``gunicorn 'tests.paas.wsgi_with_test_routes:build()'``: the app itself never
gets a slow route.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

from microblog import create_app

# The slow request gives up on its own if a test never releases it.
GATE_LIMIT_SECONDS = 30


def build() -> Flask:
    """The app as gunicorn serves it, with ``/_test/slow`` and ``/_test/whoami``."""
    app = create_app()
    gate = Path(os.environ["PAAS_TEST_GATE"])

    @app.get("/_test/slow")
    def slow() -> ResponseReturnValue:
        """Signal that the request is in flight, then wait for the test's go."""
        (gate / "started").touch()
        deadline = time.monotonic() + GATE_LIMIT_SECONDS
        while not (gate / "release").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return "finished\n"

    @app.get("/_test/whoami")
    def whoami() -> ResponseReturnValue:
        """What the app believes about the client after any ProxyFix."""
        return jsonify(
            remote_addr=request.remote_addr,
            scheme=request.scheme,
            host=request.host,
            script_root=request.script_root,
        )

    return app
