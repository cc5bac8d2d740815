"""The ``worker`` process: RQ's forking worker, tuned so that no job is lost for long.

RQ's defaults notice a worker that died mid-job (SIGKILL, an out-of-memory
kill, a lost machine) only after its heartbeat expires, at least 60 s plus up
to a 10-minute maintenance pass. Here the heartbeat is checked every 10 s and
expires 20 s later, and every worker sweeps for abandoned jobs every 30 s, so
such a job is retried within about a minute.

SIGTERM (what Heroku, Fly, Docker, supervisor and systemd send) is RQ's warm
shutdown: the running job finishes, then the worker exits. A second SIGTERM is
a cold shutdown, which ends the job too (it is then retried).
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from flask import Flask
from rq import Worker
from rq.job import Job

from microblog.jobs import runner
from microblog.jobs.queue import QUEUE_NAME, redis_connection
from microblog.ops.logs import make_handler

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_SECONDS = 10
HEARTBEAT_GRACE_SECONDS = 20
MAINTENANCE_INTERVAL_SECONDS = 30
# The worker's own registration expires this long after its last sign of life;
# RQ waits for new jobs at most this minus 15 s, then does maintenance.
WORKER_TTL_SECONDS = 45


class MicroblogWorker(Worker):
    """RQ's Worker with a short heartbeat, and a work horse that outlives SIGTERM."""

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        return self.job_monitoring_interval + HEARTBEAT_GRACE_SECONDS

    def setup_work_horse_signals(self) -> None:
        # Heroku sends SIGTERM to every process of a dyno, and a terminal's
        # Ctrl-C reaches the whole group: the horse (the forked process running
        # the job) ignores both, and the worker above it decides. It waits for
        # the job on the first signal and kills the horse on a second one.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def make_worker(app: Flask, **options: Any) -> MicroblogWorker:
    connection = redis_connection(app.config["REDIS_URL"])
    return MicroblogWorker(
        [QUEUE_NAME],
        connection=connection,
        job_monitoring_interval=HEARTBEAT_INTERVAL_SECONDS,
        maintenance_interval=MAINTENANCE_INTERVAL_SECONDS,
        worker_ttl=WORKER_TTL_SECONDS,
        **options,
    )


def idle_until_stopped() -> None:
    """Without REDIS_URL there is no queue: wait quietly for SIGTERM or SIGINT.

    The platforms start a worker process wherever the web process runs; before
    Redis is added, jobs run in the web processes and this one must neither
    crash in a loop nor pretend to work.
    """
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    log.warning(
        "REDIS_URL is not set: jobs run in the web processes; this worker idles "
        "until Redis is configured and it is restarted"
    )
    stop.wait()


def run_worker(app: Flask, burst: bool = False) -> None:
    """Work on the queue until told to stop (or, with ``burst``, until it is empty)."""
    if not app.config.get("REDIS_URL"):
        if not burst:
            idle_until_stopped()
        return
    runner.worker_app = app
    # RQ's own lines through the app's handler: JSON on a platform, like the rest.
    rq_logger = logging.getLogger("rq")
    rq_logger.handlers = [make_handler(app.config["LOG_FORMAT"])]
    rq_logger.propagate = False
    worker = make_worker(app)
    log.info("worker %s listening on %s", worker.name, QUEUE_NAME)
    # The scheduler moves retries whose wait is over back onto the queue.
    worker.work(burst=burst, with_scheduler=True, logging_level=app.config["LOG_LEVEL"])
