"""Reviewer accounts and their sessions as stored (the policy that fills them is in
`reviewers`): a password only as its hash, a session only as its token's SHA-256."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class ReviewerAccount:
    """A reviewer as stored (the password only as its hash)."""

    reviewer_id: str
    display_name: str
    password_hash: str
    active: bool
    failed_logins: int
    locked_until: datetime | None


async def save_reviewer(
    pool: asyncpg.Pool, *, reviewer_id: str, display_name: str, password_hash: str
) -> None:
    """Creates a reviewer, or sets a new name and password (and unlocks) an existing one."""
    await pool.execute(
        """
        INSERT INTO reviewers (reviewer_id, display_name, password_hash) VALUES ($1, $2, $3)
        ON CONFLICT (reviewer_id) DO UPDATE
            SET display_name = EXCLUDED.display_name, password_hash = EXCLUDED.password_hash,
                active = true, failed_logins = 0, locked_until = NULL
        """,
        reviewer_id,
        display_name,
        password_hash,
    )


async def get_reviewer(pool: asyncpg.Pool, reviewer_id: str) -> ReviewerAccount | None:
    """One reviewer account."""
    row = await pool.fetchrow(
        "SELECT reviewer_id, display_name, password_hash, active, failed_logins, locked_until"
        " FROM reviewers WHERE reviewer_id = $1",
        reviewer_id,
    )
    return ReviewerAccount(**dict(row)) if row else None


async def record_login(
    pool: asyncpg.Pool,
    reviewer_id: str,
    *,
    succeeded: bool,
    locked_until: datetime | None = None,
    password_hash: str | None = None,
) -> None:
    """Counts a failed sign-in (locking the account until `locked_until`), or clears the
    count after a good one (storing a re-hashed password when the parameters changed)."""
    if succeeded:
        await pool.execute(
            "UPDATE reviewers SET failed_logins = 0, locked_until = NULL,"
            " password_hash = COALESCE($2, password_hash) WHERE reviewer_id = $1",
            reviewer_id,
            password_hash,
        )
    else:
        await pool.execute(
            "UPDATE reviewers SET failed_logins = failed_logins + 1,"
            " locked_until = COALESCE($2, locked_until) WHERE reviewer_id = $1",
            reviewer_id,
            locked_until,
        )


@dataclass(frozen=True)
class ReviewerSession:
    """A signed-in reviewer."""

    reviewer_id: str
    display_name: str
    csrf_token: str
    expires_at: datetime


async def create_session(
    pool: asyncpg.Pool,
    *,
    token_sha256: bytes,
    reviewer_id: str,
    csrf_token: str,
    expires_at: datetime,
) -> None:
    """Stores a new session (and drops expired ones)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("DELETE FROM reviewer_sessions WHERE expires_at < now()")
        await conn.execute(
            "INSERT INTO reviewer_sessions (token_sha256, reviewer_id, csrf_token, expires_at)"
            " VALUES ($1, $2, $3, $4)",
            token_sha256,
            reviewer_id,
            csrf_token,
            expires_at,
        )


async def get_session(pool: asyncpg.Pool, token_sha256: bytes) -> ReviewerSession | None:
    """The live session of a token: unexpired, of an active reviewer."""
    row = await pool.fetchrow(
        """
        SELECT s.reviewer_id, r.display_name, s.csrf_token, s.expires_at
        FROM reviewer_sessions s JOIN reviewers r USING (reviewer_id)
        WHERE s.token_sha256 = $1 AND s.expires_at > now() AND r.active
        """,
        token_sha256,
    )
    return ReviewerSession(**dict(row)) if row else None


async def delete_session(pool: asyncpg.Pool, token_sha256: bytes) -> None:
    """Signs a session out."""
    await pool.execute("DELETE FROM reviewer_sessions WHERE token_sha256 = $1", token_sha256)
