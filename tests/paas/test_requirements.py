"""The locked, hashed requirements: what `make requirements` writes and pip installs.

The .in files list the direct dependencies with their lowest acceptable
versions; the .txt files pin every package with the hashes of all its files on
PyPI. Heroku, the Dockerfile, the own-server scripts and `make` install the
.txt files with ``--require-hashes``.

Whether a .txt file still agrees with its .in file is checked twice: offline,
every direct requirement must be pinned inside its range; and with PyPI
reachable (as in CI, which installs from it anyway), `make requirements` run
on a copy must reproduce the committed files byte for byte. The resolver keeps
existing pins, so a new release on PyPI does not fail the check; a dependency
added to an .in file without recompiling does.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from microblog.ops.deploy_check import SECURITY_FLOORS
from tests.harness.docs import documented_command, run_documented
from tests.harness.paths import ROOT, VENV_BIN
from tests.harness.processes import require_program, run_program, skip_or_fail

LOCKS = {
    "requirements.in": "requirements.txt",
    "requirements-dev.in": "requirements-dev.txt",
}
# What `make requirements` reads and writes.
COMPILE_INPUTS = ("Makefile", ".python-version", *LOCKS, *LOCKS.values())
HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")
# A TLS-inspecting proxy's CA, a package mirror: settings a reader's shell has.
NETWORK_SETTINGS = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "PIP_CERT",
    "PIP_INDEX_URL",
    "UV_INDEX_URL",
    "UV_DEFAULT_INDEX",
)
# uv's words when it cannot reach the index.
UNREACHABLE = ("dns error", "Failed to fetch", "error sending request", "timed out")
INSTALL_TIMEOUT = 900
# The own server's platforms besides the x86_64 Python 3.11 of the image and
# Heroku, and the Pi on Debian 13 (the docs' command): Debian 13 (Python 3.13)
# on amd64, Debian 12 (3.11) on a Pi.
SERVER_PLATFORMS = [("x86_64", "3.13"), ("aarch64", "3.11")]


@dataclass(frozen=True)
class Pin:
    requirement: Requirement
    hashes: frozenset[str]

    @property
    def version(self) -> Version:
        (specifier,) = self.requirement.specifier
        return Version(specifier.version)


def logical_lines(path: Path) -> list[str]:
    """The file's lines with continuations joined and comments dropped."""
    joined = path.read_text().replace("\\\n", " ")
    lines = (line.split("#", 1)[0].strip() for line in joined.splitlines())
    return [line for line in lines if line]


def direct_requirements(name: str) -> dict[str, Requirement]:
    """The requirements an .in file names itself (not its -r/-c includes)."""
    requirements: dict[str, Requirement] = {}
    for line in logical_lines(ROOT / name):
        if not line.startswith("-"):
            requirement = Requirement(line)
            requirements[canonicalize_name(requirement.name)] = requirement
    return requirements


def pins(name: str) -> dict[str, list[Pin]]:
    """Every pin of a .txt file; a package may have one per Python-version range."""
    found: dict[str, list[Pin]] = {}
    for line in logical_lines(ROOT / name):
        requirement = Requirement(HASH.sub("", line))
        pin = Pin(requirement, frozenset(HASH.findall(line)))
        found.setdefault(canonicalize_name(requirement.name), []).append(pin)
    return found


@pytest.mark.parametrize("lock", LOCKS.values())
def test_every_line_is_an_exact_pin_with_hashes(lock: str) -> None:
    for name, versions in pins(lock).items():
        for pin in versions:
            (specifier,) = pin.requirement.specifier
            assert specifier.operator == "==", f"{lock}: {name} is not pinned"
            assert pin.hashes, f"{lock}: {name} has no hash"


@pytest.mark.parametrize(("source", "lock"), LOCKS.items())
def test_every_direct_requirement_is_pinned_within_its_range(
    source: str, lock: str
) -> None:
    locked = pins(lock)
    for name, requirement in direct_requirements(source).items():
        if name not in locked:
            pytest.fail(f"{name} is in {source} but not in {lock}")
        for pin in locked[name]:
            assert requirement.specifier.contains(pin.version, prereleases=True), (
                f"{lock} pins {name} {pin.version}, outside {requirement.specifier}"
            )


def test_security_floors_are_declared_and_met() -> None:
    declared = direct_requirements("requirements.in")
    locked = pins("requirements.txt")
    for package, floor in SECURITY_FLOORS.items():
        name = canonicalize_name(package)
        lowest = [
            Version(clause.version)
            for clause in declared[name].specifier
            if clause.operator == ">="
        ]
        assert lowest and max(lowest) >= Version(floor), (
            f"requirements.in must say {package}>={floor}"
        )
        assert all(pin.version >= Version(floor) for pin in locked[name])
    assert declared["sqlalchemy"].specifier.contains("2.9")
    assert not declared["sqlalchemy"].specifier.contains("3.0")


