"""Helpers for tests that start real programs: find them, run them, wait for them.

A program that is not installed skips the tests that need it, except under
``REQUIRE_SERVICES=1`` (what ``.ci/run`` sets), where it fails them: a CI run
must never pass by silently testing less.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NoReturn
from urllib.parse import urlsplit

import pytest

from tests.harness.environment import environment
from tests.harness.paths import ROOT

# Debian installs daemons (mariadbd, nginx, sshd) into sbin, which is not on a
# normal user's PATH.
SBIN_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
# Generous, because CI shares two cores with everything else; polling stops as
# soon as the server answers, so a fast start stays fast.
START_TIMEOUT = 60.0
LOG_TAIL_CHARS = 4000


class ServiceNotReady(RuntimeError):
    """A server did not come up: it exited, or did not answer in time."""


def services_required() -> bool:
    """True when a missing program must fail the run instead of skipping (CI)."""
    return os.environ.get("REQUIRE_SERVICES", "").strip().lower() in TRUE_WORDS


def skip_or_fail(reason: str) -> NoReturn:
    """Skip the calling test with ``reason``, or fail it under REQUIRE_SERVICES=1."""
    if services_required():
        pytest.fail(f"{reason} (REQUIRE_SERVICES=1 forbids skipping)", pytrace=False)
    pytest.skip(reason)


def find_program(*names: str) -> str | None:
    """Full path of the first of ``names`` found on PATH or in the sbin folders."""
    path = os.pathsep.join([os.environ.get("PATH", os.defpath), *SBIN_DIRS])
    for name in names:
        found = shutil.which(name, path=path)
        if found:
            return found
    return None


def require_program(
    name: str, package: str, *alternatives: str, label: str | None = None
) -> str:
    """Path of ``name`` (or an alternative); else skip or fail naming the package."""
    found = find_program(name, *alternatives)
    if found is None:
        skip_or_fail(f"{label or name} not installed (apt-get install {package})")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(
    ready: Callable[[], bool],
    what: str,
    timeout: float = START_TIMEOUT,
    process: subprocess.Popen[Any] | None = None,
) -> None:
    """Poll ``ready()`` until it is true; raise ServiceNotReady if it never is."""
    deadline = time.monotonic() + timeout
    pause = 0.02
    while True:
        if process is not None and process.poll() is not None:
            raise ServiceNotReady(f"{what}: process exited with {process.returncode}")
        if ready():
            return
        if time.monotonic() >= deadline:
            raise ServiceNotReady(f"{what}: not ready after {timeout:.0f} s")
        time.sleep(pause)
        pause = min(pause * 2, 0.25)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when a TCP connection to ``host:port`` succeeds."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def wait_for_port(
    port: int,
    host: str = "127.0.0.1",
    timeout: float = START_TIMEOUT,
    process: subprocess.Popen[Any] | None = None,
) -> None:
    """Wait until ``host:port`` accepts TCP connections (or ``process`` dies)."""
    require_loopback(host)
    wait_until(lambda: port_open(port, host), f"port {host}:{port}", timeout, process)


def wait_for_http(
    url: str,
    timeout: float = START_TIMEOUT,
    process: subprocess.Popen[Any] | None = None,
    context: ssl.SSLContext | None = None,
) -> int:
    """Wait until ``url`` answers with any HTTP status and return that status."""
    require_loopback(urlsplit(url).hostname or "")
    # Never through a proxy from the environment: the target is this machine.
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
    )
    status: list[int] = []

    def answered() -> bool:
        try:
            with opener.open(url, timeout=5) as response:
                status.append(response.status)
        except urllib.error.HTTPError as error:
            status.append(error.code)
            error.close()
        except (OSError, ssl.SSLError):
            return False
        return True

    wait_until(answered, url, timeout, process)
    return status[-1]


def require_loopback(host: str) -> None:
    """Refuse any target that is not this machine."""
    if host not in LOOPBACK_HOSTS:
        raise ValueError(f"tests only talk to loopback, not {host!r}")


def as_user(name: str) -> dict[str, Any]:
    """Popen arguments that run a program as system user ``name`` when we are root.

    PostgreSQL and MariaDB refuse to run as root. This is what ``runuser -u name``
    does, but the started process is the server itself, so signals reach it
    directly. Not root: the program runs as ourselves, which the servers accept.
    """
    if os.geteuid() != 0:
        return {}
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        skip_or_fail(f"system user {name!r} missing (its server package creates it)")
    env = environment(HOME=entry.pw_dir, USER=name, LOGNAME=name)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": [], "env": env}


def private_dir(prefix: str, owner: str | None = None) -> Path:
    """A fresh temporary folder, handed to system user ``owner`` when we are root."""
    # Not pytest's tmp_path: that lives under a root-only folder, which the
    # servers' system users cannot enter.
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if owner and os.geteuid() == 0:
        entry = pwd.getpwnam(owner)
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return path


@contextmanager
def removed_on_error(path: Path) -> Iterator[None]:
    """Delete ``path`` if the block fails, so a failed start leaves nothing behind."""
    try:
        yield
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise


def run_checked(
    command: list[str],
    timeout: float = 120,
    tail: int = LOG_TAIL_CHARS,
    **popen: Any,
) -> str:
    """Run a one-off command; its output, or AssertionError with the output's end."""
    result = subprocess.run(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
        **popen,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} exited {result.returncode}:\n{result.stdout[-tail:]}"
        )
    return str(result.stdout)


