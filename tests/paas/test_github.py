"""What a team expects on GitHub: the CI workflow, Dependabot, licence and policy."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from tests.harness.paths import ROOT, VENV_BIN
from tests.harness.processes import skip_or_fail
from tests.paas.buildah import DEBIAN_SUITE

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
DEPENDABOT = ROOT / ".github" / "dependabot.yml"
# owner/repo@<full commit> # v<version>: a tag can be moved, a commit cannot;
# the comment tells readers (and Dependabot) which release the commit is.
PINNED_ACTION = re.compile(
    r"uses: [\w.-]+/[\w.-]+(?:/[\w./-]+)?@[0-9a-f]{40} # v\d+\.\d+\.\d+$"
)
ECOSYSTEM_FILES = {
    "pip": "requirements.txt",
    "docker": "Dockerfile",
    "github-actions": ".github/workflows/ci.yml",
}


def load_yaml(path: Path) -> Any:
    return YAML(typ="safe").load(path)


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def actionlint() -> str:
    program = VENV_BIN / "actionlint"
    if not program.exists():
        skip_or_fail("actionlint not installed (make .venv/.installed-dev installs it)")
    return str(program)


def test_actionlint_finds_nothing_in_the_workflows() -> None:
    # With shellcheck on PATH, actionlint checks the `run:` scripts too.
    result = run([actionlint(), "-no-color"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_actionlint_reports_a_script_injection(tmp_path: Path) -> None:
    """The linter really reads workflows: a classic mistake fails it."""
    workflow = tmp_path / "bad.yml"
    workflow.write_text(
        "on: push\n"
        "jobs:\n"
        "  echo:\n"
        "    runs-on: ubuntu-24.04\n"
        "    steps:\n"
        "      - run: echo ${{ github.event.head_commit.message }}\n"
    )
    result = run([actionlint(), "-no-color", str(workflow)])
    assert result.returncode == 1
    assert "potentially untrusted" in result.stdout


def test_workflow_and_dependabot_match_their_published_schemas() -> None:
    """check-jsonschema ships SchemaStore's schemas for both: no network needed."""
    for schema, path in (
        ("vendor.github-workflows", WORKFLOW),
        ("vendor.dependabot", DEPENDABOT),
    ):
        checker = str(VENV_BIN / "check-jsonschema")
        result = run([checker, "--builtin-schema", schema, str(path)])
        assert result.returncode == 0, result.stdout + result.stderr


def test_workflow_runs_ci_run_on_a_hosted_runner_with_least_privilege() -> None:
    workflow = load_yaml(WORKFLOW)
    assert workflow["permissions"] == {"contents": "read"}
    assert set(workflow["on"]) >= {"push", "pull_request"}
    (job,) = workflow["jobs"].values()
    assert job["runs-on"] == "ubuntu-24.04"
    assert 0 < job["timeout-minutes"] <= 120
    # The same Debian release as the image's stand-in base and the Dockerfile.
    assert job["container"]["image"] == f"debian:{DEBIAN_SUITE}"
    steps = job["steps"]
    assert steps[-1]["run"] == ".ci/run"
    checkout = next(
        s for s in steps if s.get("uses", "").startswith("actions/checkout")
    )
    # The job's token stays out of .git/config, where the tests could read it.
    assert checkout["with"]["persist-credentials"] is False


def test_every_action_is_pinned_to_a_commit_with_its_version() -> None:
    lines = [line.strip().lstrip("- ") for line in WORKFLOW.read_text().splitlines()]
    uses = [line for line in lines if line.startswith("uses:")]
    assert uses
    for line in uses:
        assert PINNED_ACTION.match(line), line


def test_dependabot_watches_pip_docker_and_actions_where_their_files_are() -> None:
    config = load_yaml(DEPENDABOT)
    assert config["version"] == 2
    updates = {entry["package-ecosystem"]: entry for entry in config["updates"]}
    assert set(updates) == set(ECOSYSTEM_FILES)
    for ecosystem, path in ECOSYSTEM_FILES.items():
        entry = updates[ecosystem]
        assert entry["schedule"]["interval"] in {"daily", "weekly"}
        directory = entry["directory"].strip("/")
        if ecosystem != "github-actions":  # it always looks in .github/workflows
            assert (ROOT / directory / path).exists(), ecosystem
    # The base image's Python minor version follows .python-version by hand.
    (ignored,) = updates["docker"]["ignore"]
    assert ignored["dependency-name"] == "python"
    assert "version-update:semver-minor" in ignored["update-types"]


def test_licence_is_mit_for_the_contributors() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert "Copyright (c) 2026 microblog contributors" in text
    assert "Permission is hereby granted, free of charge" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND' in text


def test_security_policy_says_how_to_report_privately() -> None:
    text = (ROOT / "SECURITY.md").read_text()
    headings = re.findall(r"^## (.+)$", text, re.MULTILINE)
    for heading in ("Supported versions", "Reporting a vulnerability"):
        assert heading in headings
    assert "Report a vulnerability" in text  # the button's label on GitHub
    assert "never in a public issue" in text
    assert re.search(r"\*\*\d+ working days\*\*", text)
