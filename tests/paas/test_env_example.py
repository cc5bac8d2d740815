""".env.example documents every setting; `make` turns it into a working .env."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from dotenv import dotenv_values

from microblog.config import (
    MIN_SECRET_KEY_BYTES,
    SETTINGS,
    SETTINGS_BY_NAME,
    load_config,
)
from microblog.config_values import Context
from tests.harness.paths import ROOT
from tests.harness.processes import require_program

EXAMPLE = ROOT / ".env.example"
# How an example value is read: as on a server, outside any platform.
SERVER = Context(platform=None, lenient=False, instance_path="instance")


def shown_values() -> dict[str, str]:
    """Each variable of .env.example and the value its first line shows, whether
    set or commented out."""
    pattern = re.compile(r"^#?\s?([A-Z][A-Z0-9_]*)=(.*)$", re.MULTILINE)
    shown: dict[str, str] = {}
    for name, value in pattern.findall(EXAMPLE.read_text()):
        shown.setdefault(name, value)
    return shown


def test_env_example_lists_exactly_the_settings_of_the_table() -> None:
    documented = list(shown_values())
    assert sorted(documented) == sorted(setting.name for setting in SETTINGS)


def test_env_example_shows_the_tables_defaults_and_valid_examples() -> None:
    for name, value in shown_values().items():
        setting = SETTINGS_BY_NAME[name]
        if name == "SECRET_KEY":
            assert value == ""  # `make` fills it in
        elif setting.default is not None:
            shown = setting.kind.parse(value, SERVER)
            assert shown == setting.kind.parse(setting.default, SERVER), name
        else:
            setting.kind.parse(value, SERVER)  # an example that would be accepted


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
