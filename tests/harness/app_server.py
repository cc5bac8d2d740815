"""The one way the tests start the app under gunicorn.

Every test that needs the app behind a real server (the attack suite, the
browser suite, the API fuzzer, the PaaS and VM deployment tests, the
resilience cluster) starts it here: on a free loopback port, from this
checkout, in an environment made by ``tests.harness.environment``, with its
log in a file and a watcher that stops it should the test run itself die.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

from tests.harness.paths import ROOT
from tests.harness.processes import (
    LOG_TAIL_CHARS,
    ServiceNotReady,
    free_port,
    private_dir,
    require_loopback,
    run_setup,
    wait_for_http,
    wait_until,
    watch_for_orphan,
)

APP_TARGET = "microblog:create_app()"
PROJECT_CONFIG = ROOT / "gunicorn.conf.py"
STOP_TIMEOUT = 40.0
# Migrations on MariaDB take a while on two shared cores.
FLASK_TIMEOUT = 180.0


class AppServer:
    """One gunicorn master serving the app on a loopback port; restartable."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        options: Sequence[str] = (),
        config: Path | None = PROJECT_CONFIG,
        target: str = APP_TARGET,
        command: Sequence[str] | None = None,
        root: Path | None = None,
        cwd: Path = ROOT,
        port: int | None = None,
        name: str = "gunicorn",
        separate_stderr: bool = False,
        new_session: bool = False,
    ) -> None:
        """Prepare the server; ``start()`` runs it.

        ``config=None`` gives gunicorn an empty settings file, so only the
        command line applies. ``command`` replaces gunicorn's command line
        altogether (the Procfile's web command); it gets the port as ``PORT``.
        Logs go to ``root`` (kept), or to a private folder that ``close()``
        deletes.
        """
        self.name = name
        self.port = port or free_port()
        self.cwd = cwd
        self.owns_root = root is None
        self.root = root if root is not None else private_dir(f"microblog-{name}-")
        # The app served is this checkout's, whatever the working folder.
        self.env = {"PYTHONPATH": str(ROOT), **env}
        if command is not None:
            self.command = list(command)
            self.env["PORT"] = str(self.port)
        else:
            self.command = self._gunicorn_command(options, config, target)
        self.separate_stderr = separate_stderr
        self.new_session = new_session
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._files: list[IO[bytes]] = []

    def _gunicorn_command(
        self, options: Sequence[str], config: Path | None, target: str
    ) -> list[str]:
        if config is None:
            config = self.root / f"{self.name}-empty.conf.py"
            config.write_text("")
        command = [sys.executable, "-m", "gunicorn", "--config", str(config)]
        # A command-line --bind beats the settings file's: loopback only.
        return [*command, "--bind", f"127.0.0.1:{self.port}", *options, target]

    @property
    def url(self) -> str:
        require_loopback("127.0.0.1")
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The gunicorn master's process id."""
        assert self.process is not None, "not started"
        return self.process.pid

    @property
    def log_path(self) -> Path:
        """The log of the newest start (stdout and stderr, or stdout alone)."""
        suffix = ".stdout.log" if self.separate_stderr else ".log"
        return self.root / f"{self.name}-{self.starts}{suffix}"

    @property
    def stderr_path(self) -> Path:
        return self.root / f"{self.name}-{self.starts}.stderr.log"

    def start(self, ready: Callable[[], bool] | None = None) -> AppServer:
        """Launch and wait until ready (by default: ``/healthz`` answers)."""
        self.launch()
        self.wait_ready(ready)
        return self

    def launch(self) -> None:
        """Start gunicorn without waiting for it; each start gets a new log."""
        self._close_files()
        self.starts += 1
        stdout = self.log_path.open("wb")
        stderr = self.stderr_path.open("wb") if self.separate_stderr else None
        self._files = [stdout] if stderr is None else [stdout, stderr]
        self.process = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr if stderr is not None else subprocess.STDOUT,
            start_new_session=self.new_session,
        )
        watch_for_orphan(self.process.pid, signal.SIGTERM, self.root)

    def wait_ready(self, ready: Callable[[], bool] | None = None) -> None:
        """Wait for ``ready()``; if it never comes, kill and fail with the log."""
        try:
            if ready is None:
                wait_for_http(f"{self.url}/healthz", process=self.process)
            else:
                wait_until(ready, f"{self.name} ready", process=self.process)
        except ServiceNotReady as error:
            self.kill()
            raise ServiceNotReady(f"{error}\n{self.log_tail()}") from None

    def log(self) -> str:
        """Everything gunicorn wrote since the newest start."""
        for file in self._files:
            file.flush()
        return self.log_path.read_text(errors="replace")

    def output(self) -> tuple[str, str]:
        """stdout (the access log) and stderr (gunicorn's own log), kept apart."""
        assert self.separate_stderr, "AppServer(separate_stderr=True) keeps them apart"
        return self.log(), self.stderr_path.read_text(errors="replace")

    def log_tail(self, chars: int = LOG_TAIL_CHARS) -> str:
        """The end of the newest log, for failure messages."""
        if not self.log_path.exists():
            return ""
        text = self.log()
        if self.separate_stderr:
            text += self.stderr_path.read_text(errors="replace")
        return text[-chars:]

    def stop(
        self, sig: signal.Signals = signal.SIGTERM, timeout: float = STOP_TIMEOUT
    ) -> int | None:
        """Signal the master, wait for it (SIGKILL after ``timeout``); its status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.new_session:
            # Workers of a killed master notice and exit; make sure they have.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self._close_files()
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL at once, like a crashed machine (the whole group if it has one)."""
        if self.process is None or self.process.poll() is not None:
            return
        if self.new_session:
            os.killpg(self.process.pid, signal.SIGKILL)
        else:
            self.process.kill()
        self.process.wait()

    def close(self) -> None:
        """Stop, and delete the log folder if this object made it."""
        self.stop()
        if self.owns_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def _close_files(self) -> None:
        for file in self._files:
            file.close()
        self._files = []

    def __enter__(self) -> AppServer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def run_flask(env: Mapping[str, str], *args: str, cwd: Path = ROOT) -> str:
    """``flask --app microblog ARGS`` as a release step runs it; fail with output."""
    command = [sys.executable, "-m", "flask", "--app", "microblog", *args]
    full_env = {"PYTHONPATH": str(ROOT), **env}
    return run_setup(
        command, f"flask {' '.join(args)}", timeout=FLASK_TIMEOUT, cwd=cwd, env=full_env
    )
