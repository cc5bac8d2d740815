"""What Heroku's classic Python buildpack exports on every dyno means for this
app, proven with real gunicorn started with those variables:

- ``FORWARDED_ALLOW_IPS='*'``: gunicorn takes ``X-Forwarded-Proto`` from any
  peer (on a dyno the only peer is the router, which sets that header itself);
  it never rewrites the client address, and, because gunicorn.conf.py names no
  forwarder headers, no client can set ``SCRIPT_NAME`` through it.
- ``GUNICORN_CMD_ARGS='--access-logfile -'``: settings given there override
  gunicorn.conf.py; this one names the same stdout, so access lines stay there.
- ``PROXY_COUNT`` (1 when ``DYNO`` is set): ProxyFix takes the client address
  from the router's hop of ``X-Forwarded-For``, never from the client's own.
"""

from __future__ import annotations

import http.client
import json
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from tests.harness.app_server import AppServer
from tests.paas.support import gunicorn_settings, run_gunicorn

TEST_TARGET = "tests.paas.wsgi_with_test_routes:build()"
# What the buildpack's .profile.d script exports on every dyno.
HEROKU_EXPORTS = {"FORWARDED_ALLOW_IPS": "*", "GUNICORN_CMD_ARGS": "--access-logfile -"}
# A peer outside gunicorn's default trusted front end (loopback 127.0.0.1, ::1).
ROUTER = "127.0.0.2"


def whoami(port: int, headers: dict[str, str]) -> dict[str, str]:
    """What the app believes about a request the router forwarded."""
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=30, source_address=(ROUTER, 0)
    )
    try:
        connection.request("GET", "/_test/whoami", headers=headers)
        response = connection.getresponse()
        assert response.status == 200
        answer: dict[str, str] = json.loads(response.read())
        return answer
    finally:
        connection.close()


def serve(tmp_path: Path, **variables: str) -> AbstractContextManager[AppServer]:
    gate = tmp_path / "gate"
    gate.mkdir(exist_ok=True)
    return run_gunicorn(tmp_path, TEST_TARGET, PAAS_TEST_GATE=str(gate), **variables)


def test_gunicorn_cmd_args_override_the_config_file() -> None:
    assert gunicorn_settings(**HEROKU_EXPORTS)["accesslog"] == "-"
    # The variable wins over gunicorn.conf.py: a different value shows it.
    moved = gunicorn_settings(GUNICORN_CMD_ARGS="--access-logfile /dev/null")
    assert moved["accesslog"] == "/dev/null"


@pytest.mark.parametrize("proxy_count", ["0", "1"])
def test_on_a_dyno_gunicorn_trusts_the_scheme_from_any_peer(
    tmp_path: Path, proxy_count: str
) -> None:
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    with serve(tmp_path, DYNO="web.1", PROXY_COUNT=proxy_count, **HEROKU_EXPORTS) as s:
        seen = whoami(s.port, headers)
        assert s.stop() == 0
    # HTTPS as the router reported it, whether or not ProxyFix is on: with '*'
    # gunicorn itself sets wsgi.url_scheme, so FORCE_HTTPS never loops.
    assert seen["scheme"] == "https"
    # The client address comes only from ProxyFix: gunicorn never rewrites it.
    assert seen["remote_addr"] == ("203.0.113.7" if proxy_count == "1" else ROUTER)
    # GUNICORN_CMD_ARGS' access log is stdout, as gunicorn.conf.py's is.
    access_log, _ = s.output()
    assert "GET /_test/whoami" in access_log


def test_off_heroku_gunicorn_trusts_no_such_peer(tmp_path: Path) -> None:
    # Without the buildpack's '*', 127.0.0.2 is not a trusted front end.
    with serve(tmp_path, PROXY_COUNT="0") as s:
        seen = whoami(s.port, {"X-Forwarded-Proto": "https"})
    assert seen["scheme"] == "http"


def test_the_client_address_is_the_routers_hop_not_the_clients_claim(
    tmp_path: Path,
) -> None:
    # A client sends its own X-Forwarded-For; the router appends the address
    # it saw. PROXY_COUNT=1 (the default when DYNO is set) takes the last one.
    forged = {
        "X-Forwarded-For": "198.51.100.66, 203.0.113.7",
        "X-Forwarded-Proto": "https",
    }
    with serve(tmp_path, DYNO="web.1", **HEROKU_EXPORTS) as s:
        seen = whoami(s.port, forged)
    assert seen["remote_addr"] == "203.0.113.7"


def test_no_client_sets_script_name_although_every_peer_is_trusted(
    tmp_path: Path,
) -> None:
    # gunicorn's default would take SCRIPT_NAME from a trusted peer's header;
    # with '*' that is anyone (a 500, or links under the client's prefix).
    with serve(tmp_path, DYNO="web.1", **HEROKU_EXPORTS) as s:
        headers = {"SCRIPT_NAME": "/elsewhere", "X-Forwarded-Proto": "https"}
        seen = whoami(s.port, headers)
    assert seen["script_root"] == ""
