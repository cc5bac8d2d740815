"""Statements the app builds once are never shared between request threads.

SQLAlchemy completes parts of a statement lazily on its first compile; two
gthread threads compiling one statement object at once made a fresh worker's
home page fail now and then with "returned no FROM clauses due to
auto-correlation" (a 500 during the rolling-restart scenario's warm-up).
"""

from __future__ import annotations

import threading

from microblog.models import timeline_by_author


def statements_of_a_new_thread() -> list[object]:
    built: list[object] = []

    def build() -> None:
        built.extend(timeline_by_author(bounded) for bounded in (True, False, True))

    thread = threading.Thread(target=build)
    thread.start()
    thread.join()
    return built


def test_each_thread_builds_its_own_timeline_statement_once() -> None:
    first = statements_of_a_new_thread()
    second = statements_of_a_new_thread()
    # Built once per thread and per shape...
    assert first[0] is first[2]
    assert first[0] is not first[1]
    # ...and never handed to another thread.
    assert not {id(statement) for statement in first} & {id(s) for s in second}
