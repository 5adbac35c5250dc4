"""Data access of the orchestrator: jobs, their state and their stored outcome (outbox)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.orchestrator import review

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
    return JobRecord(**dict(row))


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
                          sender_address, subject, body, received_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
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


async def reopen_failed_job(pool: asyncpg.Pool, job_id: str) -> JobRecord | None:
    """Clears a failed job's outcome so a re-driven event runs it again; None (nothing
    changed) unless the job had failed."""
    row = await pool.fetchrow(
        f"""
        UPDATE jobs SET state = 'running', outcome = NULL, outcome_subject = NULL,
                        outcome_published_at = NULL, replays = replays + 1, updated_at = now()
        WHERE job_id = $1 AND state = 'failed'
        RETURNING {_COLUMNS}
        """,
        job_id,
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


async def finish_decision(
    pool: asyncpg.Pool, decision_id: str, *, results: bytes, reply: str
) -> None:
    """Marks a decision carried out, with what it did (crm.v1.ActionsExecuted) and the
    reply it approved."""
    await pool.execute(
        "UPDATE decisions SET state = 'done', results = $2, reply = $3, updated_at = now()"
        " WHERE decision_id = $1",
        decision_id,
        results,
        reply,
    )


# The review console's reads.


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
    rows = await pool.fetch(
        """
        SELECT j.job_id, j.case_id, j.customer_id, j.topic, j.urgent, j.sender_address,
               j.subject, j.created_at, j.outcome
        FROM jobs j
        WHERE j.state = 'draft_ready'
          AND NOT EXISTS (SELECT 1 FROM decisions d
                          WHERE d.job_id = j.job_id AND d.state <> 'refused')
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


@dataclass(frozen=True)
class DecisionDetail:
    """A decision as the console shows it."""

    decision_id: str
    job_id: str
    reviewer_id: str
    state: str
    reason: str
    decision: bytes
    results: bytes | None
    reply: str
    created_at: datetime


_DECISION_COLUMNS = (
    "decision_id, job_id, reviewer_id, state, reason, decision, results, reply, created_at"
)


async def get_decision(pool: asyncpg.Pool, decision_id: str) -> DecisionDetail | None:
    """One decision by id."""
    row = await pool.fetchrow(
        f"SELECT {_DECISION_COLUMNS} FROM decisions WHERE decision_id = $1", decision_id
    )
    return DecisionDetail(**dict(row)) if row else None


async def decisions_of_job(pool: asyncpg.Pool, job_id: str) -> list[DecisionDetail]:
    """Every decision taken on a job (refused ones included), newest first."""
    rows = await pool.fetch(
        f"SELECT {_DECISION_COLUMNS} FROM decisions WHERE job_id = $1 ORDER BY created_at DESC",
        job_id,
    )
    return [DecisionDetail(**dict(r)) for r in rows]


async def jobs_of_case(pool: asyncpg.Pool, case_id: str, *, limit: int = 50) -> list[JobRecord]:
    """The case's jobs, oldest first."""
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM jobs WHERE case_id = $1 ORDER BY stream_sequence, created_at"
        " LIMIT $2",
        case_id,
        limit,
    )
    return [_record(r) for r in rows]


async def approved_examples(pool: asyncpg.Pool, *, topic: str, limit: int) -> list[tuple[str, str]]:
    """Recent e-mails of a topic with the reply a reviewer approved for them (the edited
    one when edited): (e-mail body, approved reply), newest first."""
    rows = await pool.fetch(
        """
        SELECT j.body, d.reply FROM decisions d JOIN jobs j USING (job_id)
        WHERE d.state = 'done' AND d.reply <> '' AND j.topic = $1 AND j.body <> ''
        ORDER BY d.updated_at DESC LIMIT $2
        """,
        topic,
        limit,
    )
    return [(r["body"], r["reply"]) for r in rows]


# Reviewer accounts and sessions.


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
