"""Several gunicorn instances of the app behind nginx, as a platform runs them.

Each instance is a gunicorn master with its own workers on a free loopback
port, started from an empty working folder (which must stay empty: the web
processes are stateless). nginx balances them the way the Heroku router or
Fly's proxy would: a connection refused goes to the next instance, a request
already sent is retried elsewhere only if it is idempotent.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.harness.app_server import AppServer
from tests.harness.environment import environment
from tests.harness.processes import (
    BackgroundServer,
    ServiceNotReady,
    free_port,
    private_dir,
    removed_on_error,
    require_program,
    wait_for_http,
    wait_until,
)

SECRET_KEY = "resilience-suite-" + "k" * 32
WORKERS_PER_INSTANCE = 2
THREADS_PER_WORKER = 4


@dataclass
class InstanceSettings:
    """What every instance of the app shares: the database, Redis, the key."""

    database_url: str
    redis_url: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    def environment(self) -> dict[str, str]:
        """The environment a platform would give each web process."""
        env = environment(
            DATABASE_URL=self.database_url,
            SECRET_KEY=SECRET_KEY,
            # nginx is the one proxy in front, as the router is on Heroku.
            PROXY_COUNT="1",
            LOG_LEVEL="WARNING",
            DB_POOL_SIZE=str(THREADS_PER_WORKER),
            DB_MAX_OVERFLOW="0",
        )
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        env.update(self.extra_env)
        return env


# The project's settings file, with the process model pinned for the scenarios.
GUNICORN_OPTIONS = [
    "--workers",
    str(WORKERS_PER_INSTANCE),
    "--worker-class",
    "gthread",
    "--threads",
    str(THREADS_PER_WORKER),
    "--graceful-timeout",
    "20",
    "--timeout",
    "25",
    # Never recycle workers here: memory growth must show, and a killed
    # worker must be replaced because it died, not because it was due.
    "--max-requests",
    "0",
    # One control socket per user would be shared by all three instances.
    "--no-control-socket",
]


class AppInstance:
    """One gunicorn master and its workers, restartable on the same port."""

    def __init__(self, name: str, settings: InstanceSettings) -> None:
        self.name = name
        self.settings = settings
        self.logs = Path(tempfile.mkdtemp(prefix=f"microblog-{name}-logs-"))
        self.workdir = Path(tempfile.mkdtemp(prefix=f"microblog-{name}-cwd-"))
        self.server = AppServer(
            # Temporary files would land in the working folder too, which
            # must stay empty: the instance keeps no state of its own.
            {**settings.environment(), "TMPDIR": str(self.workdir)},
            options=GUNICORN_OPTIONS,
            root=self.logs,
            cwd=self.workdir,
            new_session=True,
        )
        self.port = self.server.port
        # What the newest readiness check saw, for a start that never gets ready.
        self.last_check = "not checked yet"

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def pid(self) -> int:
        """The gunicorn master's process id."""
        return self.server.pid

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self.server.process

    def start(self) -> None:
        """Start gunicorn and wait until the app says it is ready."""
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start gunicorn without waiting for it."""
        self.server.launch()

    def wait_ready(self) -> None:
        """Wait for ``/readyz``; fail with gunicorn's log if it never comes.

        At the default log level gunicorn may have logged nothing, so the
        failure also says what the last check saw.
        """
        try:
            self.server.wait_ready(self.ready)
        except ServiceNotReady as error:
            raise ServiceNotReady(f"{self.name}: {self.last_check}\n{error}") from None

    def ready(self) -> bool:
        """True once ``/readyz`` answers 200 and every worker is up."""
        try:
            status = wait_for_http(f"{self.url}/readyz", timeout=0.5)
        except Exception as error:
            self.last_check = f"/readyz: {error.__class__.__name__}: {error}"
            return False
        workers = self.worker_pids()
        self.last_check = f"/readyz: {status}, workers: {workers}"
        return status == 200 and len(workers) == WORKERS_PER_INSTANCE

    def worker_pids(self) -> list[int]:
        """The master's live worker processes, read from /proc."""
        if self.process is None or self.process.poll() is not None:
            return []
        return child_pids(self.process.pid)

    def terminate(self, timeout: float = 40) -> int:
        """SIGTERM, as a platform does on deploy; wait for a graceful exit."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL the master and its workers at once, like a crashed machine."""
        self.server.kill()

    def stop(self) -> None:
        """Stop for good, gracefully if it still runs."""
        self.server.stop()
        self.report_errors()
        shutil.rmtree(self.logs, ignore_errors=True)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def report_errors(self) -> None:
        """Print any traceback gunicorn logged, before the logs are deleted.

        pytest shows captured output only for a failing test, so an unexpected
        500 comes with its cause and a passing run stays quiet.
        """
        for log in sorted(self.logs.glob("gunicorn-*.log")):
            text = log.read_text(errors="replace")
            start = text.find("Traceback")
            if start != -1:
                print(f"--- {self.name} {log.name} ---\n{text[start : start + 6000]}")

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the newest gunicorn log."""
        return self.server.log_tail(chars)

    def written_files(self) -> list[Path]:
        """Files the app wrote into its working folder (there must be none)."""
        return sorted(self.workdir.rglob("*"))


def child_pids(parent: int) -> list[int]:
    """Processes whose parent is ``parent`` (gunicorn workers of a master)."""
    children = Path(f"/proc/{parent}/task/{parent}/children")
    try:
        return [int(pid) for pid in children.read_text().split()]
    except OSError:
        return []


def rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` in KiB, from /proc (0 if it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


NGINX_CONFIG = """\
{user}
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 512; }}
http {{
    # Which instance answered each request, for the balancing checks.
    log_format upstreams '$status $request_method $upstream_addr $upstream_status';
    access_log {root}/access.log upstreams;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    upstream app {{
        # Passive health: one failed attempt takes an instance out for 2 s,
        # then nginx tries it again.
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://app;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            # A refused or reset connection moves the request to the next
            # instance. nginx does this for POST only when nothing was sent
            # yet; a 503 (database down) is the same everywhere, so no retry.
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries 3;
            proxy_connect_timeout 2s;
            # Longer than gunicorn's 25 s worker timeout.
            proxy_read_timeout 30s;
        }}
    }}
}}
"""


class Balancer:
    """nginx on a free loopback port in front of the instances.

    Like a platform's router it can take an instance out of rotation before
    the instance is stopped (``drain``) and put it back once it is ready
    (``restore``): nginx reloads its configuration gracefully for that.
    """

    def __init__(self, instances: list[AppInstance]) -> None:
        program = require_program("nginx", "nginx")
        self.port = free_port()
        self.instances = instances
        self.drained: set[str] = set()
        self.owner = "www-data" if os.geteuid() == 0 else None
        root = private_dir("microblog-nginx-", owner=self.owner)
        self.config = root / "nginx.conf"
        self.write_config(root)
        command = [program, "-p", str(root), "-c", str(self.config), "-e", "stderr"]
        with removed_on_error(root):
            self.server = BackgroundServer("nginx", root, command)
            self.server.wait_ready(self._answers)

    def write_config(self, root: Path) -> None:
        servers = "\n".join(
            f"        server 127.0.0.1:{instance.port} max_fails=1 fail_timeout=2s"
            + (" down;" if instance.name in self.drained else ";")
            for instance in self.instances
        )
        self.config.write_text(
            NGINX_CONFIG.format(
                user=f"user {self.owner};" if self.owner else "",
                root=root,
                port=self.port,
                servers=servers,
            )
        )

    def drain(self, instance: AppInstance) -> None:
        """Send no new request to ``instance``; those under way finish."""
        self.drained.add(instance.name)
        self.reload()

    def restore(self, instance: AppInstance) -> None:
        """Route to ``instance`` again."""
        self.drained.discard(instance.name)
        self.reload()

    def reload(self) -> None:
        """Apply the configuration; return once the old nginx workers are gone."""
        self.write_config(self.server.root)
        master = self.server.process.pid
        old_workers = set(child_pids(master))
        os.kill(master, signal.SIGHUP)
        wait_until(
            lambda: not old_workers & set(child_pids(master)),
            "nginx reload",
            timeout=30,
            process=self.server.process,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _answers(self) -> bool:
        try:
            return wait_for_http(f"{self.url}/healthz", timeout=0.5) == 200
        except Exception:
            return False

    def upstream_log(self) -> list[list[str]]:
        """Per request: status, method, instances tried and their statuses."""
        log = self.server.root / "access.log"
        lines = log.read_text().splitlines() if log.exists() else []
        return [line.split(" ", 3) for line in lines]

    def stop(self) -> None:
        """Stop nginx quickly and delete its folder."""
        self.server.stop(signal.SIGTERM)


class Cluster:
    """Three instances of the app and the balancer in front of them."""

    def __init__(self, settings: InstanceSettings, size: int = 3) -> None:
        self.instances = [AppInstance(f"web{n}", settings) for n in range(1, size + 1)]
        self.balancer: Balancer | None = None

    def start(self) -> None:
        """Start every instance, then nginx."""
        # Side by side, as a platform boots new dynos or Machines.
        for instance in self.instances:
            instance.launch()
        for instance in self.instances:
            instance.wait_ready()
        self.balancer = Balancer(self.instances)

    @property
    def url(self) -> str:
        assert self.balancer is not None
        return self.balancer.url

    def stop(self) -> None:
        """Stop nginx and every instance."""
        if self.balancer is not None:
            self.balancer.stop()
        # All at once: each graceful stop takes a moment.
        for instance in self.instances:
            if instance.process is not None and instance.process.poll() is None:
                instance.process.send_signal(signal.SIGTERM)
        for instance in self.instances:
            instance.stop()

    def log_tail(self, chars: int = 6000) -> str:
        """The end of nginx's and every instance's log, for failure messages."""
        logs = [f"--- {i.name} ---\n{i.log_tail(chars)}" for i in self.instances]
        if self.balancer is not None:
            logs.append(f"--- nginx ---\n{self.balancer.server.log_tail()}")
        return "\n".join(logs)

    def written_files(self) -> list[Path]:
        """Files any instance wrote into its working folder."""
        return [path for i in self.instances for path in i.written_files()]
