"""The shipped nginx site in front of a real gunicorn serving the app.

The ``web_stack`` fixture (in ``tests/vm/conftest.py``) starts one stack for the
whole session: gunicorn with the app on a migrated SQLite database (one demo
user), behind nginx started with Debian's own ``nginx.conf`` and
``deploy/nginx/*.conf`` rendered into a temporary prefix with free loopback
ports and a certificate from a test CA.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.harness.app_server import AppServer, run_flask
from tests.harness.environment import environment
from tests.harness.paths import DEPLOY, ROOT
from tests.harness.processes import BackgroundServer, free_port, run_checked
from tests.vm.support import (
    TEST_HOST,
    Certificates,
    ipv6_loopback,
    make_certificates,
    provision_function,
    render,
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
    gunicorn: AppServer
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


def start_gunicorn(root: Path, env: dict[str, str]) -> AppServer:
    """gunicorn with the project's settings, and the access log the tests read."""
    options = ["--workers", "2", "--access-logfile", str(root / "gunicorn-access.log")]
    options += ["--access-logformat", ACCESS_LOG_FORMAT]
    folder = root / "gunicorn"
    folder.mkdir()
    return AppServer(env, options=options, root=folder).start()


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


def prepare_tls(root: Path) -> Certificates:
    """The certificate files, DH parameters and ACME folder the site names."""
    (root / "tls").mkdir()
    (root / "acme").mkdir()
    certificates = make_certificates(root / "tls")
    (root / "tls" / "fullchain.pem").symlink_to(certificates.chain)
    (root / "tls" / "privkey.pem").symlink_to(certificates.key)
    provision_function("write_dh_parameters", str(root / "tls" / "ffdhe2048.pem"))
    return certificates


def prepare_app(root: Path) -> dict[str, str]:
    """The app's environment; its database migrated and seeded, static files written."""
    # The settings provision.sh writes that matter behind nginx.
    env = environment(
        SECRET_KEY="deploy-test-" + "k" * 40,
        DATABASE_URL=f"sqlite:///{root}/app.sqlite",
        PROXY_COUNT="1",
        FORCE_HTTPS="1",
        TRUSTED_HOSTS=TEST_HOST,
        LOG_FORMAT="text",
    )
    run_flask(env, "db", "upgrade")
    run_flask(env, "seed", "--users", "1", "--follows", "0", "--posts", "0")
    # As provision.sh does, into a folder nginx's worker user can read.
    run_checked(
        [sys.executable, "-m", "microblog.web.static_collect", str(root / "static")],
        cwd=ROOT,
        env=env,
    )
    return env
