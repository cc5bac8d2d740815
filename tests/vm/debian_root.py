"""Debian 13 ("trixie") root file systems for the own-server tests, cached as tarballs.

``debootstrap`` builds a minimal root; the packages ``deploy/provision.sh`` installs
(for either database) go in on top, with services forbidden to start (as in a
Docker image). The result is kept as ``/var/cache/microblog-ci/<key>.tar.zst``,
the key a hash of the suite, the architecture and the package list, so a change to
provision.sh's packages builds a fresh root. arm64 roots run under qemu user
emulation (binfmt_misc), which is what a 64-bit Raspberry Pi OS userland is as far
as the app and its services are concerned.

A root in use lives in a network namespace of its own with only loopback and a
user-mode NAT (slirp4netns) to the outside: its nginx, gunicorn, database and
Redis keep their production ports without clashing with anything on this machine,
and nothing in it is reachable from outside. Its mounts live in a mount namespace
that disappears with its last process.

    python -m tests.vm.debian_root build amd64    # build (or find) the cached root
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from tests.harness.processes import find_program, skip_or_fail
from tests.vm.support import provision_shell

SUITE = "trixie"
MIRROR = "http://deb.debian.org/debian"
CACHE_DIR = Path(os.environ.get("MICROBLOG_VM_CACHE", "/var/cache/microblog-ci"))
# Bump when the way a root is built changes (not its package list: that is hashed).
RECIPE = "2"
# Beyond provision.sh's packages: what the tests run inside the root.
TEST_PACKAGES = ("procps",)
QEMU_BINFMT = {"arm64": "qemu-aarch64"}
HOST_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}
# What the root is told about names and certificates (slirp4netns's DNS forwarder).
SLIRP_DNS = "10.0.2.3"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# Seconds for installing the packages into a new root.
PACKAGES_TIMEOUT = 3 * 3600
POLICY_RC_D = "#!/bin/sh\n# Maintainer scripts start no services here.\nexit 101\n"


def provision_packages() -> list[str]:
    """Every package provision.sh installs, for MariaDB and PostgreSQL alike."""
    names: set[str] = set()
    for database in ("mariadb", "postgresql"):
        output = provision_shell(
            f"DATABASE={database}; PROCESS_MANAGER=supervisor; apt_packages"
        )
        names.update(output.split())
    return sorted(names | set(TEST_PACKAGES))


def cache_key(arch: str, packages: list[str]) -> str:
    text = json.dumps([RECIPE, SUITE, arch, packages])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def tarball_path(arch: str) -> Path:
    return (
        CACHE_DIR
        / f"debian-{SUITE}-{arch}-{cache_key(arch, provision_packages())}.tar.zst"
    )


def timings_file() -> Path:
    """Where measured steps go: $MICROBLOG_VM_TIMINGS, else beside the cache."""
    return Path(os.environ.get("MICROBLOG_VM_TIMINGS", CACHE_DIR / "timings.jsonl"))


def packages_log(arch: str) -> Path:
    """apt-get's output from the last root built for ``arch``, beside the timings."""
    return timings_file().with_name(f"packages-{SUITE}-{arch}.log")


def record_timing(step: str, arch: str, seconds: float, **extra: object) -> None:
    """Append one measured step to the timings file (printed by CI and make)."""
    path = timings_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {"step": step, "arch": arch, "seconds": round(seconds, 1), **extra}
    with path.open("a") as stream:
        stream.write(json.dumps(entry) + "\n")
    print(f"vm timing: {json.dumps(entry)}", file=sys.stderr)


def run(command: list[str], **kwargs: object) -> str:
    """Run a setup command; on failure, raise with the end of its output."""
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )
    if result.returncode != 0:
        tail = (result.stdout + result.stderr)[-4000:]
        raise RuntimeError(
            f"{' '.join(command[:6])} ... exited {result.returncode}:\n{tail}"
        )
    return str(result.stdout)


def binfmt_ready(arch: str) -> bool:
    """True when this machine runs ``arch`` binaries (natively or through qemu)."""
    if HOST_ARCH.get(os.uname().machine) == arch:
        return True
    entry = Path("/proc/sys/fs/binfmt_misc") / QEMU_BINFMT.get(arch, arch)
    return entry.exists() and entry.read_text().startswith("enabled")


