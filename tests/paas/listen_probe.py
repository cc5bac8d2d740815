"""Run inside a fresh network namespace: serve as the Procfile does, ask over
IPv4 and IPv6 who the client is, print the answers as JSON.

``python -m tests.paas.listen_probe LOG_DIR`` (the test starts it under
``unshare`` after setting the namespace's net.ipv6.bindv6only).
"""

from __future__ import annotations

import http.client
import json
import sys
from pathlib import Path

from tests.paas.support import gunicorn_settings, run_gunicorn

TEST_TARGET = "tests.paas.wsgi_with_test_routes:build()"


def whoami(host: str, port: int) -> dict[str, str]:
    """What the app believes about a client that connects to ``host``."""
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        connection.request("GET", "/_test/whoami")
        response = connection.getresponse()
        answer: dict[str, str] = json.loads(response.read())
        return answer
    finally:
        connection.close()


def main(log_dir: Path) -> dict[str, object]:
    gate = log_dir / "gate"
    gate.mkdir(exist_ok=True)
    with run_gunicorn(log_dir, TEST_TARGET, PAAS_TEST_GATE=str(gate)) as server:
        return {
            "bind": gunicorn_settings(PORT=str(server.port))["bind"],
            "ipv4": whoami("127.0.0.1", server.port),
            "ipv6": whoami("::1", server.port),
        }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
