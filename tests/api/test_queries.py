"""Every API collection costs a fixed number of SQL statements per page.

The budget counts the token check (one statement), any existence check of the
user in the path (one), and the page itself (one, with counts and authors
joined in), whatever the page size: no N+1.
"""

from __future__ import annotations

import pytest

from microblog.extensions import db
from tests.harness.factories import bearer, make_post, make_user
from tests.harness.flask_app import count_queries, fresh

ROWS = 12


@pytest.fixture
def crowd(app):
    """A user followed by and following ROWS users, each with a post."""
    star = make_user("star")
    for number in range(ROWS):
        fan = make_user(f"fan{number}")
        fan.follow(star)
        star.follow(fan)
        make_post(fan, f"post {number}")
        make_post(star, f"star post {number}")
    db.session.commit()
    return star


BUDGETS = [
    ("/api/users", 2),
    ("/api/posts", 2),
    ("/api/users/{id}/followers", 3),
    ("/api/users/{id}/following", 3),
    ("/api/users/{id}/posts", 3),
]


@pytest.mark.parametrize(("template", "budget"), BUDGETS)
def test_collection_statements_do_not_grow_with_page_size(
    app, client, crowd, template, budget
):
    headers = bearer(crowd)
    path = template.format(id=crowd.id)
    counts = {}
    for per_page in (1, 10):
        fresh()
        with count_queries(app) as log:
            response = client.get(f"{path}?per_page={per_page}", headers=headers)
        assert response.status_code == 200
        assert len(response.get_json()["items"]) == per_page
        counts[per_page] = log.count
    assert counts == {1: budget, 10: budget}


@pytest.mark.parametrize(
    ("template", "budget"),
    [("/api/users/{id}", 2), ("/api/posts/{post}", 2)],
)
def test_single_resources_cost_two_statements(app, client, crowd, template, budget):
    headers = bearer(crowd)
    post = make_post(crowd, "mine")
    path = template.format(id=crowd.id, post=post.id)
    fresh()
    with count_queries(app) as log:
        assert client.get(path, headers=headers).status_code == 200
    assert log.count == budget
