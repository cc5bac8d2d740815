"""pytest plugin: the shipped nginx site in front of a real gunicorn serving the app.

Loaded from ``tests/conftest.py``. One stack serves the whole session: gunicorn with
the app on a migrated SQLite database (one demo user), behind nginx started with
Debian's own ``nginx.conf`` and ``deploy/nginx/*.conf`` rendered into a temporary
prefix with free loopback ports and a certificate from a test CA.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.deploy_support import (
    DEPLOY,
    REPO,
    TEST_HOST,
    Certificates,
    child_env,
    ipv6_loopback,
    make_certificates,
    provision_function,
    render,
    run_checked,
    shared_dir,
)
from tests.processes import (
    BackgroundServer,
    ServiceNotReady,
    free_port,
    port_open,
    require_program,
    wait_for_http,
)

DEBIAN_NGINX_CONF = Path("/etc/nginx/nginx.conf")
# REMOTE_ADDR and wsgi.url_scheme as the app left them: ProxyFix rewrites both.
ACCESS_LOG_FORMAT = (
    "%(m)s %(U)s?%(q)s %(s)s client=%({remote_addr}e)s scheme=%({wsgi.url_scheme}e)s"
)
MINIMAL_NGINX_CONF = """\
events {}
http {
    include /etc/nginx/mime.types;
    include %(site)s;
}
"""


@dataclass
class WebStack:
    """The running pair and what the tests need to know about it."""

    root: Path
    http_port: int
    https_port: int
    certificates: Certificates
    gunicorn: BackgroundServer
    upstream_port: int
    nginx: BackgroundServer
    nginx_program: str
    static_root: Path
    acme_root: Path
    app_env: dict[str, str]

    @property
    def access_log(self) -> Path:
        return self.root / "gunicorn-access.log"

    @property
    def site(self) -> Path:
        return self.root / "nginx" / "sites" / "microblog.conf"

    @property
    def nginx_conf(self) -> Path:
        return self.root / "nginx" / "nginx.conf"


def flask_command(env: dict[str, str], *args: str) -> str:
    """Run ``flask --app microblog ...`` in the repository, as provision.sh does."""
    command = [sys.executable, "-m", "flask", "--app", "microblog", *args]
    return run_checked(command, cwd=REPO, env=env)


def start_gunicorn(root: Path, env: dict[str, str]) -> tuple[BackgroundServer, int]:
    """gunicorn serving ``microblog:create_app()`` on a free loopback port."""
    port = free_port()
    folder = root / "gunicorn"
    folder.mkdir()
    # The project's gunicorn.conf.py, with the address and logs the tests need.
    command = [sys.executable, "-m", "gunicorn", "--chdir", str(REPO)]
    command += ["--config", str(REPO / "gunicorn.conf.py")]
    command += ["--bind", f"127.0.0.1:{port}", "--workers", "2"]
    command += ["--access-logfile", str(root / "gunicorn-access.log")]
    command += ["--access-logformat", ACCESS_LOG_FORMAT, "microblog:create_app()"]
    server = BackgroundServer("gunicorn", folder, command, env=env)
    server.wait_ready(lambda: port_answers(port))
    return server, port


def port_answers(port: int) -> bool:
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
    except ServiceNotReady:
        return False
    return True


def site_replacements(
    root: Path, http_port: int, https_port: int, upstream: int
) -> dict[str, str]:
    """Production values in deploy/nginx/microblog.conf and their test stand-ins."""
    v6 = ipv6_loopback()
    return {
        "listen [::]:80": f"listen [::1]:{http_port}" if v6 else "# listen [::]:80",
        "listen [::]:443": f"listen [::1]:{https_port}" if v6 else "# listen [::]:443",
        "listen 80": f"listen 127.0.0.1:{http_port}",
        "listen 443": f"listen 127.0.0.1:{https_port}",
        "microblog.example.com": TEST_HOST,
        # The browser is sent to the test's HTTPS port, not to 443.
        "https://$host$request_uri": f"https://$host:{https_port}$request_uri",
        "/etc/ssl/microblog/": f"{root}/tls/",
        "/var/www/letsencrypt": f"{root}/acme",
        "/var/log/nginx/": f"{root}/nginx/",
        "root /srv/microblog;": f"root {root};",
        "127.0.0.1:8000": f"127.0.0.1:{upstream}",
    }


def nginx_main_conf(root: Path, site: Path) -> str:
    """Debian's stock nginx.conf (its TLS 1.0 default included) around our site."""
    if not DEBIAN_NGINX_CONF.exists():
        return MINIMAL_NGINX_CONF % {"site": site}
    temp_paths = "".join(
        f"    {kind}_temp_path {root}/nginx/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return render(
        DEBIAN_NGINX_CONF,
        {
            # Workers drop to www-data only when nginx starts as root.
            "user www-data;": "user www-data;" if os.geteuid() == 0 else "",
            "worker_processes auto;": "worker_processes 1;",
            "pid /run/nginx.pid;": f"pid {root}/nginx/nginx.pid;",
            "/var/log/nginx/": f"{root}/nginx/",
            "include /etc/nginx/conf.d/*.conf;": temp_paths,
            "include /etc/nginx/sites-enabled/*;": f"include {site};",
        },
    )


