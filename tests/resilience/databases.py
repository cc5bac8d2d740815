"""A PostgreSQL server that a scenario may stop and start again, durably."""

from __future__ import annotations

import signal
from pathlib import Path

from tests.harness.databases import PostgresServer, postgres_bindir
from tests.harness.processes import BackgroundServer, as_user

# pg_ctl's shutdown modes, as signals to the postmaster.
FAST_SHUTDOWN = signal.SIGINT
IMMEDIATE_SHUTDOWN = signal.SIGQUIT


class RestartablePostgres(PostgresServer):
    """PostgreSQL that survives its own restarts with every commit kept.

    The shared test server turns ``synchronous_commit`` off for speed, which
    lets an immediate shutdown lose commits it had acknowledged; here it is on,
    so a lost post would be the app's fault. ``fsync`` stays off: the operating
    system keeps what the server wrote, only the process dies.
    """

    def _settings(self, root: Path) -> list[str]:
        settings = [s for s in super()._settings(root) if "synchronous_commit" not in s]
        return [*settings, "--synchronous_commit=on"]

    def halt(self, mode: signal.Signals) -> None:
        """Shut the server down in ``mode`` (fast or immediate), keeping its data."""
        process = self.server.process
        process.send_signal(mode)
        process.wait(60)
        # resume() starts a new log in the same folder.
        self.server._log.close()

    def resume(self) -> None:
        """Start the server again on the same data and port; wait until it answers."""
        bindir = postgres_bindir()
        assert bindir is not None
        root = self.server.root
        command = [str(bindir / "postgres"), "-D", str(root / "data")]
        self.server = BackgroundServer(
            "postgres", root, [*command, *self._settings(root)], **as_user("postgres")
        )
        self.server.wait_ready(self._answers)
