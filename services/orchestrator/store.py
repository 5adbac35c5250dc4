"""Data access of the orchestrator: jobs, their state and their stored outcome (outbox)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

_COLUMNS = """job_id, case_id, customer_id, state, topic, urgent, stream_sequence,
    delivery_attempts, outcome_subject, outcome, outcome_published_at, created_at, updated_at"""


@dataclass(frozen=True)
class JobRecord:
    """A job as stored."""

    job_id: str
    case_id: str
    customer_id: int
    state: str
    topic: str
    urgent: bool
    stream_sequence: int
    delivery_attempts: int
    outcome_subject: str | None
    outcome: bytes | None
    outcome_published_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def finished(self) -> bool:
        """True once an outcome is stored (published or not)."""
        return self.outcome is not None


def _record(row: asyncpg.Record) -> JobRecord:
    return JobRecord(**dict(row))


async def begin_job(
    pool: asyncpg.Pool,
    *,
    job_id: str,
    case_id: str,
    customer_id: int,
    stream_sequence: int,
    delivery_attempts: int,
) -> JobRecord:
    """Registers a delivery of the job (first or repeated) and returns its current record."""
    row = await pool.fetchrow(
        f"""
        INSERT INTO jobs (job_id, case_id, customer_id, stream_sequence, delivery_attempts)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (job_id) DO UPDATE
            SET delivery_attempts = GREATEST(jobs.delivery_attempts, EXCLUDED.delivery_attempts),
                updated_at = now()
        RETURNING {_COLUMNS}
        """,
        job_id,
        case_id,
        customer_id,
        stream_sequence,
        delivery_attempts,
    )
    assert row is not None
    return _record(row)


async def finish_job(
    pool: asyncpg.Pool,
    *,
    job_id: str,
    state: str,
    subject: str,
    outcome: bytes,
    topic: str = "",
    urgent: bool = False,
) -> JobRecord:
    """Stores the outcome unless one is stored already; returns the record that won."""
    row = await pool.fetchrow(
        f"""
        UPDATE jobs SET state = $2, outcome_subject = $3, outcome = $4, topic = $5, urgent = $6,
                        updated_at = now()
        WHERE job_id = $1 AND outcome IS NULL
        RETURNING {_COLUMNS}
        """,
        job_id,
        state,
        subject,
        outcome,
        topic,
        urgent,
    )
    if row is None:
        existing = await get_job(pool, job_id)
        assert existing is not None
        return existing
    return _record(row)


async def mark_published(pool: asyncpg.Pool, job_id: str) -> None:
    """Records that the outcome event has been published."""
    await pool.execute(
        "UPDATE jobs SET outcome_published_at = now() WHERE job_id = $1 AND outcome_published_at IS NULL",
        job_id,
    )


async def get_job(pool: asyncpg.Pool, job_id: str) -> JobRecord | None:
    """One job by id."""
    row = await pool.fetchrow(f"SELECT {_COLUMNS} FROM jobs WHERE job_id = $1", job_id)
    return _record(row) if row else None


async def list_jobs(pool: asyncpg.Pool, *, case_id: str, limit: int) -> list[JobRecord]:
    """Recent jobs, newest first, optionally of one case."""
    rows = await pool.fetch(
        f"""
        SELECT {_COLUMNS} FROM jobs
        WHERE ($1 = '' OR case_id = $1)
        ORDER BY created_at DESC LIMIT $2
        """,
        case_id,
        limit,
    )
    return [_record(r) for r in rows]


@dataclass(frozen=True)
class DecisionRecord:
    """A decision as stored."""

    decision_id: str
    job_id: str
    state: str
    reason: str


async def claim_decision(
    pool: asyncpg.Pool,
    *,
    decision_id: str,
    job_id: str,
    customer_id: int,
    reviewer_id: str,
    decision: bytes,
    refused_reason: str = "",
) -> tuple[DecisionRecord, bool]:
    """Stores the decision once: as refused (with the reason), or as being carried out
    (which fails with AlreadyDecided when another decision holds the job). Returns the
    stored record and whether it is new."""
    state = "refused" if refused_reason else "carrying_out"
    async with pool.acquire() as conn, conn.transaction():
        existing = await conn.fetchrow(
            "SELECT decision_id, job_id, state, reason FROM decisions WHERE decision_id = $1",
            decision_id,
        )
        if existing is not None:
            return DecisionRecord(**dict(existing)), False
        try:
            async with conn.transaction():
                await conn.execute(
                    """
                    INSERT INTO decisions (decision_id, job_id, customer_id, reviewer_id,
                                           state, reason, decision)
                    VALUES ($1, $2, $3, $4, $5, $6, $7)
                    """,
                    decision_id,
                    job_id,
                    customer_id,
                    reviewer_id,
                    state,
                    refused_reason,
                    decision,
                )
        except asyncpg.UniqueViolationError as exc:
            raise AlreadyDecided(job_id) from exc
    return DecisionRecord(decision_id, job_id, state, refused_reason), True


class AlreadyDecided(Exception):
    """Another decision is already carried out (or being carried out) for the job."""


async def decided_by_another(pool: asyncpg.Pool, job_id: str, decision_id: str) -> bool:
    """True when a different decision holds the job."""
    return bool(
        await pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM decisions WHERE job_id = $1 AND decision_id <> $2"
            " AND state <> 'refused')",
            job_id,
            decision_id,
        )
    )


async def newer_job_in_case(pool: asyncpg.Pool, job: JobRecord) -> bool:
    """True when the customer wrote again in the job's case after it."""
    return bool(
        await pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM jobs WHERE case_id = $1 AND job_id <> $2"
            " AND stream_sequence > $3)",
            job.case_id,
            job.job_id,
            job.stream_sequence,
        )
    )


async def finish_decision(pool: asyncpg.Pool, decision_id: str) -> None:
    """Marks a decision carried out."""
    await pool.execute(
        "UPDATE decisions SET state = 'done', updated_at = now() WHERE decision_id = $1",
        decision_id,
    )
