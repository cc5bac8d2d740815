"""Read replicas against a real streaming standby, and Fly's fly-replay.

One primary and one hot standby (``pg_basebackup -R``) serve gunicorn. Replay
paused on the standby stands in for replication lag; the standby stopped, for
a replica that went away. Both servers log their statements, so each scenario
counts where the app's queries really ran.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest

from microblog.accounts.passwords import hash_password
from microblog.replicas.routing import PROBE_MAX_AGE
from tests.harness.factories import PASSWORD
from tests.harness.http_client import LiveClient, request
from tests.harness.live_app import LiveApp
from tests.resilience.report import Row, add_row
from tests.resilience.streaming_replica import (
    POST_QUERY,
    LoggingPostgres,
    StreamingReplica,
)

SECRET_KEY = secrets.token_hex(32)
FORM_FIELD = r'name="{}"[^>]*value="([^"]+)"'
# What Fly's proxy adds to every request it forwards (values as in Fly's docs).
FLY_HEADERS = {
    "Fly-Region": "syd",
    "Fly-Client-IP": "127.0.0.1",
    "Fly-Forwarded-Port": "443",
    "Fly-Request-Id": "01J0000000000000000000000",
    "X-Forwarded-Proto": "https",
}


@dataclass
class Setup:
    primary: LoggingPostgres
    replica: StreamingReplica
    url: str  # the app's database on the primary
    replica_url: str
    database: str
    root: Path

    def server(self, **settings: str) -> LiveApp:
        env = {"SECRET_KEY": SECRET_KEY, "DATABASE_REPLICA_URL": self.replica_url}
        # A folder per server: each keeps its own gunicorn log.
        logs = Path(tempfile.mkdtemp(dir=self.root))
        return LiveApp(self.url, logs, **{**env, **settings})

    def add_user(self, username: str) -> None:
        """A user written straight to the primary, then waited for on the replica."""
        statement = (
            'INSERT INTO "user" (username, email, password_hash, last_seen, '
            "created_at, session_token) VALUES (%s, %s, %s, now(), now(), %s)"
        )
        values = (username, f"{username}@example.com", hash_password(PASSWORD))
        url = self.url.replace("postgres://", "postgresql://")
        with psycopg2.connect(url) as connection, connection.cursor() as cursor:
            cursor.execute(statement, (*values, secrets.token_hex(16)))
        connection.close()
        self.replica.wait_for(
            self.database, 'SELECT 1 FROM "user" WHERE username = %s', (username,)
        )


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    primary = LoggingPostgres()
    replica = None
    try:
        url = primary.new_database()
        replica = StreamingReplica(primary)
        database = url.rsplit("/", 1)[1]
        replica_url = re.sub(r":\d+/", f":{replica.port}/", url)
        root = tmp_path_factory.mktemp("replicas")
        yield Setup(primary, replica, url, replica_url, database, root)
    finally:
        if replica is not None:
            replica.stop()
        primary.stop()


def signed_in(server: LiveApp, username: str) -> LiveClient:
    client = server.client()
    assert client.login(username, PASSWORD).status == 302
    return client


def publish(client: LiveClient, body: str) -> None:
    """Post through the home page's form, as a browser does."""
    page = client.get("/").text
    fields = {
        name: re.search(FORM_FIELD.format(name), page).group(1)
        for name in ("csrf_token", "idempotency_key")
    }
    reply = client.request("POST", "/", form={**fields, "post": body})
    assert reply.status == 302, reply.text[:300]


def api_reads_by_server(setup: Setup, server: LiveApp, username: str) -> dict[str, int]:
    """Where one API read's statements ran: the token check, then the posts."""
    issued = request(
        server.port,
        "/api/tokens",
        method="POST",
        headers={"Authorization": basic(username)},
    )
    assert issued.status == 200, issued.text
    token = json.loads(issued.text)["token"]
    checks, posts = re.compile(r"JOIN token\b"), POST_QUERY
    before = (
        setup.primary.statements(setup.database, checks),
        setup.replica.statements(setup.database, posts),
    )
    # A client that keeps no cookies: nothing marks it as a recent writer.
    reply = request(
        server.port, "/api/posts", headers={"Authorization": f"Bearer {token}"}
    )
    assert reply.status == 200, reply.text
    return {
        "token check on primary": setup.primary.statements(setup.database, checks)
        - before[0],
        "posts on replica": setup.replica.statements(setup.database, posts) - before[1],
    }


