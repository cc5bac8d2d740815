"""The database side of a run: schema, translations and the seeded data set."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from microblog import PROJECT_ROOT

# Settings that would make the run unlike production, or aim it elsewhere.
NOT_PASSED_ON = frozenset({"FLASK_DEBUG", "PORT", "DATABASE_URL", "SECRET_KEY"})


class CommandFailed(RuntimeError):
    """A ``flask`` command failed; the message carries its output."""


def app_environment(database_url: str) -> dict[str, str]:
    """Production settings for the app (and for hello-world's gunicorn)."""
    env = {k: v for k, v in os.environ.items() if k not in NOT_PASSED_ON}
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=secrets.token_hex(32),
        # A developer's .env must not change what is measured.
        FLASK_SKIP_DOTENV="1",
    )
    return env


def flask(env: dict[str, str], *args: str) -> str:
    """Run ``flask --app microblog ARGS`` as a deployment would; return its output."""
    finished = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "microblog", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if finished.returncode != 0:
        output = (finished.stdout + finished.stderr)[-3000:]
        raise CommandFailed(f"flask {' '.join(args)} failed:\n{output}")
    return finished.stdout


def prepare(env: dict[str, str]) -> None:
    """Compile translations and migrate, as a release step does."""
    flask(env, "translate", "compile")
    flask(env, "db", "upgrade")


def seed(env: dict[str, str], users: int, follows: int, posts: int) -> str:
    """Seed (or grow) the demo data set; return the command's summary line."""
    output = flask(
        env,
        "seed",
        "--users",
        str(users),
        "--follows",
        str(follows),
        "--posts",
        str(posts),
    )
    return output.strip().splitlines()[-1]
