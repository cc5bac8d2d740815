"""Where jobs go: an RQ queue on Redis, or a thread of this process without Redis.

Both take the same job names and arguments and end in the same function
(``microblog.jobs.runner.perform``), so a laptop without Redis runs exactly the
code a worker dyno runs. Only the place and the retry bookkeeping differ.
"""

from __future__ import annotations

import logging
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, Protocol

import redis
from flask import Flask, current_app
from rq import Callback, Queue, Retry

log = logging.getLogger(__name__)

QUEUE_NAME = "microblog"
# A job that runs longer than this is stopped and retried (an export of 100,000
# posts takes seconds; a stuck SMTP exchange gives up after its own timeout).
JOB_TIMEOUT_SECONDS = 600
# Failed jobs stay listed for `flask jobs failed` for a week.
FAILURE_TTL_SECONDS = 7 * 24 * 3600
# Each retry waits three times as long as the one before: 10 s, 30 s, 90 s.
RETRY_GROWTH = 3


class JobsUnavailable(RuntimeError):
    """The queue did not take the job (Redis unreachable); nothing was started."""


class Backend(Protocol):
    def enqueue(self, name: str, job_id: str, args: tuple[Any, ...]) -> None: ...


def retry_intervals(retries: int, first_delay: int) -> list[int]:
    return [first_delay * RETRY_GROWTH**attempt for attempt in range(retries)]


def redis_connection(url: str) -> redis.Redis:
    """A client that gives up in 2 s, so a lost Redis cannot hang a web thread."""
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)


class RedisBackend:
    """Jobs for the ``worker`` process, through RQ."""

    def __init__(self, url: str, retries: int, first_delay: int) -> None:
        self.queue = Queue(QUEUE_NAME, connection=redis_connection(url))
        self.retries = retries
        self.intervals = retry_intervals(retries, first_delay)

    def enqueue(self, name: str, job_id: str, args: tuple[Any, ...]) -> None:
        from microblog.jobs.runner import perform_in_worker, record_failure

        try:
            self.queue.enqueue(
                perform_in_worker,
                name,
                job_id,
                *args,
                job_id=job_id,
                description=name,
                job_timeout=JOB_TIMEOUT_SECONDS,
                failure_ttl=FAILURE_TTL_SECONDS,
                retry=Retry(max=self.retries, interval=self.intervals),
                on_failure=Callback(record_failure),
            )
        except redis.RedisError as error:
            raise JobsUnavailable(str(error)) from error


class ThreadBackend:
    """Jobs in a thread of this process: `make run` without Redis still mails."""

    def __init__(self, app: Flask, retries: int, first_delay: int) -> None:
        self.app = app
        self.intervals = retry_intervals(retries, first_delay)
        self.executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="jobs")
        self.pending: set[Future[None]] = set()

    def enqueue(self, name: str, job_id: str, args: tuple[Any, ...]) -> None:
        future = self.executor.submit(self.run_with_retries, name, job_id, args)
        self.pending.add(future)
        future.add_done_callback(self.pending.discard)

    def wait(self, timeout: float = 30) -> None:
        """Block until every job submitted so far has ended (tests, shutdown)."""
        wait(list(self.pending), timeout=timeout)

    def run_with_retries(self, name: str, job_id: str, args: tuple[Any, ...]) -> None:
        from microblog.jobs.runner import perform, record_final_failure

        for attempt in range(len(self.intervals) + 1):
            try:
                perform(self.app, name, job_id, args)
                return
            except Exception as error:
                log.exception(
                    "job %s %s failed (attempt %d)", name, job_id, attempt + 1
                )
                if attempt == len(self.intervals):
                    record_final_failure(self.app, job_id, error)
                    return
                time.sleep(self.intervals[attempt])


def new_job_id() -> str:
    return uuid.uuid4().hex


def backend_for(app: Flask) -> Backend:
    """RQ when REDIS_URL is set, else a thread pool of this process."""
    retries = app.config["JOB_RETRIES"]
    delay = app.config["JOB_RETRY_DELAY"]
    if app.config.get("REDIS_URL"):
        return RedisBackend(app.config["REDIS_URL"], retries, delay)
    return ThreadBackend(app, retries, delay)


def enqueue(name: str, *args: Any, job_id: str | None = None) -> str:
    """Start job ``name`` with ``args``; its id. Raises :class:`JobsUnavailable`."""
    job_id = job_id or new_job_id()
    backend: Backend = current_app.extensions["jobs"]
    backend.enqueue(name, job_id, args)
    return job_id
