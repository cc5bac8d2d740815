"""Heroku's Redis speaks TLS with a self-signed certificate: the app still connects.

A real redis-server with TLS on and a certificate nobody vouches for plays
Heroku's Key-Value Store: the URL as Heroku hands it out (``rediss://``) is
refused by a verifying client, and the same URL read on a dyno works, for the
job queue and for the shared rate limits alike.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from limits.storage import storage_from_string

from microblog.config import load_config
from microblog.jobs.queue import JobsUnavailable, RedisBackend
from tests.harness.processes import (
    BackgroundServer,
    free_port,
    port_open,
    private_dir,
    require_program,
)

KEY = "9f2c4e7a1b3d5f6e8a0c2e4f6a8b0d1c3e5f7a9b1d3f5e7c9a0b2d4f6e8a1c3e"


@pytest.fixture
def tls_redis() -> Iterator[str]:
    """A redis-server answering TLS only, with a self-signed certificate."""
    program = require_program("redis-server", "redis-server", label="Redis")
    openssl = require_program("openssl", "openssl")
    root = private_dir("microblog-redis-tls-")
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", "key.pem", "-out", "cert.pem", "-subj", "/CN=redis.example"),
        ],
        cwd=root,
        check=True,
        capture_output=True,
    )
    port = free_port()
    command = [program, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1"]
    command += ["--tls-cert-file", "cert.pem", "--tls-key-file", "key.pem"]
    command += ["--tls-auth-clients", "no", "--save", "", "--appendonly", "no"]
    server = BackgroundServer("redis-tls", root, command)
    server.wait_ready(lambda: port_open(port))
    yield f"rediss://127.0.0.1:{port}/0"
    server.stop()


def settings(url: str, **platform: str) -> dict[str, object]:
    return load_config({"SECRET_KEY": KEY, "REDIS_URL": url, **platform})


def test_on_heroku_a_rediss_url_skips_the_certificate_check() -> None:
    heroku = settings("rediss://:pw@ec2.example.com:12345", DYNO="web.1")
    assert (
        heroku["REDIS_URL"] == "rediss://:pw@ec2.example.com:12345?ssl_cert_reqs=none"
    )
    assert heroku["RATELIMIT_STORAGE_URI"] == heroku["REDIS_URL"]
    # Elsewhere, and where the URL decides for itself, it is left as it is.
    assert settings("rediss://h:1/0", FLY_APP_NAME="x")["REDIS_URL"] == "rediss://h:1/0"
    chosen = "rediss://h:1/0?ssl_cert_reqs=required"
    assert settings(chosen, DYNO="web.1")["REDIS_URL"] == chosen
    assert settings("redis://h:1/0", DYNO="web.1")["REDIS_URL"] == "redis://h:1/0"


def test_jobs_and_rate_limits_reach_a_self_signed_tls_redis_on_heroku(
    tls_redis: str,
) -> None:
    job = ("password_reset", "0" * 32, ("a@example.com", "http://x/", "en"))
    plain = RedisBackend(str(settings(tls_redis)["REDIS_URL"]), 1, 1)
    with pytest.raises(JobsUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
        plain.enqueue(*job)
    on_heroku = settings(tls_redis, DYNO="web.1")
    backend = RedisBackend(str(on_heroku["REDIS_URL"]), 1, 1)
    backend.enqueue(*job)
    assert backend.queue.count == 1
    backend.queue.empty()
    options: dict[str, float] = on_heroku["RATELIMIT_STORAGE_OPTIONS"]  # type: ignore[assignment]
    limits_storage = storage_from_string(
        str(on_heroku["RATELIMIT_STORAGE_URI"]), **options
    )
    assert limits_storage.check() is True
