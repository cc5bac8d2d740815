"""Round trips per page, everything counted, as PostgreSQL itself sees them.

The app's own query counts (tests/test_main.py) miss what the driver and the
pool add: psycopg2's BEGIN, a liveness ping, the ROLLBACK that returns a
connection to the pool. Here ``pg_stat_statements`` counts every statement a
page costs, with the app built from the environment exactly as in production
(pool settings included).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import flask_migrate
import pytest
from flask import Flask
from flask.testing import FlaskClient

from bench.database import CountingPostgres, StatementCount
from microblog import create_app
from microblog.commands.seed import DEMO_PASSWORD, demo_username

DATABASE = "roundtrips"
REQUESTS = 10
# BEGIN, the pool's ping and ROLLBACK included: the budget per page.
PAGE_BUDGET = 3
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*\svalue="([^"]+)"')


@dataclass
class Site:
    app: Flask
    client: FlaskClient
    postgres: CountingPostgres

    def count(self, path: str) -> StatementCount:
        """Statements PostgreSQL ran for REQUESTS sequential GETs of ``path``."""
        with self.postgres.counting(DATABASE) as counted:
            for _ in range(REQUESTS):
                assert self.client.get(path).status_code == 200
        return counted


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    postgres = CountingPostgres()
    try:
        url = postgres.new_database(DATABASE)
        postgres.enable_counting(DATABASE)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("DATABASE_URL", url)
            patch.setenv("SECRET_KEY", secrets.token_hex(32))
            patch.setenv("FLASK_SKIP_DOTENV", "1")
            for name in ("REDIS_URL", "FORCE_HTTPS", "DYNO", "FLY_APP_NAME"):
                patch.delenv(name, raising=False)
            app = create_app()
        with app.app_context():
            flask_migrate.upgrade()
            seeded = app.test_cli_runner().invoke(
                args=["seed", "--users", "40", "--follows", "10", "--posts", "5"]
            )
        assert seeded.exit_code == 0, seeded.output
        client = app.test_client()
        form = client.get("/auth/login").get_data(as_text=True)
        token = CSRF_FIELD.search(form)
        assert token is not None
        signed_in = client.post(
            "/auth/login",
            data={
                "csrf_token": token.group(1),
                "username": demo_username(0),
                "password": DEMO_PASSWORD,
            },
        )
        assert signed_in.status_code == 302
        client.get("/")  # writes last_seen once; later pages within its interval
        yield Site(app, client, postgres)
    finally:
        postgres.stop()


@pytest.mark.parametrize("path", ["/", f"/user/{demo_username(1)}", "/explore"])
def test_a_page_costs_its_queries_and_nothing_else(site: Site, path: str) -> None:
    counted = site.count(path)
    assert counted.total / REQUESTS <= PAGE_BUDGET, counted
    # No BEGIN or ROLLBACK around a read, no ping before it.
    assert counted.transaction_control == 0, counted
    assert counted.pings == 0, counted


def test_a_form_that_writes_keeps_its_transaction(site: Site) -> None:
    form = site.client.get("/").get_data(as_text=True)
    token = CSRF_FIELD.search(form)
    assert token is not None
    with site.postgres.counting(DATABASE) as counted:
        posted = site.client.post(
            "/", data={"csrf_token": token.group(1), "post": "counted"}
        )
    assert posted.status_code == 302
    # BEGIN before the first statement, COMMIT after the insert.
    assert counted.transaction_control >= 2, counted
    assert any(text.startswith("INSERT INTO post") for text in counted.calls)