def run_program(
    command: list[str], env: dict[str, str], cwd: Path = ROOT, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """A program in exactly the environment given, its output as text.

    A failing exit is the caller's to judge: tests assert on the exit code and
    on what the program said.
    """
    return subprocess.run(
        command,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_setup(
    command: list[str], what: str, timeout: float = START_TIMEOUT, **popen: Any
) -> str:
    """Run a one-off setup command; fail the test run with its output if it fails."""
    try:
        return run_checked(command, timeout, **popen)
    except AssertionError as error:
        pytest.fail(f"{what} failed: {error}", pytrace=False)


# Runs detached beside each server: if the test run dies without stopping it
# (SIGKILL, a CI timeout), the watcher stops the server and deletes its folder.
# It identifies the server by PID *and* start time, so a reused PID is never hit,
# and it exits by itself as soon as the server is gone.
WATCHER = """
import os, shutil, signal, sys, time
parent, child, started, sig, folder = sys.argv[1:]
parent, child, sig = int(parent), int(child), int(sig)

def start_time(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None

def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True

while start_time(child) == started:
    if not alive(parent):
        os.kill(child, sig)
        for _ in range(150):
            if start_time(child) != started:
                break
            time.sleep(0.2)
        else:
            os.kill(child, signal.SIGKILL)
        shutil.rmtree(folder, ignore_errors=True)
        break
    time.sleep(0.5)
"""


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (with the PID, a unique identity)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return fields[19] if len(fields) > 19 else None


def watch_for_orphan(pid: int, stop_signal: signal.Signals, folder: Path) -> None:
    """Make sure server ``pid`` stops even if this test process is killed."""
    started = process_start_time(pid)
    if started is None:
        return  # no /proc: only the fixtures' own finalizers stop servers
    arguments = [
        str(os.getpid()),
        str(pid),
        started,
        str(int(stop_signal)),
        str(folder),
    ]
    # sh backgrounds the watcher and exits, so the watcher is nobody's child here
    # and outlives this process; its own session keeps it out of Ctrl-C's way.
    launcher = subprocess.Popen(
        ["sh", "-c", '"$@" &', "sh", sys.executable, "-c", WATCHER, *arguments],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    launcher.wait()


class BackgroundServer:
    """A server process started in a private folder, logging to a file there."""

    def __init__(
        self,
        name: str,
        root: Path,
        command: list[str],
        stop_signal: signal.Signals = signal.SIGTERM,
        **popen: Any,
    ) -> None:
        self.name = name
        self.root = root
        self.stop_signal = stop_signal
        self.log_path = root / f"{name}.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=root,
            **popen,
        )
        watch_for_orphan(self.process.pid, stop_signal, root)

    def log_tail(self) -> str:
        """The end of the server's log, for failure messages."""
        self._log.flush()
        text = self.log_path.read_text(errors="replace")
        return text[-LOG_TAIL_CHARS:]

    def wait_ready(self, ready: Callable[[], bool]) -> None:
        """Wait for ``ready()``; on failure stop the server and fail with its log."""
        try:
            wait_until(ready, self.name, process=self.process)
        except ServiceNotReady as error:
            log = self.log_tail()
            self.stop()
            pytest.fail(f"{error}\n--- {self.name} log ---\n{log}", pytrace=False)

    def stop(self, sig: signal.Signals | None = None, timeout: float = 30) -> None:
        """Stop the server (``sig``, then SIGKILL) and delete its folder."""
        if self.process.poll() is None:
            self.process.send_signal(sig or self.stop_signal)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        shutil.rmtree(self.root, ignore_errors=True)
