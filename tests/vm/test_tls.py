"""deploy/nginx TLS settings graded by sslyze against Mozilla's intermediate profile."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.harness.processes import (
    BackgroundServer,
    port_open,
    run_checked,
    skip_or_fail,
)
from tests.vm.support import TEST_HOST, provision_function, shared_dir
from tests.vm.web_stack import WebStack, write_nginx_files

pytestmark = pytest.mark.slow

LEGACY_PROTOCOLS = (
    "ssl_2_0_cipher_suites",
    "ssl_3_0_cipher_suites",
    "tls_1_0_cipher_suites",
    "tls_1_1_cipher_suites",
)


def sslyze_program() -> str:
    found = shutil.which("sslyze") or str(Path(sys.executable).parent / "sslyze")
    if not Path(found).exists():
        skip_or_fail("sslyze not installed (pip install -r requirements-dev.txt)")
    return found


def grade(port: int, ca: Path, report: Path) -> tuple[int, str, dict[str, Any]]:
    """Run sslyze's Mozilla-intermediate check; exit status, text and JSON result."""
    # host:port{ip}: the name for SNI and the certificate, the address to connect to.
    target = f"{TEST_HOST}:{port}{{127.0.0.1}}"
    command = [sslyze_program(), "--mozilla_config", "intermediate"]
    command += ["--certinfo_ca_file", str(ca), "--json_out", str(report)]
    result = subprocess.run(
        [*command, target],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    (server,) = json.loads(report.read_text())["server_scan_results"]
    return result.returncode, result.stdout, server["scan_result"]


def accepted(scan: dict[str, Any], protocol: str) -> list[str]:
    suites = scan[protocol]["result"]["accepted_cipher_suites"]
    return [suite["cipher_suite"]["name"] for suite in suites]


def test_tls_is_compliant_with_mozilla_intermediate(
    web_stack: WebStack, tmp_path: Path
) -> None:
    status, text, scan = grade(
        web_stack.https_port, web_stack.certificates.ca, tmp_path / "sslyze.json"
    )
    assert "OK - Compliant." in text, text
    assert status == 0
    for protocol in LEGACY_PROTOCOLS:
        assert accepted(scan, protocol) == [], protocol
    tls12 = accepted(scan, "tls_1_2_cipher_suites")
    assert tls12, "TLS 1.2 must stay available for older clients"
    assert accepted(scan, "tls_1_3_cipher_suites")
    # AEAD with forward secrecy only: no CBC, no static-RSA key exchange.
    for name in tls12:
        assert "_GCM_" in name or "CHACHA20" in name, name
        assert name.startswith(("TLS_ECDHE_", "TLS_DHE_")), name
    curves = {
        curve["name"] for curve in scan["elliptic_curves"]["result"]["supported_curves"]
    }
    assert curves == {"X25519", "secp256r1", "secp384r1"}


def test_provision_self_signed_certificate_fails_only_on_trust(
    web_stack: WebStack, tmp_path: Path
) -> None:
    """The --self-signed pair meets the profile in every way but being vouched for."""
    root = shared_dir("microblog-selfsigned-")
    server = None
    try:
        tls = root / "tls"
        tls.mkdir()
        provision_function("write_self_signed_certificate", TEST_HOST, str(tls))
        provision_function("write_dh_parameters", str(tls / "ffdhe2048.pem"))
        details = run_checked(
            ["openssl", "x509", "-in", str(tls / "fullchain.pem"), "-noout", "-text"]
        )
        assert "Public-Key: (2048 bit)" in details
        assert f"DNS:{TEST_HOST}" in details
        _, https_port = write_nginx_files(root, web_stack.upstream_port)
        conf = str(root / "nginx" / "nginx.conf")
        server = BackgroundServer(
            "nginx",
            root / "nginx",
            [web_stack.nginx_program, "-c", conf, "-g", "daemon off;"],
        )
        server.wait_ready(lambda: port_open(https_port))
        status, text, _ = grade(https_port, tls / "fullchain.pem", tmp_path / "s.json")
    finally:
        if server is not None:
            server.stop(signal.SIGQUIT)
        shutil.rmtree(root, ignore_errors=True)
    verdict = text.partition("COMPLIANCE AGAINST TLS CONFIGURATION")[2]
    problems = [
        line.strip() for line in verdict.splitlines() if line.strip().startswith("* ")
    ]
    assert status == 1
    untrusted = f"Certificate path validation failed for CN={TEST_HOST}."
    assert problems == [f"* certificate_path_validation: {untrusted}"], text
