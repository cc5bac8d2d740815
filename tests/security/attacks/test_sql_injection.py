"""SQL injection: hand-written payloads and sqlmap change and reveal nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.harness.http_client import LiveClient
from tests.harness.live_app import LiveApp
from tests.harness.processes import require_program
from tests.security.attacks.tally import SENT

pytestmark = pytest.mark.slow


SQL_PAYLOADS = [
    "' OR '1'='1",
    "' OR 1=1 --",
    "%' OR '%'='",
    "'; DROP TABLE post; --",
    "1' AND pg_sleep(3) IS NULL --",
    "\\'; SELECT 1; --",
    '\' UNION SELECT username, password_hash FROM "user" --',
    "%",
    "_",
    "\\",
    "') OR ('a'='a",
    "1 OR 1=1",
]


@pytest.mark.parametrize("payload", SQL_PAYLOADS)
def test_sql_injection_in_every_parameter_changes_nothing(
    live: LiveApp, client: LiveClient, payload: str
) -> None:
    author, _ = live.new_account("sql")
    author.submit("/index", {"post": "sql canary", "idempotency_key": "c" * 20})
    SENT["requests"] += author.sent
    encoded = quote(payload, safe="")
    search = client.get(f"/search?q={encoded}")
    assert search.status == 200
    # An OR- or wildcard injection would list posts that do not hold the text.
    matching = live.query(
        "SELECT count(*) FROM post WHERE strpos(lower(body), lower(%s)) > 0", payload
    )[0][0]
    shown = search.text.count('<article class="post"')
    assert shown == min(matching, 25)
    assert "sql canary" not in search.text
    for path in (
        f"/search?q=x&page={encoded}",
        f"/explore?page={encoded}",
        f"/user/{encoded}",
        f"/user/{encoded}?page=1",
        f"/auth/reset_password/{encoded}",
    ):
        assert client.get(path).status in (200, 302, 400, 404), path
    login = client.submit("/auth/login", {"username": payload, "password": payload})
    assert login.status == 200  # refused, not signed in
    reset = client.submit(
        "/auth/reset_password_request", {"email": f"{payload}@example.com"}
    )
    assert reset.status in (200, 302)
    assert live.query("SELECT count(*) FROM post") != []
    assert live.query("SELECT to_regclass('public.post') IS NOT NULL") == [(True,)]


# Bounded: PostgreSQL payloads only, level 1 (level 2 for search, the one
# free-text query), every technique, two threads where sqlmap allows them;
# about 45 s in all.
SQLMAP_OPTIONS = (
    "--batch --flush-session --disable-coloring --dbms=PostgreSQL --risk=1 "
    "--technique=BEUST --time-sec=2 --timeout=10 --retries=0 "
    "--user-agent=sqlmap-attack-suite"
).split()
SQLMAP_TARGETS = {
    "search": "-u {url}/search?q=canary&page=1 --level=2 --threads=2",
    "explore": "-u {url}/explore?page=1 --level=1 --threads=2",
    "profile": "-u {url}/user/{user}*?page=1 --level=1 --threads=2",
    # The form's CSRF token is fetched afresh before each attempt.
    "login": "-u {url}/auth/login --csrf-token=csrf_token --csrf-url={url}/auth/login "
    "--data=username={user}&password=wrong-password&csrf_token=x "
    "-p username,password --level=1",
}


@pytest.mark.parametrize("name", sorted(SQLMAP_TARGETS))
def test_sqlmap_finds_no_injection(live: LiveApp, tmp_path: Path, name: str) -> None:
    """sqlmap (PostgreSQL payloads, every technique) finds no injectable parameter."""
    sqlmap = require_program("sqlmap", "sqlmap")
    author, username = live.new_account("sqlmap")
    author.submit("/index", {"post": "canary for sqlmap", "idempotency_key": "s" * 20})
    SENT["requests"] += author.sent
    before = live.request_count()
    target = SQLMAP_TARGETS[name].format(url=live.url, user=username)
    arguments = target.split()
    command = [sqlmap, *arguments, *SQLMAP_OPTIONS, "--output-dir", str(tmp_path)]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    SENT["sqlmap"] = SENT.get("sqlmap", 0) + live.request_count() - before
    output = result.stdout + result.stderr
    assert "identified the following injection point" not in output, output[-3000:]
    assert "is vulnerable" not in output
    assert "do not appear to be injectable" in output, output[-3000:]
