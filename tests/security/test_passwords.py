"""The password module: the constant hash checked for unknown accounts."""

from __future__ import annotations

from microblog.accounts.passwords import (
    DUMMY_HASH,
    hash_password,
    needs_rehash,
    verify_password,
)


def test_the_unknown_account_hash_has_todays_parameters() -> None:
    # Same parameters, same work: an unknown name answers as slowly as a
    # wrong password for a real one.
    assert not needs_rehash(DUMMY_HASH)
    assert DUMMY_HASH.rsplit("$", 2)[0] == hash_password("x").rsplit("$", 2)[0]


def test_no_password_matches_a_missing_hash() -> None:
    assert verify_password(None, "not-a-real-password") is False
    assert verify_password(None, "") is False
