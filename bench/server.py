"""An app under gunicorn with the production settings file, on loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
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
        sizes = []
        for pid in self.worker_pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
        return sizes

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the workers have used so far."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.worker_pids():
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue  # a worker that just ended
            # Fields after the command name, which may itself hold spaces.
            fields = stat.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / ticks

    def worker_pss_mb(self) -> list[float]:
        """Each worker's proportional share of memory (shared pages divided), MB."""
        sizes = []
        for pid in self.worker_pids():
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
            for line in rollup:
                if line.startswith("Pss:"):
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
    app: str, env: dict[str, str], log_path: Path, probe: str = "/"
) -> Gunicorn:
    """Start ``app`` with gunicorn.conf.py on a free loopback port.

    Boot time runs from starting the program to the first 200 on ``probe``.
    """
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"]
    # Loopback only: the settings file binds all interfaces, for platforms.
    command += ["--bind", f"127.0.0.1:{port}"]
    # No recycling: at thousands of requests a second, max_requests would restart
    # every worker each second or so and measure boots instead of serving. At
    # real traffic a recycle comes every few minutes and costs nothing visible.
    command += ["--max-requests", "0", app]
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


def tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:]
