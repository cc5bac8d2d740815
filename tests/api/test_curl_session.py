"""docs/api.md's session with curl, run as written against a real gunicorn."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.harness.docs import (
    documented_output,
    documented_session,
    run_documented,
)
from tests.harness.environment import environment
from tests.harness.paths import ROOT
from tests.harness.processes import require_program
from tests.paas.support import run_gunicorn, secret_key

PAGE = "docs/api.md"
# secrets.token_urlsafe(32), what POST /api/tokens hands out.
TOKEN_LINE = re.compile(r"^[A-Za-z0-9_-]{43}$", re.MULTILINE)


def test_the_curl_session_runs_as_written_on_an_empty_database(
    tmp_path: Path,
) -> None:
    require_program("curl", "curl")
    database = f"sqlite:///{tmp_path / 'app.sqlite'}"
    release = environment(DATABASE_URL=database, SECRET_KEY=secret_key())
    subprocess.run(
        ["bin/release"], cwd=ROOT, env=release, check=True, capture_output=True
    )
    with run_gunicorn(tmp_path, DATABASE_URL=database) as server:
        session = documented_session(PAGE, "B=http://127.0.0.1:")
        result = run_documented(session, tmp_path, environment(PORT=str(server.port)))

    assert result.returncode == 0, result.stderr
    shown = result.stdout
    # The answers the page shows: the user and the post created, both with the
    # ids of an empty database; the token; the timeline; the revoked token.
    assert shown.count("HTTP/1.1 201 CREATED") == 2
    assert "Location: /api/users/1\n" in shown
    assert "Location: /api/posts/1\n" in shown
    assert TOKEN_LINE.search(shown)
    assert '"_meta":{"has_next":false,"page":1,"per_page":10}' in shown
    assert '"body":"Hello from curl!"' in shown
    revoked = documented_output(PAGE, "curl $B/api/posts -H")
    assert shown.splitlines()[-1:] == revoked
