"""deploy/provision.sh and update.sh: dry runs, bad input, and what they write.

shellcheck runs on them with every other script in tests/test_shell_scripts.py.
"""

from __future__ import annotations

import os
import re
import runpy
import stat
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from microblog.config import load_config
from tests.harness.databases import postgres_bindir
from tests.harness.environment import environment
from tests.harness.paths import DEPLOY, ROOT
from tests.harness.processes import as_user, require_program, run_checked, skip_or_fail
from tests.vm.support import PROVISION, provision_shell

UPDATE = DEPLOY / "update.sh"
WORKER_RESTART = {
    "supervisor": "supervisorctl restart microblog-worker",
    "systemd": "systemctl restart microblog-worker.service",
}
# What a real run would create; a dry run must leave every one of them absent.
HOST_PATHS = (
    "/etc/microblog",
    "/srv/microblog",
    "/etc/nginx/sites-enabled/microblog",
    "/etc/nginx/snippets/microblog-tls.conf",
    "/etc/ssh/sshd_config.d/00-microblog-hardening.conf",
    "/etc/supervisor/conf.d/microblog.conf",
    "/etc/systemd/system/microblog.service",
    "/etc/systemd/system/microblog-worker.service",
    "/etc/apt/apt.conf.d/20auto-upgrades",
    "/etc/ssl/microblog",
)
STEPS = (
    "Check the host",
    "Install packages",
    "Turn on automatic security upgrades",
    "Give admin SSH key login and sudo",
    "Harden SSH: keys only, no root login",
    "Firewall: only SSH, HTTP and HTTPS",
    "Create the app user microblog and its folders",
    "Fetch the code into /srv/microblog/app",
    "Install the Python packages into /srv/microblog/venv",
    "Low-memory profile for a 1 GB board",
    "Create the {db} database and its user",
    "Start Redis for rate limits shared by the workers",
    "Write the settings to /etc/microblog/microblog.env",
    "Run the database migrations",
    "Run gunicorn and the job worker under {manager}",
    "Install the nginx site for blog.example.org",
    "TLS certificate",
    "Check the app answers",
)


@pytest.fixture(scope="module")
def ssh_key(tmp_path_factory: pytest.TempPathFactory) -> str:
    key = tmp_path_factory.mktemp("ssh") / "admin"
    run_checked(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)])
    return key.with_suffix(".pub").read_text().strip()


def provision(*args: str) -> subprocess.CompletedProcess[str]:
    env = environment()
    return subprocess.run(
        [str(PROVISION), *args], capture_output=True, text=True, check=False, env=env
    )


@pytest.mark.parametrize(
    ("options", "db", "manager"),
    [
        (("--no-low-memory",), "mariadb", "supervisor"),
        (
            (
                *("--db", "postgresql", "--process-manager", "systemd"),
                *("--self-signed", "--low-memory"),
            ),
            "postgresql",
            "systemd",
        ),
    ],
)
def test_dry_run_prints_every_step_and_changes_nothing(
    ssh_key: str, options: tuple[str, ...], db: str, manager: str
) -> None:
    if os.geteuid() != 0:
        skip_or_fail("provision.sh --dry-run checks the host as root")
    if [path for path in HOST_PATHS if Path(path).exists()]:
        pytest.skip("this host already runs microblog; a dry run proves nothing here")
    result = provision(
        "--dry-run", "--domain", "blog.example.org", "--ssh-key", ssh_key,
        "--repo", "https://example.org/microblog.git", *options,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    headings = [line for line in result.stdout.splitlines() if line.startswith("==> ")]
    expected = [s.format(db=db, manager=manager) for s in STEPS]
    assert [heading.split("] ", 1)[1] for heading in headings] == expected
    assert result.stdout.rstrip().endswith("finished (dry run, nothing changed)")
    assert [path for path in HOST_PATHS if Path(path).exists()] == []
    low_memory = "90-microblog-low-memory" in result.stdout
    assert low_memory == ("--low-memory" in options)
    # The generated database password is never printed.
    assert "PASSWORD '********'" in result.stdout or "BY '********'" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--ssh-key", "x"), "--domain is required"),
        (("--domain", "bad domain;rm"), "is not a host name"),
        (("--domain", "a.example"), "--ssh-key is required"),
        (("--domain", "a.example", "--ssh-key", "hello"), "not an SSH public key"),
        (("--domain", "a.example", "--db", "oracle"), "expected mariadb or postgresql"),
        (
            ("--domain", "a.example", "--process-manager", "runit"),
            "expected supervisor or systemd",
        ),
        (("--frobnicate",), "unknown option: --frobnicate"),
    ],
)
def test_bad_arguments_stop_with_one_clear_line(
    args: tuple[str, ...], message: str
) -> None:
    result = provision(*args)
    assert result.returncode == 2
    assert message in result.stderr.splitlines()[-1]


