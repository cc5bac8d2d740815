"""Mail goes out through jobs: reset links and post exports, to a real SMTP server.

These run without REDIS_URL, so the jobs run in a thread of the app: the path
`make run` takes. The worker process, Redis and faults are in tests/resilience.
"""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from microblog.extensions import db
from microblog.jobs import exports
from microblog.jobs.models import Task, TaskStatus
from microblog.jobs.queue import ThreadBackend
from microblog.models import Post, User, utcnow
from tests.harness.factories import make_export_task, make_user
from tests.harness.flask_app import AuthActions, fresh, wait_for_jobs
from tests.harness.mail_server import MailServer, attachment_json

LINK = re.compile(r"http://localhost(/auth/reset_password/\S+)")


def add_posts(user: User, count: int) -> None:
    start = utcnow() - timedelta(days=1)
    db.session.add_all(
        Post(
            body=f"post number {i}", author=user, timestamp=start + timedelta(seconds=i)
        )
        for i in range(count)
    )
    db.session.commit()


def tasks() -> list[Task]:
    fresh()
    return list(db.session.scalars(sa.select(Task)))


def test_reset_mail_arrives_with_a_working_link(
    app: Flask, client: FlaskClient, auth: AuthActions, mail_server: MailServer
) -> None:
    make_user("alice", "alice@example.com")
    response = client.post(
        "/auth/reset_password_request", data={"email": "alice@example.com"}
    )
    assert response.status_code == 302
    (message,) = mail_server.wait_for(1)
    assert message["To"] == "alice@example.com"
    assert message["Subject"] == "[microblog] Reset your password"
    match = LINK.search(message.get_body().get_content())
    assert match, message.get_body().get_content()
    new = {"password": "a-brand-new-pass", "password2": "a-brand-new-pass"}
    assert client.post(match.group(1), data=new).headers["Location"] == "/auth/login"
    assert auth.login("alice", "a-brand-new-pass").status_code == 302
    (task,) = tasks()
    assert task.status == TaskStatus.FINISHED and task.mailed_at is not None


def test_reset_for_an_unknown_address_sends_nothing_and_stores_nothing(
    app: Flask, client: FlaskClient, mail_server: MailServer
) -> None:
    response = client.post(
        "/auth/reset_password_request", data={"email": "nobody@example.com"}
    )
    assert response.status_code == 302
    wait_for_jobs(app)
    assert mail_server.messages == []
    assert mail_server.connections == 0
    assert tasks() == []


def test_export_arrives_with_every_post(
    app: Flask, client: FlaskClient, auth: AuthActions, mail_server: MailServer
) -> None:
    alice = make_user("alice")
    # More than one batch, so progress is committed along the way.
    add_posts(alice, exports.BATCH_SIZE * 2 + 7)
    auth.login("alice")
    response = client.post("/export_posts")
    assert response.status_code == 302
    assert response.headers["Location"] == "/user/alice"
    (message,) = mail_server.wait_for(1)
    assert message["Subject"] == "[microblog] Your posts"
    document = attachment_json(message)
    assert document["user"] == "alice"
    bodies = [post["body"] for post in document["posts"]]
    assert bodies == [f"post number {i}" for i in range(exports.BATCH_SIZE * 2 + 7)]
    wait_for_jobs(app)
    (task,) = tasks()
    assert (task.status, task.progress, task.active_key) == ("finished", 100, None)
    assert message["Message-ID"].startswith(f"<{task.id}@")


def test_one_export_at_a_time(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    alice = make_user("alice")
    make_export_task(alice.id, "a" * 32, TaskStatus.RUNNING)
    auth.login("alice")
    page = client.post("/export_posts", follow_redirects=True)
    assert b"already in progress" in page.data
    assert [task.id for task in tasks()] == ["a" * 32]


def test_a_stale_export_no_longer_blocks_a_new_one(
    app: Flask, client: FlaskClient, auth: AuthActions, mail_server: MailServer
) -> None:
    alice = make_user("alice")
    old = utcnow() - exports.STALE_AFTER - timedelta(minutes=1)
    make_export_task(
        alice.id, "b" * 32, TaskStatus.QUEUED, created_at=old, updated_at=old
    )
    auth.login("alice")
    client.post("/export_posts")
    mail_server.wait_for(1)
    wait_for_jobs(app)
    states = {task.id: task.status for task in tasks()}
    assert states.pop("b" * 32) == TaskStatus.FAILED
    assert list(states.values()) == [TaskStatus.FINISHED]


def test_a_repeated_export_job_mails_once(app: Flask, mail_server: MailServer) -> None:
    """A retry after the mail went out (the worker died just after) sends nothing."""
    alice = make_user("alice")
    add_posts(alice, 3)
    task = Task(id="c" * 32, name=exports.JOB_NAME, user_id=alice.id)
    db.session.add(task)
    db.session.commit()
    exports.export_posts(task.id, "en")
    task.status = TaskStatus.RUNNING  # as if the worker died before finishing
    db.session.commit()
    exports.export_posts(task.id, "en")
    assert len(mail_server.messages) == 1
    fresh()
    assert db.session.get(Task, "c" * 32).status == TaskStatus.FINISHED


def test_own_profile_shows_the_export_and_its_progress_bar(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    alice = make_user("alice")
    make_user("bob")
    make_export_task(alice.id, "d" * 32, TaskStatus.RUNNING, progress=42)
    auth.login("alice")
    page = client.get("/user/alice").get_data(as_text=True)
    assert 'action="/export_posts"' in page
    assert '<progress class="export-progress" max="100" value="42">' in page
    assert 'data-status="running"' in page
    # The script is a file of this site (the CSP allows no inline script).
    (script,) = re.findall(r"<script[^>]*>", page)
    assert re.fullmatch(
        r'<script src="/static/js/export\.[0-9a-f]+\.js" defer>', script
    )
    assert "style=" not in page
    status = client.get("/export_posts/status")
    assert status.get_json() == {
        "id": "d" * 32,
        "status": "running",
        "progress": 42,
        "message": "Exporting your posts: 42%",
    }
    other = client.get("/user/bob").get_data(as_text=True)
    assert "export" not in other


def test_export_status_needs_a_session(client: FlaskClient) -> None:
    response = client.get("/export_posts/status")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_export_script_is_served_like_the_stylesheet(client: FlaskClient) -> None:
    with client.get("/static/js/export.js") as response:
        assert response.status_code == 200
        assert response.mimetype in {"text/javascript", "application/javascript"}
        assert b"fetch(" in response.data


def test_without_redis_a_refused_mail_is_retried_then_the_export_fails(
    app: Flask, client: FlaskClient, auth: AuthActions, mail_server: MailServer
) -> None:
    """The thread of the web process retries like a worker, then gives up."""
    app.extensions["jobs"] = ThreadBackend(app, retries=2, first_delay=0)
    alice = make_user("alice")
    add_posts(alice, 3)
    auth.login("alice")
    mail_server.refuse = 1
    client.post("/export_posts")
    assert len(mail_server.wait_for(1)) == 1
    wait_for_jobs(app)
    assert mail_server.refused == 1
    assert [task.status for task in tasks()] == [TaskStatus.FINISHED]
    mail_server.refuse = -1
    client.post("/export_posts")
    wait_for_jobs(app)
    assert mail_server.refused == 1 + 3  # the first try and two retries
    failed = [task for task in tasks() if task.status == TaskStatus.FAILED]
    assert len(failed) == 1
    assert failed[0].active_key is None  # a new export may start
    assert "SMTPDataError" in (failed[0].error or "")
