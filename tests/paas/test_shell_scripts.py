"""Every shell script in the repository is strict, executable and shellcheck clean."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.harness.paths import ROOT
from tests.harness.processes import require_program

SKIPPED_DIRS = frozenset({".git", ".venv", "venv", "node_modules", "instance"})
SHELLS = ("sh", "bash", "dash")


def is_shell_script(path: Path) -> bool:
    """True for ``*.sh`` files and files whose first line runs a shell."""
    if path.suffix == ".sh":
        return True
    try:
        with path.open("rb") as file:
            first_line = file.readline(200).decode(errors="replace").strip()
    except OSError:
        return False
    if not first_line.startswith("#!"):
        return False
    words = first_line[2:].split()
    interpreter = words[1] if words and words[0].endswith("/env") else words[0]
    return Path(interpreter).name in SHELLS


def shell_scripts() -> list[Path]:
    """The repository's shell scripts, outside virtual environments and caches."""
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [name for name in dirs if name not in SKIPPED_DIRS]
        found += [Path(folder, name) for name in files]
    return sorted(path for path in found if path.is_file() and is_shell_script(path))


SCRIPTS = shell_scripts()


def test_the_ci_script_is_found() -> None:
    assert ROOT / ".ci" / "run" in SCRIPTS


@pytest.mark.parametrize(
    "script", SCRIPTS, ids=lambda path: str(path.relative_to(ROOT))
)
def test_script_is_strict_and_executable(script: Path) -> None:
    text = script.read_text()
    head = [line.strip() for line in text.splitlines()[:30]]
    assert "set -euo pipefail" in head, f"{script.name} lacks set -euo pipefail"
    if text.startswith("#!"):
        assert os.access(script, os.X_OK), f"{script.name} is not executable"


@pytest.mark.parametrize(
    "script", SCRIPTS, ids=lambda path: str(path.relative_to(ROOT))
)
def test_script_passes_shellcheck(script: Path) -> None:
    shellcheck = require_program("shellcheck", "shellcheck")
    result = subprocess.run(
        [shellcheck, "--external-sources", str(script)],
        capture_output=True,
        text=True,
        check=False,
        cwd=script.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr
