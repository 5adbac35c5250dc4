"""Reviewer sign-in policy (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.orchestrator.reviewers import (
    LOCK_DURATION,
    MAX_FAILED_LOGINS,
    InvalidReviewer,
    check_new_account,
    hash_password,
    safe_next,
    sign_in,
    token_digest,
    tokens_match,
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
HASH = hash_password("correct horse battery")


def _attempt(password: str, **account: object) -> object:
    fields: dict[str, object] = {
        "stored_hash": HASH,
        "active": True,
        "failed_logins": 0,
        "locked_until": None,
        **account,
    }
    return sign_in(password, now=NOW, **fields)  # type: ignore[arg-type]


def test_the_right_password_signs_in_and_the_hash_is_not_the_password() -> None:
    assert HASH.startswith("$argon2id$") and "correct horse" not in HASH
    assert _attempt("correct horse battery").accepted  # type: ignore[attr-defined]


def test_a_wrong_password_an_unknown_or_disabled_reviewer_is_refused() -> None:
    assert not _attempt("wrong").accepted  # type: ignore[attr-defined]
    assert not _attempt("correct horse battery", stored_hash=None).accepted  # type: ignore[attr-defined]
    assert not _attempt("correct horse battery", active=False).accepted  # type: ignore[attr-defined]


def test_the_last_allowed_failure_locks_the_account_and_a_lock_holds_even_the_right_password() -> (
    None
):
    early = _attempt("wrong", failed_logins=MAX_FAILED_LOGINS - 2)
    assert early.lock_until is None  # type: ignore[attr-defined]
    last = _attempt("wrong", failed_logins=MAX_FAILED_LOGINS - 1)
    assert last.lock_until == NOW + LOCK_DURATION  # type: ignore[attr-defined]
    locked = _attempt("correct horse battery", locked_until=NOW + timedelta(minutes=1))
    assert not locked.accepted  # type: ignore[attr-defined]
    expired = _attempt("correct horse battery", locked_until=NOW - timedelta(seconds=1))
    assert expired.accepted  # type: ignore[attr-defined]


def test_new_accounts_need_a_plain_id_and_a_long_enough_password() -> None:
    check_new_account("ana.lopez", "long enough!")
    with pytest.raises(InvalidReviewer):
        check_new_account("Ana Lopez", "long enough!")
    with pytest.raises(InvalidReviewer):
        check_new_account("ana", "short")


def test_tokens_compare_exactly_and_sessions_are_stored_as_digests() -> None:
    assert tokens_match("abc", "abc")
    assert not tokens_match("abc", "abd") and not tokens_match("abc", None)
    assert not tokens_match("", "")
    assert len(token_digest("token")) == 32 and token_digest("a") != token_digest("b")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/drafts/job-1", "/drafts/job-1"),
        ("https://evil.example/", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        (None, "/"),
    ],
)
def test_after_sign_in_only_paths_of_this_site_are_followed(
    given: str | None, expected: str
) -> None:
    assert safe_next(given) == expected
