"""Fixtures for the resilience suite: a seeded database, a cluster, the table."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.harness.app_server import run_flask
from tests.harness.databases import PostgresServer
from tests.harness.environment import environment
from tests.harness.processes import require_program
from tests.resilience.cluster import SECRET_KEY, Cluster, InstanceSettings
from tests.resilience.report import ROWS, format_table
from tests.resilience.support import AppDatabase, prepare_database


@pytest.fixture(scope="session")
def compiled_translations() -> None:
    """Compile the message catalogs, as every build does before the app starts."""
    run_flask(environment(SECRET_KEY=SECRET_KEY), "translate", "compile")


@pytest.fixture
def app_database(postgres: PostgresServer) -> AppDatabase:
    """A fresh, migrated and seeded PostgreSQL database for one scenario."""
    url = postgres.new_database()
    return AppDatabase(url, prepare_database(url))


@pytest.fixture
def start_cluster(
    compiled_translations: None,
) -> Iterator[Callable[[InstanceSettings], Cluster]]:
    """Start three instances and nginx; everything is stopped after the test."""
    require_program("nginx", "nginx")
    clusters: list[Cluster] = []

    def start(settings: InstanceSettings) -> Cluster:
        cluster = Cluster(settings)
        clusters.append(cluster)
        cluster.start()
        return cluster

    yield start
    for cluster in clusters:
        cluster.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the scenario table after the run."""
    if not ROWS:
        return
    terminalreporter.section("resilience scenarios")
    for line in format_table(ROWS):
        terminalreporter.write_line(line)