def test_development_locks_repeat_the_runtime_pins_unchanged() -> None:
    runtime = pins("requirements.txt")
    development = pins("requirements-dev.txt")
    for name, versions in runtime.items():
        assert development.get(name) == versions, name


def test_heroku_sees_only_requirements_txt() -> None:
    """pyproject.toml holds tool settings only: no dependency list, no uv lock."""
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert "dependencies" not in pyproject
    for other in ("uv.lock", "poetry.lock", "Pipfile", "Pipfile.lock"):
        assert not (ROOT / other).exists(), other


def documented_environment(tmp_path: Path) -> dict[str, str]:
    """A reader's shell: this venv's programs first on PATH, HOME for the caches,
    the machine's TLS and index settings; and a private TMPDIR."""
    path = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', os.defpath)}"
    env = {"PATH": path, "HOME": os.environ.get("HOME", "/root")}
    env.update({key: os.environ[key] for key in NETWORK_SETTINGS if key in os.environ})
    env["TMPDIR"] = str(tmp_path)
    return env


def test_make_requirements_reproduces_the_committed_files(tmp_path: Path) -> None:
    require_program("make", "make")
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in COMPILE_INPUTS:
        shutil.copy2(ROOT / name, copy / name)
    (copy / ".venv").symlink_to(VENV_BIN.parent)
    command = documented_command("README.md", "make requirements")
    result = run_documented(command, copy, documented_environment(tmp_path), 300)
    if result.returncode != 0 and any(w in result.stderr for w in UNREACHABLE):
        skip_or_fail(f"PyPI is not reachable: {result.stderr.strip()[-300:]}")
    assert result.returncode == 0, result.stdout + result.stderr
    for lock in LOCKS.values():
        assert (copy / lock).read_text() == (ROOT / lock).read_text(), (
            f"{lock} disagrees with its .in file: run `make requirements`"
        )


def pip(venv: Path, *args: str, timeout: float = INSTALL_TIMEOUT) -> str:
    """Run the venv's pip; fail with its output, skip when PyPI is unreachable."""
    command = [str(venv / "bin" / "python"), "-m", "pip", *args]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False
    )
    output = result.stdout + result.stderr
    if result.returncode != 0 and "NewConnectionError" in output:
        skip_or_fail(f"PyPI is not reachable: {output.strip()[-300:]}")
    assert result.returncode == 0, output[-6000:]
    return output


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("hashed") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    return venv


@pytest.mark.slow
def test_hashed_requirements_install_into_a_fresh_venv(
    fresh_venv: Path, record_property: Callable[[str, object], None]
) -> None:
    """The install every platform runs, with pip's usual cache."""
    started = time.monotonic()
    pip(fresh_venv, "install", "--quiet", "--require-hashes", "-r", "requirements.txt")
    seconds = time.monotonic() - started
    record_property("install_seconds", round(seconds, 1))
    sys.stderr.write(f"pip install --require-hashes: {seconds:.1f} s\n")
    pip(fresh_venv, "check")
    # The installed app starts its factory (config from the environment only).
    env = {"PATH": os.environ["PATH"], "SECRET_KEY": "x" * 64}
    probe = run_program(
        [
            str(fresh_venv / "bin/python"),
            "-c",
            "import microblog; microblog.create_app()",
        ],
        env,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr


def downloaded_packages(folder: Path) -> set[str]:
    return {canonicalize_name(path.name.split("-")[0]) for path in folder.iterdir()}


def expected_packages() -> set[str]:
    # async-timeout is only for Pythons older than 3.11.3.
    return set(pins("requirements.txt")) - {"async-timeout"}


@pytest.mark.slow
def test_the_pi_check_of_the_docs_finds_every_wheel_and_hash(tmp_path: Path) -> None:
    """The own-server page's command: aarch64 wheels for Debian 13's Python."""
    command = documented_command("docs/own-server.md", "pip download")
    result = run_documented(command, ROOT, documented_environment(tmp_path), 900)
    output = result.stdout + result.stderr
    if result.returncode != 0 and "NewConnectionError" in output:
        skip_or_fail(f"PyPI is not reachable: {output.strip()[-300:]}")
    assert result.returncode == 0, output[-6000:]
    (folder,) = tmp_path.iterdir()  # what mktemp -d made
    assert downloaded_packages(folder) >= expected_packages()


@pytest.mark.slow
@pytest.mark.parametrize(("machine", "python"), SERVER_PLATFORMS)
def test_hashes_cover_the_other_servers_wheels(
    fresh_venv: Path, machine: str, python: str, tmp_path: Path
) -> None:
    """Every pin has a wheel for the server's platform, and its hash is in the file."""
    pip(
        fresh_venv,
        "download",
        "--quiet",
        "--require-hashes",
        "--only-binary=:all:",
        f"--platform=manylinux_2_28_{machine}",
        f"--platform=manylinux2014_{machine}",
        f"--python-version={python}",
        "--dest",
        str(tmp_path),
        "-r",
        str(ROOT / "requirements.txt"),
    )
    assert downloaded_packages(tmp_path) >= expected_packages()