def write_nginx_files(
    root: Path, upstream: int, ports: tuple[int, int] | None = None
) -> tuple[int, int]:
    """Render the site, its TLS snippet and the main config; return the two ports
    (``ports`` when given, as in a network namespace of its own: 80 and 443)."""
    http_port, https_port = ports or (free_port(), free_port())
    conf_dir = root / "nginx"
    (conf_dir / "sites").mkdir(parents=True)
    (conf_dir / "snippets").mkdir()
    replacements = site_replacements(root, http_port, https_port, upstream)
    site = conf_dir / "sites" / "microblog.conf"
    site.write_text(render(DEPLOY / "nginx" / "microblog.conf", replacements))
    snippet = render(
        DEPLOY / "nginx" / "microblog-tls.conf",
        {"/etc/ssl/microblog/": f"{root}/tls/"},
    )
    # The site includes snippets/… relative to the main file's folder, as in /etc/nginx.
    (conf_dir / "snippets" / "microblog-tls.conf").write_text(snippet)
    shutil.copy(DEPLOY / "nginx" / "microblog-headers.conf", conf_dir / "snippets")
    (conf_dir / "nginx.conf").write_text(nginx_main_conf(root, site))
    return http_port, https_port


def prepare_app(root: Path) -> dict[str, str]:
    """The app's environment; its database migrated and seeded, static files written."""
    # The settings provision.sh writes that matter behind nginx.
    env = child_env(
        SECRET_KEY="deploy-test-" + "k" * 40,
        DATABASE_URL=f"sqlite:///{root}/app.sqlite",
        PROXY_COUNT="1",
        FORCE_HTTPS="1",
        TRUSTED_HOSTS=TEST_HOST,
        LOG_FORMAT="text",
    )
    flask_command(env, "db", "upgrade")
    flask_command(env, "seed", "--users", "1", "--follows", "0", "--posts", "0")
    # As provision.sh does, into a folder nginx's worker user can read.
    run_checked(
        [sys.executable, "-m", "microblog.web.static_collect", str(root / "static")],
        cwd=REPO,
        env=env,
    )
    return env


@pytest.fixture(scope="session")
def web_stack() -> Iterator[WebStack]:
    """nginx with the shipped site in front of gunicorn, for the whole session."""
    nginx = require_program("nginx", "nginx")
    require_program("openssl", "openssl")
    root = shared_dir("microblog-web-")
    (root / "tls").mkdir()
    (root / "acme").mkdir()
    certificates = make_certificates(root / "tls")
    (root / "tls" / "fullchain.pem").symlink_to(certificates.chain)
    (root / "tls" / "privkey.pem").symlink_to(certificates.key)
    provision_function("write_dh_parameters", str(root / "tls" / "ffdhe2048.pem"))
    env = prepare_app(root)
    gunicorn, upstream = start_gunicorn(root, env)
    try:
        http_port, https_port = write_nginx_files(root, upstream)
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
        upstream_port=upstream,
        nginx=server,
        nginx_program=nginx,
        static_root=root / "static",
        acme_root=root / "acme",
        app_env=env,
    )
    server.stop(signal.SIGQUIT)
    gunicorn.stop()
    shutil.rmtree(root, ignore_errors=True)
