"""Run ``flask db upgrade`` the moment a shared start file appears.

Three copies of this script load the app, say so on stdout, then wait for the
test to create the start file, so that their migrations race within
milliseconds of each other instead of a second apart.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from flask.cli import main

START_WAIT_SECONDS = 60.0


def wait_for(start_file: Path) -> None:
    deadline = time.monotonic() + START_WAIT_SECONDS
    while not start_file.exists():
        if time.monotonic() > deadline:
            sys.exit(f"{start_file} never appeared")
        time.sleep(0.001)


if __name__ == "__main__":
    import microblog  # noqa: F401  (import before the start, not after it)

    start_file = Path(sys.argv[1])
    print("loaded", flush=True)
    wait_for(start_file)
    sys.argv = ["flask", "--app", "microblog", "db", "upgrade"]
    main()
