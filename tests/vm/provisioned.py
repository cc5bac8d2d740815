"""A Debian 13 root provisioned by ``deploy/provision.sh``, and what it serves.

The root is unpacked from its cached tarball, the current checkout is copied in
as a git repository (provision.sh clones it as the app user), and provision.sh
runs chrooted into it with its own network namespace: MariaDB or PostgreSQL,
Redis, gunicorn under supervisor and nginx all start on their production ports
there. HTTPS requests reach that nginx through the same namespace.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.harness.paths import ROOT
from tests.vm.debian_root import DebianRoot, cached_root, record_timing, run

DOMAIN = "microblog.test"
SOURCE_IN_ROOT = "/opt/microblog-src"
SELF_SIGNED = "/etc/ssl/microblog/self-signed/fullchain.pem"
STATIC_LINK = re.compile(r'(?:href|src)="(/static/[^"]+)"')
# pip and apt fetch over the user-mode network; a cold arm64 run is slow.
PROVISION_TIMEOUT = 3600
DATABASE_START_TIMEOUT = 600


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: str


@dataclass
class Provisioned:
    """A root after a successful provision.sh run."""

    session: DebianRoot
    arch: str
    output: str

    def https(self, path: str) -> Answer:
        """GET ``https://microblog.test<path>`` from inside the root's network."""
        root = self.session.root
        with tempfile.TemporaryDirectory() as folder:
            headers, body = Path(folder) / "headers", Path(folder) / "body"
            command = [
                "nsenter",
                f"--target={self.session.holder.pid}",
                "--net",
                "curl",
                "--silent",
                "--show-error",
                "--max-time",
                "60",
                "--cacert",
                f"{root}{SELF_SIGNED}",
                "--resolve",
                f"{DOMAIN}:443:127.0.0.1",
                "--dump-header",
                str(headers),
                "--output",
                str(body),
                f"https://{DOMAIN}{path}",
            ]
            run(command)
            lines = headers.read_text().splitlines()
            status = int(lines[0].split()[1])
            fields = dict(
                (name.strip().lower(), value.strip())
                for name, _, value in (line.partition(":") for line in lines[1:])
                if value
            )
            return Answer(status, fields, body.read_text(errors="replace"))

    def static_links(self, page: Answer) -> list[str]:
        return sorted(set(STATIC_LINK.findall(page.body)))

    def processes(self, name: str) -> list[int]:
        """PIDs in the root whose command line starts with or names ``name``."""
        found = []
        for pid in self.session.pids():
            try:
                words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            text = b" ".join(words).decode(errors="replace")
            if name in text:
                found.append(pid)
        return found


def copy_checkout(destination: Path) -> None:
    """The checkout's files (committed or not, ignored ones left out) as one commit."""
    listing = run(
        [
            "git",
            "-C",
            str(ROOT),
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ]
    )
    for name in filter(None, listing.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    git = [
        "git",
        "-C",
        str(destination),
        "-c",
        "user.name=microblog tests",
        "-c",
        "user.email=tests@microblog.test",
    ]
    run([*git, "init", "--quiet", "--initial-branch=main"])
    run([*git, "add", "--all"])
    run([*git, "commit", "--quiet", "--message", "checkout under test"])


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and Pss of one process, in KiB."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            values["rss"] = int(line.split()[1])
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    match = re.search(r"^Pss:\s+(\d+) kB", rollup, re.MULTILINE)
    values["pss"] = int(match.group(1)) if match else 0
    return values


@contextmanager
def unpacked_root(arch: str) -> Iterator[DebianRoot]:
    """A fresh root of ``arch`` from its cached tarball, the checkout copied in."""
    started = time.monotonic()
    tarball, warm = cached_root(arch)
    record_timing(
        f"root ({'warm' if warm else 'cold'})", arch, time.monotonic() - started
    )
    work = Path(tempfile.mkdtemp(prefix=f"microblog-vm-{arch}-", dir="/var/tmp"))
    root = work / "root"
    root.mkdir()
    try:
        started = time.monotonic()
        run(
            [
                "tar",
                "--extract",
                "--use-compress-program=zstd",
                "--numeric-owner",
                "--xattrs",
                f"--file={tarball}",
                "-C",
                str(root),
            ]
        )
        record_timing("unpack", arch, time.monotonic() - started)
        copy_checkout(root / SOURCE_IN_ROOT.lstrip("/"))
        with DebianRoot.namespaces(root) as session:
            yield session
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextmanager
def provisioned_root(arch: str, *options: str) -> Iterator[Provisioned]:
    """provision.sh run to the end in a fresh root of ``arch``; stopped afterwards."""
    with unpacked_root(arch) as session:
        session.shell(
            "ssh-keygen -q -t ed25519 -N '' -C admin@microblog.test -f /root/admin-key"
        )
        # The copy stands in for the GitHub repository a user clones: git lets the
        # app user read a repository root owns only when told it is safe.
        session.shell(f"git config --system --add safe.directory {SOURCE_IN_ROOT}/.git")
        # Debian's init script gives mariadbd 30 s to answer, then kills it; under
        # qemu on a busy machine InnoDB takes longer than that to start.
        (session.root / "etc/default/mariadb").write_text(
            f"MYSQLD_STARTUP_TIMEOUT={DATABASE_START_TIMEOUT}\n"
        )
        started = time.monotonic()
        result = session.run(
            f"{SOURCE_IN_ROOT}/deploy/provision.sh",
            "--domain",
            DOMAIN,
            "--ssh-key",
            "/root/admin-key.pub",
            "--self-signed",
            "--repo",
            SOURCE_IN_ROOT,
            "--branch",
            "main",
            *options,
            timeout=PROVISION_TIMEOUT,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-6000:]
        record_timing(
            "provision", arch, time.monotonic() - started, options=" ".join(options)
        )
        yield Provisioned(session=session, arch=arch, output=output)


def wait_for_https(site: Provisioned, path: str, timeout: float = 180) -> Answer:
    """The first answer that is not nginx's 502 while gunicorn starts."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = site.https(path)
        except (RuntimeError, subprocess.SubprocessError):
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
            continue
        if answer.status != 502 or time.monotonic() > deadline:
            return answer
        time.sleep(1)
