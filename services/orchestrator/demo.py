"""Reviewer accounts written straight to the database: the demo reviewer of `make run`
(its password is printed; never use it in production) and `crm-orchestrator add-reviewer`."""

from __future__ import annotations

from datetime import date

import asyncpg

from services.orchestrator import reviewers, store

DEMO_REVIEWER = "demo"
DEMO_PASSWORD = "demo-reviewer"
SCHEMA = "orchestrator"


async def save_account(dsn: str, reviewer_id: str, display_name: str, password: str) -> None:
    """Creates a reviewer of the console, or sets a new name and password (and unlocks)."""
    pool = await asyncpg.create_pool(
        dsn, min_size=1, max_size=1, server_settings={"search_path": SCHEMA}
    )
    try:
        await store.save_reviewer(
            pool,
            reviewer_id=reviewer_id,
            display_name=display_name,
            password_hash=reviewers.hash_password(password),
        )
    finally:
        await pool.close()


async def load_demo(owner_dsn: str, today: date) -> None:
    """Creates (or resets) the demo reviewer."""
    del today  # the account does not depend on the date
    await save_account(owner_dsn, DEMO_REVIEWER, "Demo Reviewer", DEMO_PASSWORD)