def test_env_file_is_accepted_by_the_app_and_written_mode_0600(tmp_path: Path) -> None:
    script = (
        "DOMAIN=blog.example.org; LOW_MEMORY=true; DATABASE=mariadb; "
        'env_file_contents "$(new_secret 32)" "$(database_url secret)"'
        ' | write_file "$1" 0600 "$(id -u):$(id -g)"'
    )
    env_file = tmp_path / "microblog.env"
    provision_shell(script, str(env_file))
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    settings = dict(
        line.split("=", 1)
        for line in env_file.read_text().splitlines()
        if line and not line.startswith("#")
    )
    config = load_config(settings, str(tmp_path))
    assert config["PROXY_COUNT"] == 1
    assert config["TRUSTED_HOSTS"] == ["blog.example.org"]
    assert config["FORCE_HTTPS"] is True
    assert config["REDIS_URL"] == "redis://127.0.0.1:6379/0"
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("mysql+pymysql://microblog:")
    url = make_url(config["SQLALCHEMY_DATABASE_URI"])
    # MariaDB's socket: 'microblog'@'localhost' needs no TCP at all.
    assert url.query["unix_socket"] == "/run/mysqld/mysqld.sock"
    assert settings["WEB_CONCURRENCY"] == "2"
    assert len(settings["SECRET_KEY"]) == 64


def test_deploy_files_agree_on_paths_and_stop_timeouts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = "APP_DIR VENV ENV_FILE LOG_DIR TLS_DIR ACME_ROOT GUNICORN_BIND SSHD_DROPIN"
    names += " STATIC_DIR"
    values = provision_shell(f'for n in {names}; do echo "${{!n}}"; done')
    app_dir, venv, env_file, log_dir, tls_dir, acme, bind, dropin, static = (
        values.split()
    )
    supervisor = (DEPLOY / "supervisor" / "microblog.conf").read_text()
    unit = (DEPLOY / "systemd" / "microblog.service").read_text()
    site = (DEPLOY / "nginx" / "microblog.conf").read_text()
    for text in (supervisor, unit):
        assert f"{venv}/bin/" in text and env_file in text and bind in text
    update = UPDATE.read_text()
    for line in (f"VENV={venv}", f"ENV_FILE={env_file}", f"GUNICORN_BIND={bind}"):
        assert f"readonly {line}\n" in update
    assert f"readonly STATIC_DIR={static}\n" in update
    assert f"directory={app_dir}" in supervisor and f"{log_dir}/" in supervisor
    assert f"WorkingDirectory={app_dir}" in unit
    # nginx's root is the parent of its /static/ folder.
    assert static.endswith("/static") and f"root {Path(static).parent};" in site
    assert f"proxy_pass http://{bind};" in site
    assert f"root {acme};" in site and f"{tls_dir}/fullchain.pem" in site
    assert (DEPLOY / "ssh" / Path(dropin).name).exists()
    # Both process managers wait longer than gunicorn takes to finish requests.
    # gunicorn.conf.py validates the app's settings as it loads, like in production.
    monkeypatch.setenv("SECRET_KEY", "t" * 48)
    graceful = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["graceful_timeout"]
    assert "stopwaitsecs=35" in supervisor and "TimeoutStopSec=35" in unit
    assert graceful < 35


