"""Fixtures of the VM area: the shipped nginx site in front of gunicorn."""

from __future__ import annotations

import shutil
import signal
from collections.abc import Iterator

import pytest

from tests.harness.processes import BackgroundServer, port_open, require_program
from tests.vm.support import shared_dir
from tests.vm.web_stack import (
    WebStack,
    prepare_app,
    prepare_tls,
    start_gunicorn,
    write_nginx_files,
)


@pytest.fixture(scope="session")
def web_stack() -> Iterator[WebStack]:
    """nginx with the shipped site in front of gunicorn, for the whole session."""
    nginx = require_program("nginx", "nginx")
    require_program("openssl", "openssl")
    root = shared_dir("microblog-web-")
    certificates = prepare_tls(root)
    env = prepare_app(root)
    gunicorn = start_gunicorn(root, env)
    try:
        http_port, https_port = write_nginx_files(root, gunicorn.port)
        conf = str(root / "nginx" / "nginx.conf")
        server = BackgroundServer(
            "nginx", root / "nginx", [nginx, "-c", conf, "-g", "daemon off;"]
        )
        server.wait_ready(lambda: port_open(http_port) and port_open(https_port))
    except BaseException:
        gunicorn.stop()
        shutil.rmtree(root, ignore_errors=True)
        raise
    yield WebStack(
        root=root,
        http_port=http_port,
        https_port=https_port,
        certificates=certificates,
        gunicorn=gunicorn,
        upstream_port=gunicorn.port,
        nginx=server,
        nginx_program=nginx,
        static_root=root / "static",
        acme_root=root / "acme",
        app_env=env,
    )
    server.stop(signal.SIGQUIT)
    gunicorn.stop()
    shutil.rmtree(root, ignore_errors=True)
