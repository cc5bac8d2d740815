"""A database that goes away: signed-in pages answer 503, finished requests stay 200."""

from __future__ import annotations

import flask_migrate
import sqlalchemy as sa
from flask import Flask, Response
from psycopg2 import sql

from microblog import create_app
from microblog.config import normalise_database_url
from microblog.extensions import db
from tests.harness.databases import PostgresServer
from tests.harness.factories import make_user
from tests.harness.flask_app import AuthActions, app_config

UNREACHABLE = "postgresql+psycopg2://nobody@127.0.0.1:1/none?connect_timeout=2"


def test_signed_in_pages_are_503_with_retry_after_when_the_database_is_down(
    app: Flask, auth: AuthActions
) -> None:
    make_user("susan")
    auth.login("susan")
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    cookie = auth.client.get_cookie(cookie_name)
    assert cookie is not None
    # The same signed cookie reaching an instance whose database is gone: the
    # page must not need the user it cannot load.
    outage = create_app(app_config(UNREACHABLE, SECRET_KEY=app.config["SECRET_KEY"]))
    client = outage.test_client()
    client.set_cookie(cookie_name, cookie.value)
    for path in ("/", "/explore", "/user/susan"):
        response = client.get(path)
        assert response.status_code == 503, path
        assert response.headers["Retry-After"] == "5"
        assert b"The database is unavailable" in response.data


def terminate_connections(server: PostgresServer, database: str) -> None:
    server.execute(
        sql.SQL(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = {} AND pid <> pg_backend_pid()"
        ).format(sql.Literal(database))
    )


def migrated_app(postgres: PostgresServer) -> tuple[Flask, str]:
    """The app on a new, migrated PostgreSQL database, and that database's name."""
    url = normalise_database_url(postgres.new_database())
    database = sa.make_url(url).database
    assert database is not None
    app = create_app(app_config(url))
    with app.app_context():
        flask_migrate.upgrade()
    return app, database


def test_a_connection_lost_after_the_view_does_not_fail_the_request(
    postgres: PostgresServer,
) -> None:
    app, database = migrated_app(postgres)

    @app.after_request
    def lose_connection(response: Response) -> Response:
        # The view read the database; the connection dies before teardown.
        terminate_connections(postgres, database)
        return response

    client = app.test_client()
    assert client.get("/explore").status_code == 200
    # The pool notices the dead connection and the next request gets a new one.
    assert client.get("/readyz").status_code == 200
    with app.app_context():
        db.engine.dispose()


def test_a_page_whose_pooled_connection_was_dropped_runs_again_on_a_new_one(
    postgres: PostgresServer,
) -> None:
    # No ping before checkout: the first statement finds the connection dead.
    app, database = migrated_app(postgres)
    with app.app_context():
        make_user("susan")
    client = app.test_client()
    for path in ("/explore", "/user/susan", "/api/users"):
        assert client.get(path).status_code in (200, 401), path
        terminate_connections(postgres, database)  # a restart, while pooled
        again = client.get(path)
        assert again.status_code in (200, 401), (path, again.data[:300])
    # A write is never sent twice: its lost connection is a 503.
    terminate_connections(postgres, database)
    posted = client.post("/auth/login", data={"username": "susan", "password": "x"})
    assert posted.status_code == 503
    with app.app_context():
        db.engine.dispose()
