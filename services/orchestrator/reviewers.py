"""Reviewer sign-in policy: password hashing, lock-out after failed attempts, session and
CSRF tokens. Pure (no database): the console stores what these functions return.

Passwords are hashed with Argon2id (argon2-cffi's defaults, re-hashed when they change).
A session cookie holds a random token; only its SHA-256 is stored, so the sessions table
lets no one in. Every form carries the session's CSRF token (synchronizer token), compared
in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
# Verified when the reviewer does not exist, so an unknown name takes as long as a wrong
# password (no account enumeration by timing).
_DUMMY_HASH = _HASHER.hash("not-a-password")

MIN_PASSWORD_CHARS = 10
REVIEWER_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
# After this many failed sign-ins in a row the account is locked for LOCK_DURATION.
MAX_FAILED_LOGINS = 5
LOCK_DURATION = timedelta(minutes=5)


class InvalidReviewer(ValueError):
    """A reviewer id or password that cannot be used."""


def check_new_account(reviewer_id: str, password: str) -> None:
    """Raises InvalidReviewer when the id or the password is not acceptable."""
    if not REVIEWER_ID.match(reviewer_id):
        raise InvalidReviewer(
            "a reviewer id is 2 to 63 characters: lower-case letters, digits, '.', '_', '-'"
        )
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidReviewer(f"a password has at least {MIN_PASSWORD_CHARS} characters")


def hash_password(password: str) -> str:
    """The Argon2id hash to store."""
    return _HASHER.hash(password)


@dataclass(frozen=True)
class SignIn:
    """The result of a sign-in attempt."""

    accepted: bool
    # Set after a failure that locks the account.
    lock_until: datetime | None = None
    # Set after a success when the stored hash uses outdated parameters.
    new_hash: str | None = None
    # Why a refused attempt was refused, for the log (the page always says the same).
    reason: str = ""


def sign_in(
    password: str,
    *,
    stored_hash: str | None,
    active: bool,
    failed_logins: int,
    locked_until: datetime | None,
    now: datetime,
) -> SignIn:
    """Whether the password lets the reviewer in. `stored_hash` is None for an unknown
    reviewer; the hash is verified in every case so timing says nothing."""
    try:
        matches: bool = _HASHER.verify(stored_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        matches = False
    if stored_hash is None:
        return SignIn(False, reason="unknown reviewer")
    if not active:
        return SignIn(False, reason="account disabled")
    if locked_until is not None and locked_until > now:
        return SignIn(False, reason="account locked")
    if not matches:
        lock = now + LOCK_DURATION if failed_logins + 1 >= MAX_FAILED_LOGINS else None
        return SignIn(False, lock_until=lock, reason="wrong password")
    rehash = _HASHER.hash(password) if _HASHER.check_needs_rehash(stored_hash) else None
    return SignIn(True, new_hash=rehash)


def new_token() -> str:
    """A random, URL-safe token (256 bits) for a session cookie or a CSRF field."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> bytes:
    """What is stored of a session token."""
    return hashlib.sha256(token.encode()).digest()


def tokens_match(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a CSRF token."""
    return bool(expected) and given is not None and hmac.compare_digest(expected, given)


def safe_next(path: str | None) -> str:
    """Where to go after signing in: only a path on this site (no open redirect)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


async def save_account(dsn: str, reviewer_id: str, display_name: str, password: str) -> None:
    """Creates a reviewer of the console, or sets a new name and password (and unlocks), in
    the orchestrator's schema at `dsn` (`crm-orchestrator add-reviewer`). The only function
    here that touches the database: asyncpg and the reviewer store are imported when it
    runs, so the policy above stays importable on its own."""
    import asyncpg

    from services.orchestrator import reviewer_store

    pool = await asyncpg.create_pool(
        dsn, min_size=1, max_size=1, server_settings={"search_path": "orchestrator"}
    )
    try:
        await reviewer_store.save_reviewer(
            pool,
            reviewer_id=reviewer_id,
            display_name=display_name,
            password_hash=hash_password(password),
        )
    finally:
        await pool.close()
