"""The worker as the platforms run it, and a reset request that leaks nothing.

- gunicorn answers reset requests for known and unknown addresses in the same
  short time, even when the SMTP server takes 2 s to answer: the mail is a job.
- The Procfile's worker, run by honcho as `heroku local` would, mails an export
  with every post, and stops warm on SIGTERM.
"""

from __future__ import annotations

import signal
import statistics
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.databases import PostgresServer, RedisServer
from tests.harness.environment import environment
from tests.harness.live_app import LiveApp
from tests.harness.mail_server import MailServer, attachment_json
from tests.harness.paths import ROOT, VENV_BIN
from tests.harness.processes import wait_until
from tests.resilience.jobs_stack import job_stack

pytestmark = [pytest.mark.resilience, pytest.mark.slow]

SMTP_DELAY = 2.0
FAST_ENOUGH = 0.5
ROUNDS = 5
PASSWORD = "a-long-enough-password"


@pytest.fixture
def slow_mail() -> Iterator[MailServer]:
    server = MailServer(delay=SMTP_DELAY)
    yield server
    server.stop()


def register(live: LiveApp, username: str) -> None:
    reply = live.client().submit(
        "/auth/register",
        {
            "username": username,
            "email": f"{username}@example.com",
            "password": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert reply.status == 302, reply.text[:500]


def timed_reset(live: LiveApp, email: str) -> float:
    client = live.client()
    token = client.csrf_token("/auth/reset_password_request")
    start = time.perf_counter()
    reply = client.request(
        "POST",
        "/auth/reset_password_request",
        form={"email": email, "csrf_token": token},
    )
    elapsed = time.perf_counter() - start
    assert reply.status == 302, reply.text[:500]
    return elapsed


def measure_resets(live: LiveApp) -> tuple[list[float], list[float]]:
    register(live, "alice")
    timed_reset(live, "warmup@example.com")  # first request loads templates
    known, unknown = [], []
    for _ in range(ROUNDS):
        known.append(timed_reset(live, "alice@example.com"))
        unknown.append(timed_reset(live, "nobody@example.com"))
    return known, unknown


def report(mode: str, known: list[float], unknown: list[float]) -> str:
    def ms(values: list[float]) -> str:
        median, longest = statistics.median(values) * 1000, max(values) * 1000
        return f"median {median:.0f} ms, max {longest:.0f} ms"

    return f"{mode}: known {ms(known)}; unknown {ms(unknown)}"


@pytest.mark.parametrize("queue", ["redis", "thread"])
def test_reset_answers_fast_for_known_and_unknown_addresses_with_slow_smtp(
    postgres: PostgresServer,
    redis: RedisServer,
    slow_mail: MailServer,
    tmp_path: Path,
    queue: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    database = postgres.new_database()
    settings = {**slow_mail.environment(), "RATELIMIT_ENABLED": "0"}
    if queue == "redis":
        settings["REDIS_URL"] = redis.url
    live = LiveApp(database, tmp_path, **settings)
    try:
        with job_stack(database, redis.url, tmp_path, slow_mail) as stack:
            worker = stack.worker("worker") if queue == "redis" else None
            try:
                known, unknown = measure_resets(live)
                # Every known request is mailed, 2 s later each; none other.
                messages = slow_mail.wait_for(ROUNDS, timeout=60)
            finally:
                if worker is not None:
                    worker.close()
    finally:
        live.stop()
    with capsys.disabled():
        print("\n" + report(queue, known, unknown))
    assert max(known) < FAST_ENOUGH, known
    assert max(unknown) < FAST_ENOUGH, unknown
    assert {m["To"] for m in messages} == {"alice@example.com"}
    assert slow_mail.connections == ROUNDS


def test_procfile_worker_under_honcho_mails_every_post_and_stops_warm(
    postgres: PostgresServer, redis: RedisServer, tmp_path: Path
) -> None:
    with job_stack(postgres.new_database(), redis.url, tmp_path) as stack:
        env_file = tmp_path / "worker.env"
        env_file.write_text(
            "".join(
                f"{key}={stack.env[key]}\n"
                for key in (
                    "DATABASE_URL",
                    "REDIS_URL",
                    "SECRET_KEY",
                    "MAIL_SERVER",
                    "MAIL_PORT",
                    "MAIL_USE_TLS",
                )
            )
        )
        log = (tmp_path / "honcho.log").open("wb")
        honcho = subprocess.Popen(
            [
                str(VENV_BIN / "honcho"),
                "--no-colour",
                *("-f", str(ROOT / "Procfile")),
                *("-d", str(ROOT)),
                *("-e", str(env_file)),
                "start",
                "worker",
            ],
            cwd=ROOT,
            env=environment(FLASK_SKIP_DOTENV="1"),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            output = tmp_path / "honcho.log"
            wait_until(
                lambda: "listening on" in output.read_text(),
                "worker listening",
                timeout=60,
                process=honcho,
            )
            alice = stack.user_with_posts("alice", posts=1234)
            task_id = stack.export(alice)
            (message,) = stack.mail.wait_for(1, timeout=60)
            posts = attachment_json(message)["posts"]
            assert [p["body"] for p in posts] == [f"alice {i}" for i in range(1234)]
            stack.wait_finished(task_id, timeout=30)
            # A second export, stopped mid-way by SIGTERM, still arrives.
            stack.mail.delay = 3
            seen = stack.mail.connections
            second = stack.export(alice)
            stack.wait_until_smtp_connection(seen)
            honcho.send_signal(signal.SIGTERM)
            honcho.wait(60)
            assert stack.mails_for(second) == 1
            assert stack.task(second).status == "finished"
        finally:
            if honcho.poll() is None:
                honcho.kill()
                honcho.wait()
            log.close()
