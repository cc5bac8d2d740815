""".env.example documents every setting; `make` turns it into a working .env."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from dotenv import dotenv_values

from microblog.config import MIN_SECRET_KEY_BYTES, load_config
from tests.servers import require_program

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / ".env.example"
# Set by the platforms themselves, never by a person.
PLATFORM_VARIABLES = frozenset({"DYNO", "FLY_APP_NAME"})
# Read by gunicorn.conf.py rather than by the app.
SERVER_VARIABLES = frozenset({"WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS"})


def documented_variables() -> set[str]:
    """Names in .env.example, whether set or commented out."""
    pattern = re.compile(r"^#?\s?([A-Z][A-Z0-9_]*)=", re.MULTILINE)
    return set(pattern.findall(EXAMPLE.read_text()))


def variables_read_by_config() -> set[str]:
    """Every variable name microblog/config.py reads from the environment."""
    source = (ROOT / "microblog" / "config.py").read_text()
    names = re.findall(r'(?:env\.get\(|env, )"([A-Z][A-Z0-9_]*)"', source)
    return set(names) - PLATFORM_VARIABLES


def test_every_setting_the_app_reads_is_documented() -> None:
    read = variables_read_by_config()
    assert {"DATABASE_URL", "SECRET_KEY", "POSTS_PER_PAGE"} <= read
    assert read - documented_variables() == set()


def test_server_settings_are_documented() -> None:
    assert documented_variables() >= SERVER_VARIABLES


def test_only_the_secret_key_is_set_and_it_is_empty() -> None:
    values = dotenv_values(EXAMPLE)
    assert values == {"SECRET_KEY": ""}


def make_env(folder: Path) -> dict[str, str | None]:
    make = require_program("make", "make")
    subprocess.run(
        [make, "--no-print-directory", ".env"],
        cwd=folder,
        check=True,
        capture_output=True,
    )
    return dotenv_values(folder / ".env")


def test_make_writes_a_production_ready_env_once(tmp_path: Path) -> None:
    shutil.copy(ROOT / "Makefile", tmp_path)
    shutil.copy(EXAMPLE, tmp_path)

    first = make_env(tmp_path)
    key = first["SECRET_KEY"]
    assert key and len(key) >= MIN_SECRET_KEY_BYTES
    assert (tmp_path / ".env").stat().st_mode & 0o077 == 0
    # Production mode (no FLASK_DEBUG) accepts the generated file as it is.
    settings = {name: value for name, value in first.items() if value is not None}
    assert load_config(settings, str(tmp_path))["SECRET_KEY"] == key

    # A second run keeps the machine's key: sessions survive.
    assert make_env(tmp_path)["SECRET_KEY"] == key


def test_each_env_gets_its_own_key(tmp_path: Path) -> None:
    keys = set()
    for name in ("one", "two"):
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy(ROOT / "Makefile", folder)
        shutil.copy(EXAMPLE, folder)
        keys.add(make_env(folder)["SECRET_KEY"])
    assert len(keys) == 2
