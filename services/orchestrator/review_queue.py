"""The review queue: drafts waiting for a reviewer, read from the jobs and decisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.orchestrator import review
from services.orchestrator.states import DecisionState, JobState


@dataclass(frozen=True)
class PendingDraft:
    """A draft waiting for a reviewer (the newest of its case, not yet decided)."""

    job_id: str
    case_id: str
    customer_id: int
    topic: str
    urgent: bool
    sender_address: str
    subject: str
    created_at: datetime
    # What a reviewer wants to know before opening it (review.QueueMarks of the draft).
    marks: review.QueueMarks


async def pending_drafts(pool: asyncpg.Pool, *, limit: int = 200) -> list[PendingDraft]:
    """Drafts to review, urgent first, then oldest first. A draft the customer wrote after
    again is left out (its newer job is the one to decide), as is a draft a decision
    already holds."""
    # The states are written into the SQL (constants of the state module, not input) so
    # that every plan, generic ones too, can use the partial index on pending drafts.
    rows = await pool.fetch(
        f"""
        SELECT j.job_id, j.case_id, j.customer_id, j.topic, j.urgent, j.sender_address,
               j.subject, j.created_at, j.outcome
        FROM jobs j
        WHERE j.state = '{JobState.DRAFT_READY.value}'
          AND NOT EXISTS (SELECT 1 FROM decisions d
                          WHERE d.job_id = j.job_id AND d.state <> '{DecisionState.REFUSED.value}')
          AND NOT EXISTS (SELECT 1 FROM jobs n
                          WHERE n.case_id = j.case_id AND n.job_id <> j.job_id
                            AND n.stream_sequence > j.stream_sequence)
        ORDER BY j.urgent DESC, j.created_at, j.job_id
        LIMIT $1
        """,
        limit,
    )
    drafts = []
    for row in rows:
        fields = dict(row)
        fields["marks"] = review.queue_marks(fields.pop("outcome"))
        drafts.append(PendingDraft(**fields))
    return drafts
