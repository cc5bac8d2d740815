"""Attack inputs against a running gunicorn on PostgreSQL, with CSRF on.

Each attack must fail safely: no redirect off-site, no script run, no 5xx,
nothing stored that should not be. Every request goes to loopback only.
"""

from __future__ import annotations

import base64
import json
import quopri
import re
import secrets
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import pytest
from markupsafe import escape

from tests.live_server import LiveClient, LiveServer
from tests.processes import CHROMIUM, CHROMIUM_ARGS, require_program

pytestmark = pytest.mark.slow

PASSWORD = "correct-horse-battery"
SENT: dict[str, int] = {"requests": 0}


@pytest.fixture(scope="module")
def live(
    postgres: Any, tmp_path_factory: pytest.TempPathFactory, request: Any
) -> Iterator[LiveServer]:
    """gunicorn on PostgreSQL, rate limits off so the attacks are not throttled."""
    root = tmp_path_factory.mktemp("live")
    server = LiveServer(postgres.new_database(), root, RATELIMIT_ENABLED="0")
    yield server
    server.stop()
    report_tally(request.config, server)
    errors = server.server_errors()
    assert errors == [], "\n".join(errors)


@pytest.fixture
def client(live: LiveServer) -> Iterator[LiveClient]:
    """A fresh anonymous browser; its requests count towards the tally."""
    browser = live.client()
    yield browser
    SENT["requests"] += browser.sent


