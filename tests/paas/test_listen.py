"""gunicorn listens on IPv4 and IPv6 (Fly's private network is IPv6 only),
whatever the kernel's net.ipv6.bindv6only says, and the app sees the client's
address in its usual form on either."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from microblog.ops.peer import unmapped
from tests.harness.environment import environment
from tests.harness.paths import ROOT
from tests.harness.processes import require_program
from tests.paas.listen_probe import TEST_TARGET, whoami
from tests.paas.support import run_gunicorn


def test_the_app_answers_on_ipv4_and_on_ipv6_loopback(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    gate.mkdir()
    with run_gunicorn(tmp_path, TEST_TARGET, PAAS_TEST_GATE=str(gate)) as server:
        # A dual-stack socket reports IPv4 clients as ::ffff:127.0.0.1; the app
        # sees the plain address, as it would from a 0.0.0.0 socket.
        assert whoami("127.0.0.1", server.port)["remote_addr"] == "127.0.0.1"
        assert whoami("::1", server.port)["remote_addr"] == "::1"


@pytest.mark.parametrize(
    ("bindv6only", "sockets"),
    [("0", "['[::]:"), ("1", "['0.0.0.0:")],
    ids=["dual-stack-socket", "ipv6-only-sockets"],
)
def test_both_kernel_settings_serve_ipv4_and_ipv6(
    tmp_path: Path, bindv6only: str, sockets: str
) -> None:
    # A network namespace of its own: the machine's setting stays untouched.
    unshare = require_program("unshare", "util-linux")
    require_program("ip", "iproute2")
    script = (
        "ip link set lo up && "
        f"echo {bindv6only} > /proc/sys/net/ipv6/bindv6only && "
        f'exec "{sys.executable}" -m tests.paas.listen_probe "{tmp_path}"'
    )
    # Root makes the namespace directly; anyone else through a user namespace.
    own_root = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    result = subprocess.run(
        [unshare, *own_root, "--net", "sh", "-c", script],
        cwd=ROOT,
        env=environment(PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.splitlines()[-1])
    assert seen["bind"].startswith(sockets)
    assert seen["ipv4"]["remote_addr"] == "127.0.0.1"
    assert seen["ipv6"]["remote_addr"] == "::1"


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("::FFFF:10.0.0.1", "10.0.0.1"),
        ("::1", "::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("198.51.100.2", "198.51.100.2"),
        ("::ffff:not-an-address", "::ffff:not-an-address"),
    ],
)
def test_only_ipv4_mapped_addresses_change(address: str, expected: str) -> None:
    assert unmapped(address) == expected
