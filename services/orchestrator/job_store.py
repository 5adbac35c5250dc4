"""Jobs as stored: one row per e-mail event, with the e-mail kept for the reviewers, the
job's state and its one outcome (the outbox: stored before it is published, marked once
published)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.orchestrator.states import JobState

_COLUMNS = """job_id, case_id, customer_id, state, topic, urgent, stream_sequence,
    delivery_attempts, outcome_subject, outcome, outcome_published_at, created_at, updated_at,
    sender_address, subject, body, received_at, replays"""
# Longest body kept for the review console (longer e-mails go to manual handling anyway).
_MAX_STORED_BODY_CHARS = 20_000


@dataclass(frozen=True)
class JobRecord:
    """A job as stored."""

    job_id: str
    case_id: str
    customer_id: int
    state: JobState
    # The classification's topic as its crm.v1.Topic name ("TOPIC_DELIVERY_DELAY"); empty
    # until a draft is stored.
    topic: str
    urgent: bool
    stream_sequence: int
    delivery_attempts: int
    outcome_subject: str | None
    outcome: bytes | None
    outcome_published_at: datetime | None
    created_at: datetime
    updated_at: datetime
    sender_address: str = ""
    subject: str = ""
    body: str = ""
    received_at: datetime | None = None
    replays: int = 0

    @property
    def outcome_msg_id(self) -> str:
        """The Nats-Msg-Id of the job's outcome (a re-driven job's new outcome gets its own)."""
        return f"{self.job_id}:outcome" + (f":replay-{self.replays}" if self.replays else "")

    @property
    def finished(self) -> bool:
        """True once an outcome is stored (published or not)."""
        return self.outcome is not None


def _record(row: asyncpg.Record) -> JobRecord:
    fields = dict(row)
    fields["state"] = JobState(fields["state"])
    return JobRecord(**fields)


async def begin_job(
    pool: asyncpg.Pool,
    *,
    job_id: str,
    case_id: str,
    customer_id: int,
    stream_sequence: int,
    delivery_attempts: int,
    sender_address: str = "",
    subject: str = "",
    body: str = "",
    received_at: datetime | None = None,
) -> JobRecord:
    """Registers a delivery of the job (first or repeated) and returns its current record;
    the e-mail is kept for the reviewers."""
    row = await pool.fetchrow(
        f"""
        INSERT INTO jobs (job_id, case_id, customer_id, stream_sequence, delivery_attempts,
                          sender_address, subject, body, received_at, state)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
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
        sender_address,
        subject,
        body[:_MAX_STORED_BODY_CHARS],
        received_at,
        JobState.RUNNING,
    )
    assert row is not None
    return _record(row)


async def finish_job(
    pool: asyncpg.Pool,
    *,
    job_id: str,
    state: JobState,
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


async def reopen_failed_job(pool: asyncpg.Pool, job_id: str) -> JobRecord | None:
    """Clears a failed job's outcome so a re-driven event runs it again; None (nothing
    changed) unless the job had failed."""
    row = await pool.fetchrow(
        f"""
        UPDATE jobs SET state = $2, outcome = NULL, outcome_subject = NULL,
                        outcome_published_at = NULL, replays = replays + 1, updated_at = now()
        WHERE job_id = $1 AND state = $3
        RETURNING {_COLUMNS}
        """,
        job_id,
        JobState.RUNNING,
        JobState.FAILED,
    )
    return _record(row) if row else None


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


async def jobs_of_case(pool: asyncpg.Pool, case_id: str, *, limit: int = 50) -> list[JobRecord]:
    """The case's jobs, oldest first."""
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM jobs WHERE case_id = $1 ORDER BY stream_sequence, created_at"
        " LIMIT $2",
        case_id,
        limit,
    )
    return [_record(r) for r in rows]


async def earlier_jobs_of_customer(
    pool: asyncpg.Pool, job: JobRecord, window_seconds: float
) -> int:
    """The customer's jobs that arrived within the window before this one (so the answer
    for a job never changes when its event is redelivered)."""
    return int(
        await pool.fetchval(
            """
            SELECT count(*) FROM jobs
            WHERE customer_id = $1 AND job_id <> $2
              AND created_at <= $3 AND created_at > $3 - make_interval(secs => $4)
            """,
            job.customer_id,
            job.job_id,
            job.created_at,
            window_seconds,
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