def enable_binfmt(arch: str) -> None:
    """Register qemu for ``arch`` with the kernel, as binfmt-support does at boot."""
    if binfmt_ready(arch):
        return
    folder = Path("/proc/sys/fs/binfmt_misc")
    if not (folder / "register").exists():
        subprocess.run(
            ["mount", "-t", "binfmt_misc", "binfmt_misc", str(folder)], check=False
        )
    update = find_program("update-binfmts")
    if update:
        subprocess.run([update, "--enable", QEMU_BINFMT[arch]], check=False)


def require_tools(arch: str) -> None:
    """Skip (or fail under REQUIRE_SERVICES=1) when this machine cannot build roots."""
    if os.geteuid() != 0:
        skip_or_fail("Debian roots need root (debootstrap, chroot, namespaces)")
    for program, package in (
        ("debootstrap", "debootstrap"),
        ("slirp4netns", "slirp4netns"),
        ("unshare", "util-linux"),
        ("zstd", "zstd"),
    ):
        if not find_program(program):
            skip_or_fail(f"{program} not installed (apt-get install {package})")
    if arch in QEMU_BINFMT:
        if not find_program(f"{QEMU_BINFMT[arch]}-static"):
            skip_or_fail(
                "qemu user emulation not installed"
                " (apt-get install qemu-user-static binfmt-support)"
            )
        enable_binfmt(arch)
        if not binfmt_ready(arch):
            skip_or_fail(f"binfmt_misc has no enabled {QEMU_BINFMT[arch]} entry")


def build_root(arch: str, tarball: Path) -> None:
    """debootstrap + provision.sh's packages, packed into ``tarball``."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"microblog-root-{arch}-", dir="/var/tmp"))
    root = work / "root"
    try:
        started = time.monotonic()
        run(
            [
                "debootstrap",
                f"--arch={arch}",
                "--variant=minbase",
                "--include=ca-certificates",
                SUITE,
                str(root),
                MIRROR,
            ]
        )
        record_timing("debootstrap", arch, time.monotonic() - started)
        policy = root / "usr" / "sbin" / "policy-rc.d"
        policy.write_text(POLICY_RC_D)
        policy.chmod(0o755)
        started = time.monotonic()
        packages = provision_packages()
        script = (
            "set -e; apt-get update -qq; "
            "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
            f"--no-install-recommends {' '.join(packages)} 2>&1; apt-get clean"
        )
        with DebianRoot.namespaces(root) as session:
            # Under emulation on a busy machine this alone can take over half an hour.
            output = session.shell(script, timeout=PACKAGES_TIMEOUT)
        # What the maintainer scripts said, for when a service will not start later.
        packages_log(arch).write_text(output)
        record_timing("packages", arch, time.monotonic() - started)
        started = time.monotonic()
        # A name of its own: another run may be packing the same root meanwhile.
        handle, name = tempfile.mkstemp(prefix=f".{tarball.name}.", dir=tarball.parent)
        os.close(handle)
        partial = Path(name)
        run(
            [
                "tar",
                "--create",
                "--use-compress-program=zstd -T0 -3",
                "--numeric-owner",
                "--xattrs",
                "--one-file-system",
                f"--file={partial}",
                "-C",
                str(root),
                ".",
            ]
        )
        partial.chmod(0o644)
        partial.replace(tarball)
        # Roots of an earlier package list are never used again.
        for old in CACHE_DIR.glob(f"debian-{SUITE}-{arch}-*.tar.zst"):
            if old != tarball:
                old.unlink(missing_ok=True)
        record_timing(
            "pack",
            arch,
            time.monotonic() - started,
            megabytes=tarball.stat().st_size // 2**20,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def cached_root(arch: str) -> tuple[Path, bool]:
    """The root's tarball, built now if missing; and whether it was there already."""
    require_tools(arch)
    tarball = tarball_path(arch)
    if tarball.exists():
        return tarball, True
    build_root(arch, tarball)
    return tarball, False


