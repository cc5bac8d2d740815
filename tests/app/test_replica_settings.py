"""The replica and Fly region settings: read, normalised and checked together."""

from __future__ import annotations

import pytest

from microblog.config import ConfigError, load_config

PRIMARY = "postgres://app:pw@primary.internal:5432/app"


def test_replica_urls_are_a_list_normalised_like_database_url() -> None:
    config = load_config(
        {
            "DATABASE_URL": PRIMARY,
            "DATABASE_REPLICA_URL": " postgres://app:pw@r1:5433/app ,"
            "postgresql://app:pw@r2/app?sslmode=require",
        },
        testing=True,
    )
    assert config["DATABASE_REPLICA_URL"] == (
        "postgresql+psycopg2://app:pw@r1:5433/app",
        "postgresql+psycopg2://app:pw@r2/app?sslmode=require",
    )


def test_no_replicas_by_default_and_no_replay_region() -> None:
    config = load_config({}, testing=True)
    assert config["DATABASE_REPLICA_URL"] == ()
    assert config["FLY_REPLAY_REGION"] is None


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        (
            {"DATABASE_URL": PRIMARY, "DATABASE_REPLICA_URL": "mysql://u@h/db"},
            "DATABASE_REPLICA_URL: replicas must be PostgreSQL",
        ),
        (
            {"DATABASE_REPLICA_URL": "postgres://u@h/db"},
            "DATABASE_REPLICA_URL: replicas need a PostgreSQL DATABASE_URL",
        ),
        (
            {"REPLICA_MAX_LAG": "30", "READ_YOUR_WRITES_SECONDS": "20"},
            "READ_YOUR_WRITES_SECONDS: must be at least REPLICA_MAX_LAG + "
            "REPLICA_CHECK_INTERVAL (35), got 20",
        ),
    ],
)
def test_replica_settings_that_cannot_work_are_refused(
    env: dict[str, str], problem: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(env, testing=True)
    assert problem in str(refused.value)


@pytest.mark.parametrize(
    ("primary", "here", "replay_to"),
    [("ams", "syd", "ams"), ("ams", "ams", None), ("", "syd", None), ("ams", "", None)],
)
def test_writes_are_replayed_only_outside_the_primary_region(
    primary: str, here: str, replay_to: str | None
) -> None:
    env = {"PRIMARY_REGION": primary, "FLY_REGION": here}
    assert load_config(env, testing=True)["FLY_REPLAY_REGION"] == replay_to
