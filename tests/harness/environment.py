"""The one environment builder for every program a test starts.

The rule: start clean and add only what is named here, never ``os.environ``
wholesale. From the test run's own environment only ``PATH`` (with the virtual
environment's ``bin`` put first, so ``gunicorn``, ``flask`` and ``honcho`` are
this checkout's) and ``HOME`` are copied; everything else is fixed here or
passed by the test. So a developer's shell (``DATABASE_URL``, ``FLASK_DEBUG``,
``DYNO``, a proxy) and the checkout's ``.env`` can never change what a test
sees: ``FLASK_SKIP_DOTENV=1`` (a test about ``.env`` itself passes
``FLASK_SKIP_DOTENV="0"``, which Flask and the app read as "load it").
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.harness.paths import VENV_BIN

INHERITED = ("PATH", "HOME")


def environment(**variables: str) -> dict[str, str]:
    """A clean environment plus ``variables`` (which win over the fixed values)."""
    env = {
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
        "HOME": os.environ.get("HOME", str(Path.home())),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "FLASK_SKIP_DOTENV": "1",
    }
    env.update(variables)
    return env
