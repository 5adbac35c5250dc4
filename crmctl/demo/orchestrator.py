"""Demo data of the orchestrator: the demo reviewer of `make run` (its password is printed;
never use it in production). Production accounts are made with
`crm-orchestrator add-reviewer` (services.orchestrator.reviewers.save_account)."""

from __future__ import annotations

from datetime import date

from services.orchestrator.reviewers import save_account

DEMO_REVIEWER = "demo"
DEMO_PASSWORD = "demo-reviewer"


async def load_demo(owner_dsn: str, today: date) -> None:
    """Creates (or resets) the demo reviewer."""
    del today  # the account does not depend on the date
    await save_account(owner_dsn, DEMO_REVIEWER, "Demo Reviewer", DEMO_PASSWORD)
