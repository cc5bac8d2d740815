"""deploy/provision.sh from a bare Debian 13 root to an HTTPS page served by nginx.

amd64 with MariaDB and with PostgreSQL; arm64 (a 64-bit Raspberry Pi OS userland,
under qemu) with the low-memory profile of a 1 GB board, where the memory the
gunicorn workers and the database server use is measured and recorded.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.vm.debian_root import record_timing
from tests.vm.provisioned import (
    Provisioned,
    memory_kib,
    provisioned_root,
    wait_for_https,
)

pytestmark = pytest.mark.slow

VENV_PYTHON = "/srv/microblog/venv/bin/python"
AS_APP = ["runuser", "-u", "microblog", "--", "env", "--chdir=/srv/microblog/app"]
FLASK = [
    "/srv/microblog/venv/bin/dotenv",
    "--file",
    "/etc/microblog/microblog.env",
    "run",
    "--",
    "/srv/microblog/venv/bin/flask",
    "--app",
    "microblog",
]
DATABASE_PROCESS = {"mariadb": "mariadbd", "postgresql": "postgres: "}


def in_root(site: Provisioned, *args: str) -> str:
    result = site.session.run(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def check_served_site(site: Provisioned, database: str) -> None:
    """What a new user gets: every step done, the sign-in page and its files served."""
    assert "provision.sh: finished" in site.output
    # What a chroot cannot do is skipped, and says so.
    for skipped in ("ufw would load", "sshd is not restarted", "self-signed, as asked"):
        assert skipped in site.output, skipped
    version = in_root(
        site, VENV_PYTHON, "-c", "import sys; print(*sys.version_info[:2])"
    )
    assert version.split() == ["3", "13"]
    assert "(head)" in in_root(site, *AS_APP, *FLASK, "db", "current")
    catalogs = in_root(site, "find", "/srv/microblog/app/microblog", "-name", "*.mo")
    assert catalogs.split(), "no compiled translations"
    for program in ("microblog", "microblog-worker"):
        assert "RUNNING" in in_root(site, "supervisorctl", "status", program), program
    assert site.processes(DATABASE_PROCESS[database]), f"no {database} server running"

    page = wait_for_https(site, "/auth/login")
    assert page.status == 200, page.body[:500]
    assert "<form" in page.body
    assert page.headers["strict-transport-security"].startswith("max-age=")
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    links = site.static_links(page)
    assert any(link.endswith(".css") for link in links), links
    for link in links:
        answer = site.https(link)
        assert answer.status == 200, link
        assert "immutable" in answer.headers["cache-control"], link
        assert answer.headers["x-content-type-options"] == "nosniff", link


def parent_pid(pid: int) -> int:
    # The command name may hold spaces and parentheses: parse after the last ")".
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def command_name(pid: int) -> str:
    return Path(f"/proc/{pid}/comm").read_text().strip()


def record_memory(site: Provisioned, database: str) -> dict[str, int]:
    """RSS/PSS of each gunicorn worker and of the database server, in KiB."""
    gunicorn = site.processes("gunicorn")
    # Workers are the gunicorn processes whose parent is gunicorn (the master).
    workers = [pid for pid in gunicorn if parent_pid(pid) in gunicorn]
    figures: dict[str, int] = {"workers": len(workers)}
    worker_rss = [memory_kib(pid)["rss"] for pid in workers]
    figures["worker_rss_max_kib"] = max(worker_rss)
    database_pids = site.processes(DATABASE_PROCESS[database])
    if database == "mariadb":
        # The server itself, not a client or the init script's helpers.
        database_pids = [
            pid for pid in database_pids if command_name(pid) == "mariadbd"
        ]
    totals = [memory_kib(pid) for pid in database_pids]
    figures["database_rss_kib"] = sum(t["rss"] for t in totals)
    figures["database_pss_kib"] = sum(t["pss"] for t in totals)
    record_timing("memory", site.arch, 0, database=database, **figures)
    return figures


@pytest.mark.parametrize("database", ["mariadb", "postgresql"])
def test_provision_serves_https_on_debian_13_amd64(database: str) -> None:
    with provisioned_root("amd64", "--db", database, "--no-low-memory") as site:
        check_served_site(site, database)
        record_memory(site, database)


def test_provision_low_memory_profile_on_arm64_raspberry_pi_os_userland() -> None:
    with provisioned_root("arm64", "--low-memory") as site:
        check_served_site(site, "mariadb")
        # Enough requests for every worker to have loaded its pages.
        for _ in range(6):
            assert wait_for_https(site, "/auth/login").status == 200
        figures = record_memory(site, "mariadb")
        # The low-memory profile's two workers (WEB_CONCURRENCY=2).
        assert figures["workers"] == 2
