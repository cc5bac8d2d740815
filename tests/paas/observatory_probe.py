"""Mozilla's HTTP Observatory scanner against the app behind the project's nginx.

Run inside a network namespace of its own (the test starts it under
``unshare --net``): the scanner only ever asks for http://HOST/ and
https://HOST/, so nginx must listen on ports 80 and 443, which only a private
namespace has free; the scan also cannot reach anything but this machine's
loopback. ``python -m tests.paas.observatory_probe FOLDER`` prints the
scanner's JSON report.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from tests.harness.environment import environment
from tests.harness.processes import BackgroundServer, port_open, require_program
from tests.paas.node_tools import NODE_PROJECT
from tests.vm.support import TEST_HOST
from tests.vm.web_stack import (
    prepare_app,
    prepare_tls,
    start_gunicorn,
    write_nginx_files,
)

SCANNER = NODE_PROJECT / "node_modules" / "@mdn" / "mdn-http-observatory"
# The production ports the scanner knows; the namespace has them free.
HTTP_PORT, HTTPS_PORT = 80, 443
SCAN_TIMEOUT = 180


def scan(root: Path) -> str:
    """Serve the app behind nginx with a certificate from a test CA, scan it."""
    nginx = require_program("nginx", "nginx")
    certificates = prepare_tls(root)
    gunicorn = start_gunicorn(root, prepare_app(root))
    try:
        write_nginx_files(root, gunicorn.port, (HTTP_PORT, HTTPS_PORT))
        conf = str(root / "nginx" / "nginx.conf")
        server = BackgroundServer(
            "nginx", root / "nginx", [nginx, "-c", conf, "-g", "daemon off;"]
        )
        try:
            server.wait_ready(lambda: port_open(HTTP_PORT) and port_open(HTTPS_PORT))
            # The scanner's own command would replace NODE_EXTRA_CA_CERTS with
            # Mozilla's bundle; its script, run directly, trusts the test CA.
            result = subprocess.run(
                ["node", str(SCANNER / "src" / "scan.js"), TEST_HOST],
                cwd=SCANNER,
                env=environment(NODE_EXTRA_CA_CERTS=str(certificates.ca)),
                capture_output=True,
                text=True,
                timeout=SCAN_TIMEOUT,
                check=False,
            )
        finally:
            server.stop(signal.SIGQUIT)
    finally:
        gunicorn.stop()
    if result.returncode != 0:
        raise SystemExit(f"scanner failed: {result.stdout}{result.stderr}")
    return result.stdout


if __name__ == "__main__":
    print(scan(Path(sys.argv[1])))