def no_server_errors(server: LiveApp) -> None:
    assert server.server_errors() == [], server.log()[-3000:]


def test_lagging_replica_the_writer_sees_their_post_others_after_replay(
    setup: Setup,
) -> None:
    # Lag may be large here: only read-your-writes keeps the writer current.
    server = setup.server(
        REPLICA_MAX_LAG="600",
        REPLICA_CHECK_INTERVAL="1",
        READ_YOUR_WRITES_SECONDS="601",
    )
    try:
        alice, bob = f"alice{secrets.token_hex(2)}", f"bob{secrets.token_hex(2)}"
        setup.add_user(alice)
        setup.add_user(bob)
        writer, reader = signed_in(server, alice), signed_in(server, bob)
        # Signing in writes nothing, so it leaves no read-your-writes cookie.
        assert not any("recent_write" in name for name in reader.cookies)

        before = (
            setup.primary.statements(setup.database),
            setup.replica.statements(setup.database),
        )
        for _ in range(10):
            assert reader.get("/explore").status == 200
        on_primary = setup.primary.statements(setup.database) - before[0]
        on_replica = setup.replica.statements(setup.database) - before[1]
        assert on_primary == 0
        assert on_replica >= 10
        api_reads = api_reads_by_server(setup, server, bob)
        assert api_reads == {"token check on primary": 1, "posts on replica": 1}

        setup.replica.pause_replay()
        body = f"written while the replica lags {secrets.token_hex(4)}"
        publish(writer, body)
        assert any("recent_write" in name for name in writer.cookies)
        primary_before = setup.primary.statements(setup.database)
        assert body in writer.get("/").text  # the writer reads the primary
        assert body in writer.get("/explore").text
        assert setup.primary.statements(setup.database) > primary_before
        assert body not in reader.get("/explore").text  # the replica lacks it
        assert "replica " in server.client().get("/readyz").text

        setup.replica.resume_replay()
        deadline = time.monotonic() + 20
        while body not in reader.get("/explore").text:
            assert time.monotonic() < deadline, "the post never reached the reader"
            time.sleep(0.2)
        no_server_errors(server)
        add_row(
            Row(
                "8 replica lag (replay paused)",
                server.request_count(),
                0,
                1,
                1,
                f"10 page reads: {on_primary} post queries on primary, {on_replica} "
                "on replica; API read: token check on primary, posts on replica; "
                "writer saw the post at once, reader after replay resumed",
            )
        )
    finally:
        setup.replica.resume_replay()
        server.stop()


def test_replica_too_far_behind_reads_fall_back_to_the_primary(setup: Setup) -> None:
    server = setup.server(
        REPLICA_MAX_LAG="1", REPLICA_CHECK_INTERVAL="1", READ_YOUR_WRITES_SECONDS="2"
    )
    anonymous = server.client()
    try:
        author = f"carol{secrets.token_hex(2)}"
        setup.add_user(author)
        writer = signed_in(server, author)
        assert "replica" in anonymous.get("/readyz").text
        setup.replica.pause_replay()
        body = f"behind the lag bound {secrets.token_hex(4)}"
        publish(writer, body)
        time.sleep(2.5)  # past REPLICA_MAX_LAG and one check
        assert body in anonymous.get("/explore").text  # from the primary
        ready = anonymous.get("/readyz")
        assert ready.status == 200
        assert re.search(r"replica \S+: lagging", ready.text), ready.text
        no_server_errors(server)
        add_row(
            Row(
                "8 replica past REPLICA_MAX_LAG",
                server.request_count(),
                0,
                1,
                1,
                "reads fell back to the primary; /readyz 200 says lagging",
            )
        )
    finally:
        setup.replica.resume_replay()
        server.stop()


