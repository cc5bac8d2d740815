"""A copy of the repository as a fresh clone holds it, for tests that build,
serve or run a documented command in one without touching this checkout."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.harness.paths import ROOT

# What a clone does not have: local state (virtual environments, databases,
# .env, caches, results) and build output (compiled catalogs, gzip copies).
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "venv",
    "instance",
    ".env",
    "__pycache__",
    "*_cache",
    "node_modules",
    "bench-results",
    "*.mo",
    "*.gz",
)


def copy_checkout(destination: Path) -> Path:
    """Copy the repository's sources to ``destination`` (which must not exist)."""
    shutil.copytree(ROOT, destination, ignore=NOT_IN_A_CLONE)
    return destination


def checkout_with_venv(folder: Path) -> Path:
    """A copy in ``folder``/checkout that lends this checkout's installed .venv.

    Its stamp files are newer than the requirements, so ``make`` installs
    nothing, and a command that writes files writes them in the copy.
    """
    copy = copy_checkout(folder / "checkout")
    (copy / ".venv").symlink_to(ROOT / ".venv")
    return copy
