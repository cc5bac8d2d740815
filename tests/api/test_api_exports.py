"""``/api/exports``: start an export of one's posts and follow it to the mail."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from microblog.extensions import db
from microblog.jobs import exports
from microblog.jobs.models import Task, TaskStatus
from microblog.models import Post
from tests.api.support import error_of
from tests.harness.factories import bearer, make_export_task, make_user
from tests.harness.flask_app import fresh, wait_for_jobs
from tests.harness.mail_server import MailServer, attachment_json


def test_start_an_export_then_read_it_finished(
    app: Flask, client: FlaskClient, mail_server: MailServer
) -> None:
    alice = make_user("alice")
    db.session.add_all(Post(body=f"p{i}", author=alice) for i in range(12))
    db.session.commit()
    headers = bearer(alice)
    started = client.post("/api/exports", headers=headers)
    assert started.status_code == 202, started.data
    body = started.get_json()
    assert body["status"] in {"queued", "running", "finished"}
    assert started.headers["Location"] == f"/api/exports/{body['id']}"
    assert body["_links"] == {"self": started.headers["Location"]}
    (message,) = mail_server.wait_for(1)
    assert len(attachment_json(message)["posts"]) == 12
    wait_for_jobs(app)
    done = client.get(started.headers["Location"], headers=headers).get_json()
    assert done["status"] == "finished"
    assert done["progress"] == 100
    assert done["mailed"] is True
    assert done["finished_at"] is not None


def test_a_second_export_while_one_runs_is_409(app: Flask, client: FlaskClient) -> None:
    alice = make_user("alice")
    make_export_task(alice.id, "e" * 32, TaskStatus.RUNNING)
    response = client.post("/api/exports", headers=bearer(alice))
    assert response.status_code == 409
    assert "e" * 32 in error_of(response)["message"]
    fresh()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Task)) == 1


@pytest.mark.parametrize("export_id", ["f" * 32, "not-an-id", "F" * 32, "0" * 33])
def test_someone_elses_or_unknown_export_is_404(
    app: Flask, client: FlaskClient, export_id: str
) -> None:
    alice = make_user("alice")
    bob = make_user("bob")
    db.session.add(Task(id="f" * 32, name=exports.JOB_NAME, user_id=alice.id))
    db.session.commit()
    response = client.get(f"/api/exports/{export_id}", headers=bearer(bob))
    assert response.status_code == 404
    error_of(response)


def test_exports_need_a_token(client: FlaskClient) -> None:
    assert client.post("/api/exports").status_code == 401
    assert client.get("/api/exports/" + "a" * 32).status_code == 401