def test_fly_replay_sends_writes_and_the_writers_reads_to_the_primary_region(
    setup: Setup,
) -> None:
    regional = setup.server(PRIMARY_REGION="ams", FLY_REGION="syd")
    primary_region = setup.server(PRIMARY_REGION="ams", FLY_REGION="ams")
    try:
        username = f"dave{secrets.token_hex(2)}"
        setup.add_user(username)
        visitor = regional.client()
        statements = setup.primary.statements(setup.database, re.compile("statement"))

        page = visitor.get("/auth/login", headers=FLY_HEADERS)
        assert page.status == 200  # reads are served in the region
        token = re.search(FORM_FIELD.format("csrf_token"), page.text).group(1)
        form = {"username": username, "password": PASSWORD, "csrf_token": token}
        replayed = visitor.request(
            "POST", "/auth/login", form=form, headers=FLY_HEADERS
        )
        assert replayed.status == 409
        assert replayed.headers["fly-replay"] == "region=ams;state=write"
        assert "ams" in replayed.text and len(replayed.text) < 100
        # Answered before any query: the write costs nothing in this region.
        assert (
            setup.primary.statements(setup.database, re.compile("statement"))
            == statements
        )

        # Fly's proxy delivers the same request in ams; the post is written there.
        writer = primary_region.client()
        writer.cookies = dict(visitor.cookies)
        assert writer.request("POST", "/auth/login", form=form).status == 302
        body = f"replayed from syd {secrets.token_hex(4)}"
        publish(writer, body)
        # Its follow-up read lands in syd again and is replayed for freshness.
        visitor.cookies = dict(writer.cookies)
        follow_up = visitor.get("/", headers=FLY_HEADERS)
        assert follow_up.status == 409
        assert follow_up.headers["fly-replay"] == "region=ams;state=read_your_writes"

        for path in ("/healthz", "/readyz", "/explore"):
            assert regional.client().get(path, headers=FLY_HEADERS).status == 200
        # Already replayed once: served here rather than bounced again.
        again = {**FLY_HEADERS, "Fly-Replay-Src": "instance=abc;region=syd;t=1"}
        looped = regional.client().get("/auth/login", headers=again)
        assert looped.status == 200
        no_server_errors(regional)
        no_server_errors(primary_region)
        add_row(
            Row(
                "8 Fly region syd, primary ams",
                regional.request_count() + primary_region.request_count(),
                0,
                1,
                1,
                "POST: 409 fly-replay region=ams before any query; writer's next "
                "GET replayed too; probes and reads served in syd",
            )
        )
    finally:
        regional.stop()
        primary_region.stop()


def test_replica_stopped_pages_are_served_from_the_primary(setup: Setup) -> None:
    # No check is due for a minute: the requests themselves find the replica gone
    # (and /readyz, which checks unless it did in the last second, reports it
    # whichever worker answers).
    server = setup.server(REPLICA_CHECK_INTERVAL="60", READ_YOUR_WRITES_SECONDS="70")
    try:
        username = f"erin{secrets.token_hex(2)}"
        setup.add_user(username)
        client = signed_in(server, username)
        for _ in range(4):  # both workers have checked the replica and use it
            assert client.get("/explore").status == 200
        setup.replica.stop()
        statuses = [client.get(path).status for path in ("/", "/explore") * 5]
        token = client.request(
            "POST",
            "/api/tokens",
            headers={"Authorization": basic(username)},
        )
        assert token.status == 200, token.text
        bearer = re.search(r'"token":\s*"([^"]+)"', token.text).group(1)
        api = client.get("/api/posts", headers={"Authorization": f"Bearer {bearer}"})
        statuses.append(api.status)
        assert set(statuses) == {200}, statuses
        time.sleep(PROBE_MAX_AGE)  # the last check of any worker is older now
        ready = client.get("/readyz")
        assert ready.status == 200
        assert re.search(r"replica \S+: down", ready.text), ready.text
        no_server_errors(server)
        add_row(
            Row(
                "8 replica stopped",
                server.request_count(),
                0,
                0,
                0,
                "pages and API 200 from the primary; /readyz 200 says down",
            )
        )
    finally:
        server.stop()


def basic(username: str) -> str:
    pair = f"{username}:{PASSWORD}".encode()
    return "Basic " + base64.b64encode(pair).decode()
