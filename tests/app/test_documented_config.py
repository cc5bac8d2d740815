"""docs/configuration.md's example of a bad setting, run as the page shows it."""

from __future__ import annotations

from tests.harness.docs import (
    documented_command,
    documented_output,
    run_documented,
)
from tests.harness.environment import environment
from tests.harness.paths import ROOT

PAGE = "docs/configuration.md"
EXAMPLE = "DATABASE_URL=foo://x gunicorn"


def test_bad_settings_stop_gunicorn_with_the_lines_the_page_shows() -> None:
    # As on a machine without a .env, which the page says the example assumes.
    env = environment()
    result = run_documented(documented_command(PAGE, EXAMPLE), ROOT, env)
    assert result.returncode == 1
    assert result.stderr.splitlines() == documented_output(PAGE, EXAMPLE)
    assert "Traceback" not in result.stdout + result.stderr
