"""gunicorn settings for every target: Heroku, Fly.io, Docker and a VM.

gunicorn reads this file from the working directory (the Procfile, the
Dockerfile's CMD and the supervisor/systemd units also name it). On Heroku,
``GUNICORN_CMD_ARGS`` overrides anything set here.

Every setting of the table in ``microblog/config.py`` is read and checked
here, in the master, before any worker starts: bad variables stop gunicorn
with one line each, naming them (``ConfigError`` is a ``SystemExit`` whose
message Python prints alone). Nothing here builds the app.
"""

import gc
import os
import socket
import sys
from pathlib import Path
from typing import Any

# gunicorn executes this file before it puts the working directory on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from microblog.config import load_environment, server_settings

load_environment(Path(__file__).resolve().parent)
_settings = server_settings(os.environ)


def listen_addresses(port: int) -> list[str]:
    """Every interface, IPv4 and IPv6, on ``port``.

    The platform's router (or nginx, or Docker's port mapping) connects from
    outside the container, over IPv4; Fly's private network (6PN, Flycast) is
    IPv6 only. Linux decides whether one IPv6 socket on ``[::]`` also takes
    IPv4 connections (net.ipv6.bindv6only = 0, the default: a second socket on
    0.0.0.0 would then fail with "address in use") or IPv6 ones only (= 1: both
    are needed). Without IPv6 in the kernel, IPv4 alone.
    """
    ipv4 = f"0.0.0.0:{port}"
    ipv6 = f"[::]:{port}"
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::", 0))
    except OSError:
        return [ipv4]
    try:
        v6_only = Path("/proc/sys/net/ipv6/bindv6only").read_text().strip() == "1"
    except OSError:
        v6_only = False
    return [ipv4, ipv6] if v6_only else [ipv6]


bind = listen_addresses(_settings.port)

# Proxies trusted for X-Forwarded-Proto: FORWARDED_ALLOW_IPS (Heroku's
# buildpack sets "*"), else loopback, including ::ffff:127.0.0.1, which is how
# a dual-stack socket reports an IPv4 peer (the app unmaps such addresses
# itself, microblog/ops/peer.py). Read from the settings table rather than by
# gunicorn, so that a typo stops the master in one line.
forwarded_allow_ips = _settings.forwarded_allow_ips

# gunicorn would take SCRIPT_NAME and PATH_INFO from request headers of a
# trusted front end. Heroku's classic buildpack trusts every peer
# (FORWARDED_ALLOW_IPS='*') and its router passes such headers on, so any
# client could set them (a 500, or links under a prefix of its choosing). The
# app is never mounted under a prefix: no header sets these.
forwarder_headers = ""

# Heroku's buildpack sets WEB_CONCURRENCY from the dyno size; elsewhere one
# process per CPU, capped so that workers x threads stays inside a small
# managed database's connection limit (about 20 on Heroku Essential).
workers = _settings.workers

# Threads keep a worker serving while one request waits on the database or on
# the password hash.
worker_class = "gthread"


def worker_class_asked_for() -> str | None:
    """The worker class named on gunicorn's command line or in GUNICORN_CMD_ARGS.

    gunicorn reads this file before it applies either of them, so this parses
    them with gunicorn's own parser. Only when gunicorn is the program running:
    a script that reads this file (a test, say) has arguments of its own.
    """
    from gunicorn.config import Config

    program = Path(sys.argv[0])
    running_gunicorn = "gunicorn" in (program.name, program.parent.name)
    config = Config()
    parser = config.parser()
    command_line = sys.argv[1:] if running_gunicorn else []
    for arguments in (command_line, config.get_cmd_args_from_env()):
        asked: str | None = parser.parse_known_args(arguments)[0].worker_class
        if asked:
            return asked
    return None


# One thread per connection the pool can hand out (pool_size + max_overflow),
# so no thread ever queues for a connection. SQLite has no pool: four threads.
#
# For gthread only. gunicorn quietly runs a "sync" worker as gthread when
# threads is above 1, so `-k sync` (the Mega-Tutorial's command) would get
# threads it did not ask for; it gets one-request-at-a-time workers instead.
_asked = worker_class_asked_for() or ""
if not (_asked == "sync" or _asked.endswith("SyncWorker")):  # gunicorn's own test
    threads = _settings.database_connections or 4

# A worker whose main loop stops answering for this long is restarted; under
# Heroku's 30 s router limit (H12), by which time nobody waits for the answer.
# (With threads a single slow request does not trip it; the router cuts that.)
timeout = 25

# Heroku and Docker send SIGKILL 30 s (Docker: our stop_grace_period) after
# SIGTERM; in-flight requests get 20 s to finish, well inside that window.
graceful_timeout = 20

# Heroku's router keeps idle connections open for 90 s: staying open longer
# means the router, never gunicorn, closes an idle connection, so no request
# is ever sent down a socket gunicorn has just closed.
keepalive = 95

# Access log on stdout (where every platform collects logs), carrying the
# request id the app echoes in X-Request-Id, so access and app lines join up.
accesslog = "-"
access_log_format = (
    '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s" request_id=%({x-request-id}o)s'
)

# On a platform (LOG_FORMAT=json) each access line is a JSON object, like the
# app's own log lines, so a log drain can index both the same way.
if _settings.log_format == "json":
    logger_class = "microblog.ops.access_log.JsonAccessLogger"

# gunicorn's own messages (start, stop, worker restarts) on stderr.
errorlog = "-"
loglevel = _settings.log_level.lower()

# The heartbeat file lives in memory: a container's overlay disk can stall
# the heartbeat and get healthy workers killed.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108

# Workers are forks of a master that has built the app once: a worker that
# starts (at boot, after a recycle or a crash) serves within milliseconds
# instead of importing everything again, and the pages the master loaded
# (code, templates, settings) are shared by all workers instead of copied.
# Building the app opens no database connection; pre_fork below makes sure.
#
# Not under supervisor or systemd (an own server): there an update reloads
# gunicorn with HUP, whose new workers must load the new code, and a
# preloading master would fork them from the old code it holds. Each sets a
# variable in the environment of what it runs (SUPERVISOR_ENABLED,
# INVOCATION_ID). Platforms and containers replace the whole process instead.
preload_app = not (
    os.environ.get("SUPERVISOR_ENABLED") or os.environ.get("INVOCATION_ID")
)


def when_ready(server: Any) -> None:
    """In the master, once, before the first worker: compile the templates and
    learn the database servers (microblog/ops/preload.py says why).

    Not in pre_fork, which runs again for every recycled worker; what is done
    here stays in the app for all the forks to come.
    """
    if server.cfg.preload_app:  # else the master has no app, and must not load one
        from microblog.ops.preload import compile_templates, learn_database_servers

        app = server.app.wsgi()
        compile_templates(app)
        learn_database_servers(app)


def pre_fork(server: Any, worker: Any) -> None:
    """In the master, before each fork: no database socket may be inherited."""
    if server.cfg.preload_app:
        from microblog.ops.preload import close_pooled_connections

        close_pooled_connections(server.app.wsgi())
    # The master's objects move to a generation the garbage collector never
    # scans, so collections in a worker do not write to (and so copy) the
    # pages it shares with the master.
    gc.freeze()


# A worker leaks nothing forever: recycle it after this many requests. Each
# worker draws its own limit between max_requests and max_requests + jitter,
# so the workers never restart together and one always keeps serving; with
# the app preloaded the replacement is ready at once.
max_requests = 2000
max_requests_jitter = 1000

# No control socket: by default gunicorn would create one under $HOME, which
# is read-only in the image and shared by every instance on a VM.
control_socket_disable = True