@dataclass
class DebianRoot:
    """A root file system in namespaces of its own; commands run chrooted into it."""

    root: Path
    holder: subprocess.Popen[bytes]
    helpers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def command(self, *args: str) -> list[str]:
        """``args`` run chrooted into the root, inside its namespaces."""
        return [
            "nsenter",
            f"--target={self.holder.pid}",
            "--net",
            "--mount",
            "chroot",
            str(self.root),
            "/usr/bin/env",
            "-i",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME=/root",
            "LANG=C.UTF-8",
            *args,
        ]

    def shell(self, script: str, timeout: float = 1800) -> str:
        return run(self.command("/bin/bash", "-c", script), timeout=timeout)

    def run(
        self, *args: str, timeout: float = 1800
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args),
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )

    def pids(self) -> list[int]:
        """Every process whose root directory is this root (all started by us)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if os.readlink(entry / "root") == str(self.root):
                    found.append(int(entry.name))
            except OSError:
                continue
        return found

    def stop_processes(self) -> None:
        """SIGTERM everything running in the root, then SIGKILL what is left."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = self.pids()
            for pid in pids:
                with suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + 20
            while self.pids() and time.monotonic() < deadline:
                time.sleep(0.2)

    @classmethod
    @contextmanager
    def namespaces(cls, root: Path) -> Iterator[DebianRoot]:
        """Mount /proc, /sys, /dev and /run for ``root``, with its own network."""
        # sleep holds the namespaces open; every command enters them through its PID.
        holder = subprocess.Popen(
            [
                "unshare",
                "--net",
                "--mount",
                "--propagation",
                "private",
                "sleep",
                "infinity",
            ],
        )
        session = cls(root=root, holder=holder)
        try:
            _wait_for_namespace(holder.pid)
            slirp = subprocess.Popen(
                [
                    "slirp4netns",
                    "--configure",
                    "--mtu=65520",
                    "--disable-host-loopback",
                    str(holder.pid),
                    "tap0",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            session.helpers.append(slirp)
            mounts = (
                f"mount -t proc proc {root}/proc && "
                f"mount -t sysfs -o ro sysfs {root}/sys && "
                f"mount --rbind /dev {root}/dev && "
                f"mount -t tmpfs -o mode=0755 tmpfs {root}/run && "
                f"mkdir -p {root}/run/lock && "
                f"mount -t tmpfs -o mode=1777 tmpfs {root}/tmp"
            )
            run(
                [
                    "nsenter",
                    f"--target={holder.pid}",
                    "--net",
                    "--mount",
                    "sh",
                    "-c",
                    mounts,
                ]
            )
            resolv = root / "etc" / "resolv.conf"
            resolv.unlink(missing_ok=True)
            resolv.write_text(f"nameserver {SLIRP_DNS}\n")
            if HOST_CA_BUNDLE.exists():
                # This machine may reach the internet through a proxy with its own CA.
                shutil.copy(HOST_CA_BUNDLE, root / "etc/ssl/certs/ca-certificates.crt")
            _wait_for_network(session)
            yield session
        finally:
            session.stop_processes()
            for helper in session.helpers:
                helper.terminate()
                helper.wait(timeout=10)
            holder.terminate()
            holder.wait(timeout=10)


def _wait_for_namespace(pid: int, timeout: float = 10) -> None:
    """Until ``pid`` runs in a network namespace other than ours."""
    ours = os.readlink("/proc/self/ns/net")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.readlink(f"/proc/{pid}/ns/net") != ours:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("unshare did not create the namespaces")


def _wait_for_network(session: DebianRoot, timeout: float = 20) -> None:
    """Until slirp4netns has brought up the root's way out (its DNS answers)."""
    deadline = time.monotonic() + timeout
    while True:
        result = session.run("getent", "hosts", "deb.debian.org", timeout=15)
        if result.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"no network in the root: {result.stderr}")
        time.sleep(0.5)


def report(path: Path) -> str:
    """The timings file as a table: one line per measured step."""
    lines = []
    for text in path.read_text().splitlines() if path.exists() else []:
        entry = json.loads(text)
        step, arch, seconds = entry.pop("step"), entry.pop("arch"), entry.pop("seconds")
        extra = " ".join(f"{key}={value}" for key, value in entry.items())
        lines.append(f"{arch:6} {step:22} {seconds:7.1f}s  {extra}".rstrip())
    return "\n".join(lines)


def main() -> None:
    """``build ARCH``, ``cached ARCH`` (exit status 1: not cached), ``report``."""
    command, arch = [*sys.argv[1:], "", ""][:2]
    if command == "build" and arch:
        started = time.monotonic()
        tarball, warm = cached_root(arch)
        state = "warm" if warm else "cold"
        record_timing(f"root ({state})", arch, time.monotonic() - started)
        print(tarball)
    elif command == "cached" and arch:
        raise SystemExit(0 if tarball_path(arch).exists() else 1)
    elif command == "report":
        print(report(timings_file()))
    else:
        raise SystemExit(
            "usage: python -m tests.vm.debian_root build|cached ARCH | report"
        )


if __name__ == "__main__":
    main()