def report_tally(config: pytest.Config, server: LiveServer) -> None:
    """Print how many requests the attacks sent, past pytest's output capture."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(
            f"\nattack suite: the live server answered {server.request_count()} "
            f"requests ({SENT.get('sqlmap', 0)} of them from sqlmap)"
        )


def new_account(live: LiveServer, prefix: str = "user") -> tuple[LiveClient, str]:
    """Register a fresh account through the real form and sign it in."""
    username = f"{prefix}{secrets.token_hex(3)}"
    browser = live.client()
    registered = browser.submit(
        "/auth/register",
        {
            "username": username,
            "email": f"{username}@example.com",
            "password": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert registered.status == 302, registered.text[:500]
    assert browser.login(username, PASSWORD).status == 302
    return browser, username


def same_site(live: LiveServer, location: str) -> bool:
    """Would a browser following ``location`` stay on this site?"""
    # Browsers read a backslash as a slash in http(s) URLs.
    target = urljoin(f"{live.url}/auth/login", location.replace("\\", "/"))
    parts = urlsplit(target)
    return parts.scheme == "http" and parts.netloc == f"127.0.0.1:{live.port}"


OPEN_REDIRECTS = [
    "//evil.example",
    "///evil.example",
    "////evil.example/",
    "/\\evil.example",
    "\\/evil.example",
    "\\\\evil.example",
    "https:///evil.example",
    "https://evil.example",
    "http:evil.example",
    "https:evil.example",
    "//evil.example@127.0.0.1",
    "/%2F/evil.example",
    "%2F%2Fevil.example",
    "%252F%252Fevil.example",
    "/%5Cevil.example",
    "%5C%5Cevil.example",
    "/\t/evil.example",
    "/\r\n/evil.example",
    " //evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "\uff0f\uff0fevil.example",
    "/\u3002evil.example",
    "//evil%E3%80%82example",
    "/.//evil.example",
    "/..//evil.example",
]


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
def test_login_next_never_leaves_the_site(live: LiveServer, target: str) -> None:
    browser, username = new_account(live, "redir")
    browser.request(
        "POST", "/auth/logout", form={"csrf_token": browser.csrf_token("/explore")}
    )
    reply = browser.login(username, PASSWORD, next_path=target)
    SENT["requests"] += browser.sent
    assert reply.status == 302
    assert same_site(live, reply.location), reply.location


def test_next_on_other_pages_is_ignored(live: LiveServer, client: LiveClient) -> None:
    browser, _ = new_account(live, "nextother")
    for path in ("/auth/login", "/auth/register", "/auth/reset_password_request"):
        reply = browser.get(f"{path}?next=//evil.example")
        assert reply.status == 302 and same_site(live, reply.location)
    token = browser.csrf_token("/explore")
    reply = browser.request(
        "POST", "/auth/logout?next=//evil.example", form={"csrf_token": token}
    )
    SENT["requests"] += browser.sent
    assert reply.status == 302 and same_site(live, reply.location)


# --- CSRF --------------------------------------------------------------------


def state_changing_forms(username: str, other: str) -> list[tuple[str, dict[str, str]]]:
    return [
        ("/index", {"post": "csrf attack post", "idempotency_key": "k" * 20}),
        ("/edit_profile", {"username": username, "about_me": "csrf was here"}),
        (f"/follow/{other}", {"submit": "Follow"}),
        (f"/unfollow/{other}", {"submit": "Unfollow"}),
        ("/auth/logout", {}),
    ]


def assert_nothing_changed(live: LiveServer, username: str, other: str) -> None:
    assert live.query("SELECT count(*) FROM post WHERE body LIKE 'csrf%%'") == [(0,)]
    rows = live.query('SELECT about_me FROM "user" WHERE username = %s', username)
    assert rows == [(None,)]
    follows = live.query(
        'SELECT count(*) FROM followers f JOIN "user" u ON u.id = f.followed_id '
        "WHERE u.username = %s",
        other,
    )
    assert follows == [(0,)]


@pytest.mark.parametrize("token_kind", ["missing", "stale", "foreign", "garbage"])
def test_forms_refuse_a_missing_stale_or_foreign_csrf_token(
    live: LiveServer, token_kind: str
) -> None:
    victim, username = new_account(live, "csrf")
    _, other = new_account(live, "other")
    stale = victim.csrf_token("/explore")
    # Signing out and in again starts a new session: the old token is stale.
    victim.request("POST", "/auth/logout", form={"csrf_token": stale})
    assert victim.login(username, PASSWORD).status == 302
    attacker, _ = new_account(live, "attacker")
    tokens = {
        "missing": None,
        "stale": stale,
        "foreign": attacker.csrf_token("/explore"),
        "garbage": "IjEyMyI.abc.def",
    }
    for path, data in state_changing_forms(username, other):
        form = dict(data)
        if tokens[token_kind] is not None:
            form["csrf_token"] = str(tokens[token_kind])
        reply = victim.request("POST", path, form=form)
        assert reply.status == 400, (path, reply.status)
    assert_nothing_changed(live, username, other)
    assert victim.get("/index").status == 200  # still signed in
    SENT["requests"] += victim.sent + attacker.sent


@pytest.mark.parametrize(
    "path", ["/auth/login", "/auth/register", "/auth/reset_password_request"]
)
def test_anonymous_forms_refuse_a_missing_csrf_token(
    live: LiveServer, client: LiveClient, path: str
) -> None:
    data = {
        "username": "csrfanon",
        "password": PASSWORD,
        "password2": PASSWORD,
        "email": "csrfanon@example.com",
    }
    assert client.request("POST", path, form=data).status == 400
    assert live.query("SELECT count(*) FROM \"user\" WHERE username = 'csrfanon'") == [
        (0,)
    ]


# --- Cross-site scripting ----------------------------------------------------

# Each payload, if it ever ran, would set window.xss (the browser test checks).
XSS_PAYLOADS = [
    "<script>window.xss=1</script>",
    '"><img src=x onerror="window.xss=1">',
    "'><svg/onload=window.xss=1>",
    "</textarea><script>window.xss=1</script>",
    "</title><script>window.xss=1</script>",
    '<a href="javascript:window.xss=1">x</a>',
    "<iframe srcdoc='<script>parent.xss=1</script>'></iframe>",
    '<math><mtext><table><mglyph><style><img src=x onerror="window.xss=1">',
    "<style>@import 'https://evil.example/x.css';</style>",
    "{{ 7*7 }} {% print(1) %} ${7*7}",
    "<base href='https://evil.example/'>",
    '<form action="https://evil.example"><button>go</button></form>',
]


def assert_escaped(text: str, payload: str) -> None:
    """No tag from ``payload`` reaches the page as markup."""
    for tag in re.findall(r"<[a-zA-Z][^<]{0,40}", payload):
        assert tag not in text, tag


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_stored_xss_in_posts_and_profiles_is_escaped(
    live: LiveServer, payload: str
) -> None:
    browser, username = new_account(live, "xss")
    posted = browser.submit(
        "/index", {"post": payload, "idempotency_key": secrets.token_urlsafe(16)}
    )
    assert posted.status == 302
    about = payload[:280]
    saved = browser.submit("/edit_profile", {"username": username, "about_me": about})
    assert saved.status == 302
    for path in (
        "/index",
        "/explore",
        f"/user/{username}",
        "/edit_profile",
        f"/search?q={quote(payload[:100])}",
    ):
        reply = browser.get(path)
        assert reply.status == 200, path
        assert_escaped(reply.text, payload)
    # Shown as the text it is (Jinja's escaping), template syntax not evaluated.
    assert str(escape(payload)) in browser.get("/explore").text
    SENT["requests"] += browser.sent


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_reflected_xss_is_escaped(
    live: LiveServer, client: LiveClient, payload: str
) -> None:
    encoded = quote(payload, safe="")
    for path in (
        f"/search?q={encoded[:300]}",
        f"/search?q=x&page={encoded}",
        f"/explore?page={encoded}",
        f"/user/{encoded}",
        f"/auth/reset_password/{encoded}",
        f"/auth/login?next={encoded}",
        f"/{encoded}",
    ):
        reply = client.get(path)
        assert reply.status < 500, path
        assert_escaped(reply.text, payload)


def test_xss_in_registration_fields_is_refused_and_escaped(
    live: LiveServer, client: LiveClient
) -> None:
    for payload in XSS_PAYLOADS[:4]:
        reply = client.submit(
            "/auth/register",
            {
                "username": payload[:64],
                "email": f"{payload}@example.com",
                "password": PASSWORD,
                "password2": PASSWORD,
            },
        )
        assert reply.status == 200  # the form again, with errors
        assert_escaped(reply.text, payload)
        login = client.submit(
            "/auth/login", {"username": payload[:64], "password": "x" * 8}
        )
        assert_escaped(login.text, payload)
    assert live.query("SELECT count(*) FROM \"user\" WHERE username LIKE '%%<%%'") == [
        (0,)
    ]


# --- SQL injection -----------------------------------------------------------

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
    live: LiveServer, client: LiveClient, payload: str
) -> None:
    author, _ = new_account(live, "sql")
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
def test_sqlmap_finds_no_injection(live: LiveServer, tmp_path: Path, name: str) -> None:
    """sqlmap (PostgreSQL payloads, every technique) finds no injectable parameter."""
    sqlmap = require_program("sqlmap", "sqlmap")
    author, username = new_account(live, "sqlmap")
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


# --- Files, bodies and headers -----------------------------------------------

TRAVERSALS = [
    "/static/../microblog/config.py",
    "/static/../../requirements.txt",
    "/static/..%2f..%2frequirements.txt",
    "/static/%2e%2e/%2e%2e/requirements.txt",
    "/static/%252e%252e/%252e%252e/requirements.txt",
    "/static/..\\..\\requirements.txt",
    "/static/..%5c..%5crequirements.txt",
    "/static/css/../../config.py",
    "/static/css/..%2f..%2fconfig.py",
    "/static//etc/passwd",
    "/static/%2fetc%2fpasswd",
    "/static/....//....//requirements.txt",
    "/static/%c0%ae%c0%ae/%c0%ae%c0%ae/requirements.txt",
    "/static/css/app.css%00.py",
    "/static/css/app.css/../../config.py",
    "/static/../.env",
    "/static/../instance/microblog.sqlite",
    "//etc/passwd",
    "/avatar/..%2f..%2fconfig.svg",
]
SECRETS = ("SECRET_KEY", "root:x:0", "Flask==", "SQLite format")


@pytest.mark.parametrize("path", TRAVERSALS)
def test_static_path_traversal_reveals_nothing(
    live: LiveServer, client: LiveClient, path: str
) -> None:
    reply = client.get(path)
    if reply.status == 308:  # Werkzeug merging slashes: follow it, on this site
        assert same_site(live, reply.location)
        reply = client.get(urlsplit(reply.location).path)
    assert reply.status in (400, 404), (path, reply.status)
    assert not any(secret in reply.text for secret in SECRETS)


def test_static_files_are_served_with_security_headers(client: LiveClient) -> None:
    reply = client.get("/static/css/app.css")
    assert reply.status == 200
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in reply.headers["Content-Security-Policy"]
    # gunicorn names itself but no version; the app adds nothing.
    assert not re.search(r"\d", reply.headers.get("Server", ""))
    assert "X-Powered-By" not in reply.headers


def test_oversized_bodies_get_413_and_store_nothing(live: LiveServer) -> None:
    browser, username = new_account(live, "big")
    token = browser.csrf_token("/index")
    big = {"post": "A" * 70_000, "idempotency_key": "b" * 20, "csrf_token": token}
    assert browser.request("POST", "/index", form=big).status == 413
    about = {"username": username, "about_me": "B" * 281, "csrf_token": token}
    assert browser.request("POST", "/edit_profile", form=about).status == 200
    long_post = {"post": "C" * 281, "idempotency_key": "c" * 20, "csrf_token": token}
    assert browser.request("POST", "/index", form=long_post).status == 200
    chunked = browser.request(
        "POST",
        "/auth/login",
        body=b"10000\r\n"
        + b"u" * 0x10000
        + b"\r\n10000\r\n"
        + b"u" * 0x10000
        + b"\r\n0\r\n\r\n",
        headers={
            "Transfer-Encoding": "chunked",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert chunked.status in (400, 413)
    SENT["requests"] += browser.sent
    assert live.query(
        'SELECT count(*) FROM post p JOIN "user" u ON u.id = p.user_id '
        "WHERE u.username = %s",
        username,
    ) == [(0,)]
    assert live.query('SELECT about_me FROM "user" WHERE username = %s', username) == [
        (None,)
    ]


MALFORMED = [
    (
        "POST",
        "/auth/login",
        b"%%%&&&===",
        {"Content-Type": "application/x-www-form-urlencoded"},
    ),
    (
        "POST",
        "/auth/login",
        b"username=%ff%fe%00&password=%c3%28",
        {"Content-Type": "application/x-www-form-urlencoded"},
    ),
    (
        "POST",
        "/auth/login",
        b"--x\r\nbroken",
        {"Content-Type": "multipart/form-data; boundary=x"},
    ),
    ("POST", "/auth/login", b"abc", {"Content-Type": "multipart/form-data"}),
    ("POST", "/auth/login", b'{"username": ', {"Content-Type": "application/json"}),
    ("POST", "/auth/login", b"<xml/>", {"Content-Type": "text/xml"}),
    (
        "POST",
        "/auth/login",
        b"a=b",
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-7"},
    ),
    (
        "POST",
        "/auth/register",
        b"\x00\x01\x02" * 100,
        {"Content-Type": "application/octet-stream"},
    ),
    ("PUT", "/auth/login", b"x", {}),
    ("DELETE", "/index", b"", {}),
    ("TRACE", "/", b"", {}),
    ("OPTIONS", "/auth/login", b"", {}),
    ("GET", "/search?q=" + "%ff" * 50, None, {}),
    ("GET", "/search?q=" + "x" * 101, None, {}),
    ("GET", "/explore?page=1001", None, {}),
    ("GET", "/explore?page=-1", None, {}),
    ("GET", "/explore?page=1e9", None, {}),
    ("GET", "/explore?page=99999999999999999999999", None, {}),
    ("GET", "/explore?page=%00", None, {}),
    ("GET", "/user/%00", None, {}),
    ("GET", "/user/" + "x" * 3000, None, {}),
    ("GET", "/explore", None, {"Cookie": "session=" + "A" * 4000}),
    (
        "GET",
        "/explore",
        None,
        {"Cookie": "session=.eJzzSM3JyVcozy_KSQEAGgQEXQ.bad.sig"},
    ),
    ("GET", "/explore", None, {"Accept-Language": "x" * 500 + ";q=abc, *;q=-1"}),
    ("GET", "/explore", None, {"Accept": "application/json;q=abc"}),
    ("GET", "/explore", None, {"X-Request-Id": "<script>x</script>\u00e9"}),
    ("GET", "/explore", None, {"Host": "127.0.0.1:99999"}),
    ("GET", "/explore", None, {"Host": "evil.example"}),
    ("GET", "/explore", None, {"Host": "127.0.0.1@evil.example"}),
]


@pytest.mark.parametrize(("method", "path", "body", "headers"), MALFORMED)
def test_malformed_requests_fail_safely(
    client: LiveClient,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
) -> None:
    reply = client.request(method, path, body=body, headers=headers)
    assert 200 <= reply.status < 500, (method, path, reply.status)
    if headers.get("Host", "").endswith("evil.example"):
        assert reply.status == 400
    assert "<script>x" not in reply.text


def test_uploads_are_not_accepted_anywhere(live: LiveServer) -> None:
    browser, username = new_account(live, "upload")
    token = browser.csrf_token("/edit_profile")
    boundary = "upload-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        f"{token}\r\n--{boundary}\r\nContent-Disposition: form-data; "
        f'name="username"\r\n\r\n{username}\r\n--{boundary}\r\n'
        'Content-Disposition: form-data; name="avatar"; filename="../../x.php"\r\n'
        "Content-Type: application/x-php\r\n\r\n<?php system($_GET['c']); ?>\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    reply = browser.request(
        "POST",
        "/edit_profile",
        body=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    SENT["requests"] += browser.sent
    assert reply.status in (200, 302, 400)
    assert not list(Path(__file__).resolve().parent.parent.rglob("x.php"))
    assert "<?php" not in browser.get(f"/user/{username}").text


# --- Usernames ---------------------------------------------------------------

UNICODE_USERNAMES = [
    "\u0430lice",  # Cyrillic a: looks like "alice"
    "alic\u0435",  # Cyrillic e
    "\uff41lice",  # fullwidth a
    "al\u200bice",  # zero-width space
    "al\u200dice",  # zero-width joiner
    "\ufeffalice",  # byte-order mark
    "alice\u0301",  # combining acute accent
    "\u202eecila",  # right-to-left override
    "alice\u2066",  # left-to-right isolate
    "al\u00adice",  # soft hyphen
    "ALICE",  # case variant of an existing name
    " alice",
    "alice ",
    "al ice",
    "al\tice",
    "alice\u3000",  # ideographic space
    "\U0001f600alice",  # emoji
    "a" * 65,
    "ab",
    ".alice",
    "-alice",
    "al/ice",
    "al%2Fice",
    "..",
    "\u0131lice",  # dotless i
    "alice\u0000",
]


@pytest.fixture(scope="module")
def alice(live: LiveServer) -> str:
    """An existing account whose name the look-alikes imitate."""
    browser = live.client()
    browser.submit(
        "/auth/register",
        {
            "username": "alice",
            "email": "alice@example.com",
            "password": PASSWORD,
            "password2": PASSWORD,
        },
    )
    SENT["requests"] += browser.sent
    return "alice"


@pytest.mark.parametrize("username", UNICODE_USERNAMES)
def test_confusable_or_invisible_usernames_are_refused(
    live: LiveServer, alice: str, username: str
) -> None:
    users_before = live.query('SELECT count(*) FROM "user"')
    browser = live.client()
    registered = browser.submit(
        "/auth/register",
        {
            "username": username,
            "email": f"look{secrets.token_hex(3)}@example.com",
            "password": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert registered.status in (200, 400)  # the form again, or a refused NUL
    renamer, _ = new_account(live, "rename")
    renamed = renamer.submit("/edit_profile", {"username": username, "about_me": ""})
    assert renamed.status in (200, 400)
    SENT["requests"] += browser.sent + renamer.sent
    # Only the renamer's own account was added; no name outside [A-Za-z0-9_.-].
    assert live.query('SELECT count(*) FROM "user"')[0][0] == users_before[0][0] + 1
    odd = live.query(
        "SELECT username FROM \"user\" WHERE username !~ '^[A-Za-z0-9_.-]+$'"
    )
    assert odd == []
    lower = live.query(
        'SELECT count(*) FROM "user" WHERE lower(username) = %s', "alice"
    )
    assert lower == [(1,)]


# --- Sessions, tokens, enumeration ------------------------------------------


def test_session_fixation_a_planted_cookie_gains_nothing(live: LiveServer) -> None:
    attacker = live.client()
    attacker.get("/auth/login")
    planted = dict(attacker.cookies)
    assert planted  # the anonymous session with its CSRF secret
    browser, username = new_account(live, "fixate")
    victim = live.client()
    victim.cookies.update(planted)
    assert victim.login(username, PASSWORD).status == 302
    assert victim.cookies != planted  # a fresh session was issued
    assert victim.get("/index").status == 200
    attacker.cookies = dict(planted)
    assert attacker.get("/index").status == 302  # still anonymous
    SENT["requests"] += attacker.sent + browser.sent + victim.sent


def test_cookies_replayed_after_logout_are_dead(live: LiveServer) -> None:
    browser, username = new_account(live, "replay")
    assert browser.submit("/auth/logout", {}, form_page="/explore").status == 302
    remembered = live.client()
    assert (
        remembered.submit(
            "/auth/login",
            {"username": username, "password": PASSWORD, "remember_me": "y"},
        ).status
        == 302
    )
    stolen = dict(remembered.cookies)
    assert "remember_token" in stolen
    assert remembered.submit("/auth/logout", {}, form_page="/explore").status == 302
    thief = live.client()
    thief.cookies = dict(stolen)
    assert thief.get("/index").status == 302
    only_remember = live.client()
    only_remember.cookies = {"remember_token": stolen["remember_token"]}
    assert only_remember.get("/index").status == 302
    SENT["requests"] += browser.sent + remembered.sent + thief.sent + only_remember.sent


def test_a_reset_link_works_once(live: LiveServer) -> None:
    browser, username = new_account(live, "reset")
    anonymous = live.client()
    sent_before = len(live.reset_links(at_least=0))
    asked = anonymous.submit(
        "/auth/reset_password_request", {"email": f"{username}@example.com"}
    )
    assert asked.status == 302
    link = live.reset_links(at_least=sent_before + 1)[-1]
    first = "first-new-password"
    used = anonymous.submit(link, {"password": first, "password2": first})
    assert used.status == 302 and "/auth/login" in used.location
    again = anonymous.get(link)
    assert again.status == 302 and "reset_password_request" in again.location
    replay = anonymous.request(
        "POST",
        link,
        form={
            "password": "second-password",
            "password2": "second-password",
            "csrf_token": anonymous.csrf_token("/auth/login"),
        },
    )
    assert replay.status == 302
    assert live.client().login(username, "second-password").status == 200
    assert live.client().login(username, first).status == 302
    # The reset ended the session that was open before it.
    assert browser.get("/index").status == 302
    SENT["requests"] += browser.sent + anonymous.sent


def strip_tokens(page: str) -> str:
    return re.sub(r'value="[^"]{20,}"', 'value=""', page)


def test_no_user_enumeration_by_message(live: LiveServer, alice: str) -> None:
    client = live.client()
    unknown = client.submit(
        "/auth/login", {"username": "nobody-xyz", "password": "x" * 9}
    )
    wrong = client.submit("/auth/login", {"username": alice, "password": "x" * 9})
    assert unknown.status == wrong.status == 200
    assert strip_tokens(unknown.text).replace("nobody-xyz", alice) == strip_tokens(
        wrong.text
    )
    known = client.submit(
        "/auth/reset_password_request", {"email": "alice@example.com"}
    )
    nobody = client.submit(
        "/auth/reset_password_request", {"email": "nobody-xyz@example.com"}
    )
    assert (known.status, known.location) == (nobody.status, nobody.location)
    after_known = client.get(known.location).text
    assert "If that address has an account" in after_known
    SENT["requests"] += client.sent


def test_forged_forwarded_headers_are_ignored_without_a_proxy(
    live: LiveServer, alice: str
) -> None:
    client = live.client(source="127.0.0.2")  # not a proxy gunicorn trusts
    forged = {
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-For": "203.0.113.9",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Prefix": "/evil",
        "Forwarded": "for=203.0.113.9;host=evil.example;proto=https",
    }
    page = client.get("/auth/login", headers=forged)
    assert page.status == 200
    assert "Strict-Transport-Security" not in page.headers  # still plain HTTP
    asked = client.request(
        "POST",
        "/auth/reset_password_request",
        headers=forged,
        form={
            "email": "alice@example.com",
            "csrf_token": client.csrf_token("/auth/login"),
        },
    )
    assert asked.status == 302 and same_site(live, asked.location)
    link_lines = [
        line
        for line in quopri.decodestring(live.log().encode())
        .decode(errors="replace")
        .splitlines()
        if line.startswith("http") and "/auth/reset_password/" in line
    ]
    assert link_lines and all("evil" not in line for line in link_lines)
    assert link_lines[-1].startswith(f"http://127.0.0.1:{live.port}/")
    SENT["requests"] += client.sent


def test_forged_forwarded_for_cannot_dodge_the_rate_limit(
    postgres: Any, redis: Any, tmp_path: Path
) -> None:
    """Rate limits on, counted in Redis across gunicorn's two workers."""
    redis.command("FLUSHALL")
    throttled = LiveServer(postgres.new_database(), tmp_path, REDIS_URL=redis.url)
    try:
        client = throttled.client(source="127.0.0.2")
        token = client.csrf_token("/auth/login")
        statuses = [
            client.request(
                "POST",
                "/auth/login",
                form={
                    "username": f"user{n}",
                    "password": "guess-1234",
                    "csrf_token": token,
                },
                headers={
                    "X-Forwarded-For": f"203.0.113.{n}",
                    "X-Real-IP": f"198.51.100.{n}",
                },
            ).status
            for n in range(21)
        ]
        limited = client.request(
            "POST",
            "/auth/login",
            form={"username": "x", "password": "y", "csrf_token": token},
        )
        SENT["requests"] += client.sent
    finally:
        throttled.stop()
    assert statuses == [200] * 20 + [429]
    assert limited.status == 429 and int(limited.headers["Retry-After"]) > 0


