"""Demo data of the orchestrator: a reviewer account for the review console, so that
`make run` can be tried at once (its password is printed; never use it in production)."""

from __future__ import annotations

from datetime import date

import asyncpg

from services.orchestrator import reviewers, store

DEMO_REVIEWER = "demo"
DEMO_PASSWORD = "demo-reviewer"
SCHEMA = "orchestrator"


async def load_demo(owner_dsn: str, today: date) -> None:
    """Creates (or resets) the demo reviewer."""
    del today  # the account does not depend on the date
    pool = await asyncpg.create_pool(
        owner_dsn, min_size=1, max_size=1, server_settings={"search_path": SCHEMA}
    )
    try:
        await store.save_reviewer(
            pool,
            reviewer_id=DEMO_REVIEWER,
            display_name="Demo Reviewer",
            password_hash=reviewers.hash_password(DEMO_PASSWORD),
        )
    finally:
        await pool.close()
