"""The review queue: drafts waiting for a reviewer, read from the jobs and decisions, a
page at a time, filtered by topic and urgency level."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from crm.v1 import types_pb2
from services.common.taxonomy import LEVEL_NONE, topic_to_proto
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


# A draft's place in the queue: urgent first, then oldest first; the job id breaks ties,
# so every draft has one place and a page never shows a draft of another page.
QueueOrder = tuple[bool, datetime, str]


def queue_order(urgent: bool, created_at: datetime, job_id: str) -> QueueOrder:
    return (not urgent, created_at, job_id)


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue as a filter sees it."""

    drafts: list[PendingDraft]
    total: int  # drafts the filter matches, on every page
    start: int  # how many of them come before this page
    urgent_before: int  # how many of those are urgent (a reviewer on a later page is told)
    previous: str  # the job id the previous page ends before; "" on the first page
    next: str  # the job id the next page starts after; "" on the last page


def page_span(
    orders: Sequence[QueueOrder],
    *,
    size: int,
    after: QueueOrder | None = None,
    before: QueueOrder | None = None,
) -> tuple[int, int]:
    """Which slice of the queue (in queue order) a page shows. A page starting after a
    draft begins with the first draft placed after it, whether or not that draft is still
    waiting (the last page when none is left after it); a page ending before one holds
    the `size` drafts placed before it (the first page, filled, when fewer are)."""
    if after is not None:
        start = bisect.bisect_right(orders, after)
        if start >= len(orders):
            start = max(0, len(orders) - size)
    elif before is not None:
        start = max(0, bisect.bisect_left(orders, before) - size)
    else:
        start = 0
    return start, min(start + size, len(orders))


# The states are written into the SQL (constants of the state module, not input) so that
# every plan, generic ones too, can use the partial index on pending drafts. Pending: a
# draft no decision holds, and the newest job of its case (when the customer wrote again,
# the newer job is the one to decide).
_PENDING = f"""
    j.state = '{JobState.DRAFT_READY.value}'
    AND NOT EXISTS (SELECT 1 FROM decisions d
                    WHERE d.job_id = j.job_id AND d.state <> '{DecisionState.REFUSED.value}')
    AND NOT EXISTS (SELECT 1 FROM jobs n
                    WHERE n.case_id = j.case_id AND n.job_id <> j.job_id
                      AND n.stream_sequence > j.stream_sequence)
"""


async def queue_page(pool: asyncpg.Pool, query: review.QueueQuery) -> QueuePage:
    """The page of pending drafts `query` asks for. Raises review.QueryError when the page
    is anchored on a job that does not exist.

    The filter's drafts are listed by their place only (no draft bodies), so the count is
    exact and pages are cut in one order; the drafts of the page are then read in full.
    The urgency level within urgent drafts lives in the stored draft, so a priority or
    hands-off filter reads the urgent drafts' outcomes (urgent drafts are the few)."""
    topic = types_pb2.Topic.Name(topic_to_proto(query.topic)) if query.topic else ""
    urgent = None if not query.level else query.level != LEVEL_NONE
    read_level = bool(query.level) and query.level != LEVEL_NONE
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        # One snapshot: the count, the page and its drafts agree.
        anchor = await _anchor(conn, query.after or query.before)
        rows = await conn.fetch(
            f"""
            SELECT j.job_id, j.urgent, j.created_at,
                   CASE WHEN $3 AND j.urgent THEN j.outcome END AS outcome
            FROM jobs j
            WHERE {_PENDING}
              AND ($1 = '' OR j.topic = $1)
              AND ($2::boolean IS NULL OR j.urgent = $2)
            """,
            topic,
            urgent,
            read_level,
        )
        if read_level:
            rows = [r for r in rows if review.queue_marks(r["outcome"]).level == query.level]
        places = sorted(queue_order(r["urgent"], r["created_at"], r["job_id"]) for r in rows)
        start, stop = page_span(
            places,
            size=query.size,
            after=anchor if query.after else None,
            before=anchor if query.before else None,
        )
        shown = [job_id for _, _, job_id in places[start:stop]]
        drafts = await _drafts(conn, shown)
    return QueuePage(
        drafts=drafts,
        total=len(places),
        start=start,
        urgent_before=sum(1 for not_urgent, _, _ in places[:start] if not not_urgent),
        previous=shown[0] if start > 0 else "",
        next=shown[-1] if stop < len(places) else "",
    )


async def _anchor(conn: asyncpg.Connection, job_id: str) -> QueueOrder | None:
    """The place of the job a page is anchored on (decided or not: its place stays)."""
    if not job_id:
        return None
    row = await conn.fetchrow("SELECT urgent, created_at FROM jobs WHERE job_id = $1", job_id)
    if row is None:
        raise review.QueryError(
            "the page starts at a draft that does not exist: start from the first page"
        )
    return queue_order(row["urgent"], row["created_at"], job_id)


async def _drafts(conn: asyncpg.Connection, job_ids: list[str]) -> list[PendingDraft]:
    rows = await conn.fetch(
        """
        SELECT job_id, case_id, customer_id, topic, urgent, sender_address, subject,
               created_at, outcome
        FROM jobs WHERE job_id = ANY($1::text[])
        """,
        job_ids,
    )
    by_id = {row["job_id"]: dict(row) for row in rows}
    drafts = []
    for job_id in job_ids:
        fields = by_id[job_id]
        fields["marks"] = review.queue_marks(fields.pop("outcome"))
        drafts.append(PendingDraft(**fields))
    return drafts
