"""An app under gunicorn with the production settings file, on loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.client import http_get
from microblog import PROJECT_ROOT
from tests.harness.processes import free_port

BOOT_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


class BootFailed(RuntimeError):
    """gunicorn exited or never answered 200; the message carries its log."""


@dataclass
class Gunicorn:
    """A running gunicorn master and how long it took to serve its first 200."""

    process: subprocess.Popen[bytes]
    port: int
    boot_seconds: float
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        """Processes whose parent is the gunicorn master."""
        pids = []
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                fields = dict(
                    line.split(":\t", 1) for line in status.read_text().splitlines()
                )
            except (OSError, ValueError):
                continue  # the process ended while being read
            if fields.get("PPid", "").strip() == str(self.process.pid):
                pids.append(int(status.parent.name))
        return sorted(pids)

    def worker_rss_mb(self) -> list[float]:
        """Resident memory of each worker, in MB (VmRSS from /proc)."""
        return self.worker_memory_mb("status", "VmRSS:")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the workers have used so far.

        The running workers' own time plus the time of every worker the
        master has already reaped (its ``cutime``/``cstime``), so that
        workers recycled during a run still count.
        """
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.worker_pids():
            fields = stat_fields(pid)
            if fields:
                total += int(fields[11]) + int(fields[12])  # utime, stime
        master = stat_fields(self.process.pid)
        if master:
            total += int(master[13]) + int(master[14])  # cutime, cstime
        return total / ticks

    def booted_workers(self) -> int:
        """Workers the master has started so far, recycled ones included."""
        return self.log_path.read_text(errors="replace").count("Booting worker")

    def worker_pss_mb(self) -> list[float]:
        """Each worker's proportional share of memory (shared pages divided), MB."""
        return self.worker_memory_mb("smaps_rollup", "Pss:")

    def worker_memory_mb(self, proc_file: str, field_name: str) -> list[float]:
        """One kB field of /proc/PID/<proc_file> for each worker, in MB."""
        sizes = []
        for pid in self.worker_pids():
            try:
                lines = Path(f"/proc/{pid}/{proc_file}").read_text().splitlines()
            except OSError:
                continue  # a worker recycled meanwhile
            for line in lines:
                if line.startswith(field_name):
                    sizes.append(int(line.split()[1]) / 1024)
        return sizes

    def stop(self) -> None:
        """Graceful stop (SIGTERM), then SIGKILL if it takes too long."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_gunicorn(
    app: str,
    env: dict[str, str],
    log_path: Path,
    probe: str = "/",
    options: Sequence[str] = (),
) -> Gunicorn:
    """Start ``app`` with gunicorn.conf.py as shipped on a free loopback port.

    ``options`` are gunicorn command-line options, which win over the file
    (a configuration such as ``-w 4 -k sync``). Boot time runs from starting
    the program to the first 200 on ``probe``.
    """
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"]
    # Loopback only: the settings file binds all interfaces, for platforms.
    # Nothing else is changed: worker recycling (max_requests) and preloading
    # stay as shipped, so their cost under load is part of what is measured.
    command += ["--bind", f"127.0.0.1:{port}", *options, app]
    log = log_path.open("wb")
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    server = Gunicorn(process, port, 0.0, log_path)
    deadline = started + BOOT_TIMEOUT
    while True:
        if process.poll() is not None:
            raise BootFailed(
                f"{app} exited with {process.returncode}:\n{tail(log_path)}"
            )
        if http_get(server.base_url + probe, timeout=5).status == 200:
            server.boot_seconds = time.monotonic() - started
            return server
        if time.monotonic() > deadline:
            server.stop()
            raise BootFailed(f"{app}: no 200 on {probe} in {BOOT_TIMEOUT:.0f} s")
        time.sleep(0.005)


def stat_fields(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name; [] if it ended."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    # The command name may itself hold spaces and parentheses.
    return stat.rsplit(")", 1)[1].split()


def tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:]