def test_low_memory_mariadb_settings_are_accepted_by_mariadbd() -> None:
    mariadbd = require_program("mariadbd", "mariadb-server", "mysqld")
    defaults = f"--defaults-file={DEPLOY / 'low-memory' / 'mariadb.cnf'}"
    output = run_checked([mariadbd, defaults, "--help", "--verbose"])
    values = dict(re.findall(r"^([a-z0-9-]+) +(\S+)$", output, re.M))
    assert values["innodb-buffer-pool-size"] == str(64 * 1024 * 1024)
    # Not the default 8 TiB of address space, which qemu cannot afford to emulate.
    assert values["innodb-buffer-pool-size-max"] == str(64 * 1024 * 1024)
    assert values["max-connections"] == "30"
    assert values["performance-schema"] == "FALSE"


def test_low_memory_postgresql_settings_are_accepted_by_postgres(
    tmp_path: Path,
) -> None:
    bindir = postgres_bindir()
    if bindir is None:
        skip_or_fail("PostgreSQL not installed (apt-get install postgresql)")
    conf = DEPLOY / "low-memory" / "postgresql.conf"
    command = [str(bindir / "postgres"), "-D", "/", "-c", f"config_file={conf}"]
    result = subprocess.run(
        [*command, "-C", "shared_buffers"],
        capture_output=True,
        text=True,
        check=False,
        **as_user("postgres"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(64 * 1024 // 8)  # in 8 kB pages


def test_update_refuses_a_host_that_was_never_provisioned() -> None:
    if os.geteuid() != 0:
        skip_or_fail("update.sh runs as root")
    if [path for path in HOST_PATHS if Path(path).exists()]:
        pytest.skip("this host runs microblog")
    result = subprocess.run(
        [str(UPDATE), "--dry-run"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "run provision.sh first" in result.stderr


@pytest.mark.parametrize(
    ("manager", "restart", "reload"),
    [
        ("supervisor", False, "supervisorctl signal HUP microblog"),
        ("supervisor", True, "supervisorctl restart microblog"),
        ("systemd", False, "systemctl reload microblog.service"),
    ],
)
def test_update_dry_run_migrates_before_a_graceful_reload(
    manager: str, restart: bool, reload: str
) -> None:
    if os.geteuid() != 0:
        skip_or_fail("update.sh runs as root")
    args = ["--dry-run", "--process-manager", manager] + (
        ["--restart"] if restart else []
    )
    result = subprocess.run(
        [str(UPDATE), *args], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    commands = [
        line[2:] for line in result.stdout.splitlines() if line.startswith("+ ")
    ]
    as_app = (
        "runuser -u microblog -- env --chdir=/srv/microblog/app HOME=/srv/microblog "
    )
    venv = "/srv/microblog/venv/bin/"
    assert commands == [
        f"{as_app}git pull --ff-only",
        f"{as_app}{venv}pip install --quiet --require-hashes "
        "--requirement requirements.txt",
        f"{as_app}{venv}python -m microblog.i18n.commands compile",
        f"{as_app}{venv}python -m microblog.web.static_collect /srv/microblog/static",
        f"{as_app}{venv}dotenv --file /etc/microblog/microblog.env run -- "
        f"{venv}flask --app microblog db upgrade",
        reload,
        WORKER_RESTART[manager],
        "curl --fail --silent --show-error --retry 5 --retry-connrefused "
        "--retry-delay 2 http://127.0.0.1:8000/readyz",
    ]
    assert result.stdout.rstrip().endswith("(dry run, nothing changed)")
