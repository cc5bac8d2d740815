"""Helpers for the deploy tests: render the shipped files, make certificates, talk TLS.

The files in ``deploy/`` name production paths and ports (``/srv/microblog``,
``127.0.0.1:8000``, ports 80 and 443). Tests copy them into a temporary folder with
those values replaced, and fail loudly when a value to replace is missing, so the
tested copy can never silently drift from the shipped file.
"""

from __future__ import annotations

import socket
import ssl
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.harness.http_client import Reply, request
from tests.harness.paths import DEPLOY
from tests.harness.processes import run_checked

PROVISION = DEPLOY / "provision.sh"
TEST_HOST = "localhost"
# Mozilla's intermediate profile allows certificates of at most 366 days.
CERT_DAYS = "90"


def render(source: Path, replacements: Mapping[str, str]) -> str:
    """``source`` with every key replaced; a key that does not occur is an error."""
    text = source.read_text()
    for old, new in replacements.items():
        if old not in text:
            raise AssertionError(f"{source.name} no longer contains {old!r}")
        text = text.replace(old, new)
    return text


def shared_dir(prefix: str) -> Path:
    """A temporary folder that nginx's and supervisor's unprivileged users can read."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def ipv6_loopback() -> bool:
    """True when ``::1`` can be bound (some CI containers run without IPv6)."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def provision_shell(snippet: str, *args: str, dry_run: bool = False) -> str:
    """Run bash ``snippet`` (arguments in $1...) with provision.sh's functions."""
    # Sourcing defines the functions and settings without running anything.
    script = f'source "$1"; shift; DRY_RUN={str(dry_run).lower()}; {snippet}'
    return run_checked(["bash", "-c", script, "bash", str(PROVISION), *args])


def provision_function(name: str, *args: str, dry_run: bool = False) -> str:
    """Call one function of provision.sh, for real unless ``dry_run``."""
    return provision_shell(f'{name} "$@"', *args, dry_run=dry_run)


@dataclass(frozen=True)
class Certificates:
    """A test CA and a server certificate for ``localhost`` that it signed."""

    ca: Path
    chain: Path
    key: Path


def make_certificates(folder: Path) -> Certificates:
    """Make a CA and a leaf certificate with openssl, as strict verifiers want them."""
    ca_key, ca = folder / "ca.key", folder / "ca.pem"
    key, csr, chain = (
        folder / "server.key",
        folder / "server.csr",
        folder / "server.pem",
    )
    extensions = folder / "server.ext"
    make_ca = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-sha256", "-nodes"]
    make_ca += ["-days", CERT_DAYS, "-subj", "/CN=microblog test CA"]
    make_ca += ["-addext", "basicConstraints=critical,CA:TRUE"]
    make_ca += ["-addext", "keyUsage=critical,keyCertSign,cRLSign"]
    run_checked([*make_ca, "-keyout", str(ca_key), "-out", str(ca)])
    request = ["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes"]
    request += ["-subj", f"/CN={TEST_HOST}", "-keyout", str(key), "-out", str(csr)]
    run_checked(request)
    extensions.write_text(
        f"subjectAltName=DNS:{TEST_HOST}\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "authorityKeyIdentifier=keyid\n"
        "subjectKeyIdentifier=hash\n"
    )
    sign = ["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca)]
    sign += ["-CAkey", str(ca_key), "-CAcreateserial", "-days", CERT_DAYS, "-sha256"]
    run_checked([*sign, "-extfile", str(extensions), "-out", str(chain)])
    key.chmod(0o600)
    return Certificates(ca=ca, chain=chain, key=key)


def tls_context(ca: Path) -> ssl.SSLContext:
    """A client context that trusts only the test CA."""
    return ssl.create_default_context(cafile=str(ca))


def fetch(
    port: int,
    path: str,
    *,
    tls: ssl.SSLContext | None = None,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    source_ip: str = "127.0.0.1",
) -> Reply:
    """One request to the site on a loopback port, as ``Host: localhost:port``."""
    return request(
        port,
        path,
        method=method,
        headers={"Host": f"{TEST_HOST}:{port}", **(headers or {})},
        body=body,
        tls=tls,
        server_name=TEST_HOST,
        source_ip=source_ip,
        timeout=10,
    )
