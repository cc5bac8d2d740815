"""Build and run the Docker image without a container engine: buildah + debootstrap.

No registry is reachable, so the base image is a stand-in for
``python:3.11-slim-bookworm`` made from Debian's own packages (Debian 12's
Python 3.11 in /usr/bin instead of the official image's /usr/local build). Like
the official image, it has pip, setuptools and wheel installed by pip itself
(so that pip can uninstall them), and no compiler. It proves that the
Dockerfile's steps, the entrypoint and the CMD work.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from tests.harness.processes import require_program, run_checked, skip_or_fail

DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
STANDIN_PACKAGES = "python3,python3-pip,python3-venv,ca-certificates"
# What the official image installs with pip (its 3.11 variants); Debian's own
# copies are purged afterwards, as the official image has none.
STANDIN_PIP_PACKAGES = ("pip", "setuptools==79.0.1", "wheel<0.46")
DEBIAN_PIP_PACKAGES = ("python3-pip", "python3-setuptools", "python3-wheel")
# Bump when the recipe changes: a cached tarball of an older recipe is not reused.
STANDIN_RECIPE = "pip-by-pip"
BUILD_TIMEOUT = 900
# overlay shares layers between images and containers (seconds); vfs copies
# every layer in full (minutes) but works on any file system.
STORAGE_DRIVERS = ("overlay", "vfs")
# pip settings of this machine that the build inside the image needs too (a
# TLS-inspecting proxy's CA, a mirror); paths to local wheel folders are not.
FORWARDED_PIP_SETTINGS = ("PIP_CERT", "PIP_INDEX_URL", "PIP_DEFAULT_TIMEOUT")

# buildah prints sizes in decimal units (go-units' HumanSize).
SIZE_UNITS = {"B": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9}

STANDIN_CONTAINERFILE = """\
FROM scratch
ADD rootfs.tar /
ENV LANG=C.UTF-8
{extra_env}CMD ["python3"]
"""


def require_root_tools() -> tuple[str, str]:
    """buildah and debootstrap, run as root (vfs storage and debootstrap need it)."""
    buildah = require_program("buildah", "buildah")
    debootstrap = require_program("debootstrap", "debootstrap")
    if os.geteuid() != 0:
        skip_or_fail("building the image with buildah and debootstrap needs root")
    return buildah, debootstrap


def run(command: list[str], timeout: float = BUILD_TIMEOUT, **popen: Any) -> str:
    """Run a build step; AssertionError with its output when it fails."""
    return run_checked(command, timeout, tail=6000, **popen)


def standin_rootfs_tar(debootstrap: str) -> Path:
    """A tarball of a minimal Debian with Python, made once a day per machine."""
    cache = Path(tempfile.gettempdir()) / "microblog-standin-base"
    cache.mkdir(exist_ok=True)
    name = f"{STANDIN_RECIPE}-{DEBIAN_SUITE}"
    tarball = cache / f"{name}-{datetime.date.today():%Y%m%d}.tar"
    if tarball.exists():
        return tarball
    for stale in cache.glob(f"{name}-*.tar"):
        stale.unlink()
    work = Path(tempfile.mkdtemp(prefix="microblog-debootstrap-"))
    try:
        rootfs = work / "rootfs"
        options = ["--variant=minbase", f"--include={STANDIN_PACKAGES}"]
        run([debootstrap, *options, DEBIAN_SUITE, str(rootfs), DEBIAN_MIRROR])
        # What the official image provides: pip allowed outside a venv, the
        # `python` name, working TLS and name resolution, pip in /usr/local.
        for marker in rootfs.glob("usr/lib/python3*/EXTERNALLY-MANAGED"):
            marker.unlink()
        python = rootfs / "usr/bin/python"
        if not python.exists():
            python.symlink_to("python3")
        shutil.copy("/etc/ssl/certs/ca-certificates.crt", rootfs / "etc/ssl/certs/")
        shutil.copy("/etc/resolv.conf", rootfs / "etc/resolv.conf")
        install_pip_like_the_official_image(rootfs)
        partial = work / "rootfs.tar"
        run(["tar", "-C", str(rootfs), "-cf", str(partial), "."])
        os.replace(partial, tarball)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return tarball


def install_pip_like_the_official_image(rootfs: Path) -> None:
    """pip, setuptools and wheel in /usr/local, installed (and removable) by pip."""
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    env["HOME"] = "/root"
    env.update(
        {
            name: os.environ[name]
            for name in FORWARDED_PIP_SETTINGS
            if name in os.environ
        }
    )
    pip = ["chroot", str(rootfs), "python3", "-m", "pip", "install", "--no-cache-dir"]
    run([*pip, "--ignore-installed", *STANDIN_PIP_PACKAGES], env=env)
    run(["chroot", str(rootfs), "dpkg", "--purge", *DEBIAN_PIP_PACKAGES], env=env)


class Buildah:
    """buildah with its own storage in a temporary folder, chroot isolation."""

    def __init__(self, program: str, root: Path, driver: str) -> None:
        self.program = program
        self.root = root
        self.driver = driver

    def command(self, *args: str) -> list[str]:
        storage = ["--storage-driver", self.driver]
        storage += ["--root", str(self.root / "storage")]
        storage += ["--runroot", str(self.root / "run")]
        return [self.program, *storage, *args]

    def __call__(self, *args: str, timeout: float = BUILD_TIMEOUT) -> str:
        return run(self.command(*args), timeout=timeout)

    def build(self, context: Path, dockerfile: Path, tag: str) -> str:
        """``docker build`` without pulling; docker format keeps HEALTHCHECK."""
        return self(
            "bud",
            "--pull-never",
            "--isolation",
            "chroot",
            "--network",
            "host",
            "--format",
            "docker",
            "--tag",
            tag,
            "--file",
            str(dockerfile),
            str(context),
        )

    def build_standin_base(self, tarball: Path, tag: str) -> None:
        """Tag a Debian rootfs as the Dockerfile's base image."""
        context = self.root / "standin"
        context.mkdir(parents=True)
        try:
            os.link(tarball, context / "rootfs.tar")  # no 300 MB copy when possible
        except OSError:
            shutil.copy(tarball, context / "rootfs.tar")
        extra = "".join(
            f"ENV {name}={os.environ[name]}\n"
            for name in FORWARDED_PIP_SETTINGS
            if os.environ.get(name)
        )
        (context / "Containerfile").write_text(
            STANDIN_CONTAINERFILE.format(extra_env=extra)
        )
        self.build(context, context / "Containerfile", tag)

    def image_config(self, tag: str) -> dict[str, Any]:
        """The image's Docker config (User, Env, Cmd, Entrypoint, Healthcheck...)."""
        inspected = json.loads(self("inspect", "--type", "image", tag))
        config: dict[str, Any] = inspected["Docker"]["config"]
        return config

    def image_size(self, tag: str) -> int:
        """The image's size in bytes as ``buildah images`` reports it ("425 MB")."""
        reported = self("images", "--format", "{{.Size}}", tag).split()
        number, unit = float(reported[0]), reported[1]
        return int(number * SIZE_UNITS[unit])

    def container(self, tag: str) -> str:
        return self("from", "--pull-never", tag).strip().splitlines()[-1]

    def run_command(
        self, container: str, command: list[str], env: dict[str, str], user: str
    ) -> list[str]:
        """The argument list for ``buildah run`` of ``command`` in ``container``."""
        options = ["run", "--isolation", "chroot", "--user", user]
        for name, value in env.items():
            options += ["--env", f"{name}={value}"]
        return self.command(*options, container, "--", *command)

    def remove_all(self) -> None:
        """Delete containers, images and the storage folder."""
        subprocess.run(self.command("rm", "--all"), capture_output=True, check=False)
        subprocess.run(
            self.command("rmi", "--all", "--force"), capture_output=True, check=False
        )
        shutil.rmtree(self.root, ignore_errors=True)


def buildah_with_base(program: str, root: Path, tarball: Path, tag: str) -> Buildah:
    """Buildah storage holding the stand-in base, on the fastest driver that works."""
    for driver in STORAGE_DRIVERS:
        buildah = Buildah(program, root / driver, driver)
        try:
            buildah.build_standin_base(tarball, tag)
        except AssertionError:
            buildah.remove_all()
            if driver == STORAGE_DRIVERS[-1]:
                raise
            continue
        return buildah
    raise AssertionError("no storage driver")
