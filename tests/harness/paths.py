"""Where things are: the repository root and the folders the tests read."""

from __future__ import annotations

import sys
from pathlib import Path

# The one name for the repository root in the test suite.
ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
# The platforms' published schemas, kept unmodified beside the tests.
SCHEMAS = ROOT / "tests" / "schemas"
# The virtual environment's programs (gunicorn, flask, honcho), whatever PATH says.
VENV_BIN = Path(sys.executable).parent