# --- A real browser ----------------------------------------------------------

# Records every CSP violation the page reports, before any of its own code runs.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__csp.push(event.violatedDirective + " " + event.blockedURI);
});
"""


def browse(live: LiveServer, username: str, pages: list[str]) -> list[str]:
    """Sign in with Chromium, open ``pages``; return every problem seen."""
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context()
            context.add_init_script(RECORD_VIOLATIONS)
            page = context.new_page()
            page.set_default_timeout(15_000)
            page.on(
                "dialog", lambda dialog: problems.append(f"dialog {dialog.message}")
            )
            page.on(
                "console",
                lambda message: (
                    problems.append(f"console {message.text}")
                    if message.type == "error"
                    else None
                ),
            )
            page.on(
                "request",
                lambda request: (
                    problems.append(f"off-site {request.url}")
                    if not request.url.startswith(live.url)
                    else None
                ),
            )
            page.goto(f"{live.url}/auth/login")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", PASSWORD)
            page.press("input[name=password]", "Enter")
            page.wait_for_url(lambda url: "/auth/login" not in url)
            for path in pages:
                page.goto(f"{live.url}{path}")
                page.wait_for_load_state("load")
                if page.evaluate("window.xss") is not None:
                    problems.append(f"script ran on {path}")
                problems += [f"{path}: {v}" for v in page.evaluate("window.__csp")]
            SENT["requests"] += len(pages) + 3
        finally:
            browser.close()
    return problems


@pytest.mark.e2e
def test_chromium_runs_no_injected_script_and_sees_no_csp_violation(
    live: LiveServer,
) -> None:
    require_program("chromium", "chromium")
    author, username = new_account(live, "browser")
    for payload in XSS_PAYLOADS:
        author.submit(
            "/index", {"post": payload, "idempotency_key": secrets.token_urlsafe(16)}
        )
    author.submit("/edit_profile", {"username": username, "about_me": XSS_PAYLOADS[1]})
    SENT["requests"] += author.sent
    pages = [
        "/explore",
        "/index",
        f"/user/{username}",
        "/edit_profile",
        f"/search?q={quote(XSS_PAYLOADS[0])}",
        f"/search?q={quote(XSS_PAYLOADS[1])}",
        f"/user/{quote(XSS_PAYLOADS[2], safe='')}",
        "/auth/login?next=javascript:x",
        "/no-such-page",
    ]
    # In a thread of its own: the browser suite's session-long Playwright keeps
    # an event loop running in the main thread, where a second one cannot start.
    with ThreadPoolExecutor(max_workers=1) as pool:
        problems = pool.submit(browse, live, username, pages).result(timeout=300)
    # A 404 page logs one console error (the failed load) and nothing else.
    problems = [p for p in problems if "404" not in p]
    assert problems == []


# --- The JSON API ------------------------------------------------------------


@pytest.fixture(scope="module")
def api_token(live: LiveServer) -> tuple[str, int]:
    """A bearer token (and user id) for an account made through the API."""
    client = live.client()
    name = f"api{secrets.token_hex(3)}"
    made = client.request(
        "POST",
        "/api/users",
        body=json.dumps(
            {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
        ),
        headers={"Content-Type": "application/json"},
    )
    assert made.status == 201, made.text
    basic = base64.b64encode(f"{name}:{PASSWORD}".encode()).decode()
    issued = client.request(
        "POST", "/api/tokens", headers={"Authorization": f"Basic {basic}"}
    )
    assert issued.status in (200, 201), issued.text
    SENT["requests"] += client.sent
    return json.loads(issued.text)["token"], json.loads(made.text)["id"]


API_BODIES = [
    (b"{", "application/json"),
    (b'{"body": ', "application/json"),
    (b"[]", "application/json"),
    (b"null", "application/json"),
    (b'"just a string"', "application/json"),
    (b"1e999999", "application/json"),
    (b'{"body": 12}', "application/json"),
    (b'{"body": {"$ne": null}}', "application/json"),
    (b'{"body": ["a"]}', "application/json"),
    (b'{"body": "' + b"x" * 300 + b'"}', "application/json"),
    (b'{"body": "\\ud800"}', "application/json"),
    (b'{"body": "ok", "user_id": 1, "id": 1, "timestamp": "x"}', "application/json"),
    (b"[" * 10_000 + b"]" * 10_000, "application/json"),
    (b"\xff\xfe{\x00}", "application/json"),
    (b'{"body": "hi"}', "text/plain"),
    (b"body=hi", "application/x-www-form-urlencoded"),
    (b'{"body": "hi"}', "application/xml"),
    (b'{"body": "hi"}', ""),
    (b'{"body": "hi"}', "multipart/form-data; boundary=x"),
    (b'{"body": "' + b"y" * 70_000 + b'"}', "application/json"),
]


@pytest.mark.parametrize(("body", "content_type"), API_BODIES)
def test_api_refuses_malformed_json_and_wrong_content_types(
    live: LiveServer, api_token: tuple[str, int], body: bytes, content_type: str
) -> None:
    token, user_id = api_token
    client = live.client()
    headers = {"Authorization": f"Bearer {token}"}
    if content_type:
        headers["Content-Type"] = content_type
    posts_before = live.query("SELECT count(*) FROM post WHERE user_id = %s", user_id)
    for method, path in (
        ("POST", "/api/posts"),
        ("PUT", f"/api/users/{user_id}"),
        ("POST", "/api/users"),
    ):
        reply = client.request(method, path, body=body, headers=headers)
        assert reply.status in (400, 413, 415, 422), (path, reply.status, reply.text)
        assert reply.headers["Content-Type"].startswith("application/json")
        assert set(json.loads(reply.text)) >= {"error", "message"}
    SENT["requests"] += client.sent
    assert (
        live.query("SELECT count(*) FROM post WHERE user_id = %s", user_id)
        == posts_before
    )


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "Bearer",
        "Bearer ",
        "Bearer x",
        "Bearer " + "A" * 5000,
        "Basic !!!",
        "Basic " + base64.b64encode(b"nobody:x").decode(),
        "Bearer ' OR 1=1 --",
        "Token abc",
    ],
)
def test_api_refuses_bad_credentials(client: LiveClient, authorization: str) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    for method, path in (
        ("GET", "/api/posts"),
        ("POST", "/api/tokens"),
        ("DELETE", "/api/tokens"),
    ):
        reply = client.request(method, path, headers=headers)
        assert reply.status in (400, 401), (method, path, reply.status)
        assert reply.headers["Content-Type"].startswith("application/json")
