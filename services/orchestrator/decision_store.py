"""Reviewers' decisions as stored: each decision once by its id, at most one per job
carried out (refused ones hold nothing), with what it did and the reply it approved."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.orchestrator.states import DecisionState


@dataclass(frozen=True)
class DecisionRecord:
    """A decision as stored."""

    decision_id: str
    job_id: str
    state: DecisionState
    reason: str


def _record(row: asyncpg.Record) -> DecisionRecord:
    fields = dict(row)
    fields["state"] = DecisionState(fields["state"])
    return DecisionRecord(**fields)


class AlreadyDecided(Exception):
    """Another decision is already carried out (or being carried out) for the job."""


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
    state = DecisionState.REFUSED if refused_reason else DecisionState.CARRYING_OUT
    async with pool.acquire() as conn, conn.transaction():
        existing = await conn.fetchrow(
            "SELECT decision_id, job_id, state, reason FROM decisions WHERE decision_id = $1",
            decision_id,
        )
        if existing is not None:
            return _record(existing), False
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


async def decided_by_another(pool: asyncpg.Pool, job_id: str, decision_id: str) -> bool:
    """True when a different decision holds the job."""
    return bool(
        await pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM decisions WHERE job_id = $1 AND decision_id <> $2"
            " AND state <> $3)",
            job_id,
            decision_id,
            DecisionState.REFUSED,
        )
    )


async def finish_decision(
    pool: asyncpg.Pool, decision_id: str, *, results: bytes, reply: str
) -> None:
    """Marks a decision carried out, with what it did (crm.v1.ActionsExecuted) and the
    reply it approved."""
    await pool.execute(
        "UPDATE decisions SET state = $4, results = $2, reply = $3, updated_at = now()"
        " WHERE decision_id = $1",
        decision_id,
        results,
        reply,
        DecisionState.DONE,
    )


@dataclass(frozen=True)
class DecisionDetail:
    """A decision as the console shows it."""

    decision_id: str
    job_id: str
    reviewer_id: str
    state: DecisionState
    reason: str
    decision: bytes
    results: bytes | None
    reply: str
    created_at: datetime


_DETAIL_COLUMNS = (
    "decision_id, job_id, reviewer_id, state, reason, decision, results, reply, created_at"
)


def _detail(row: asyncpg.Record) -> DecisionDetail:
    fields = dict(row)
    fields["state"] = DecisionState(fields["state"])
    return DecisionDetail(**fields)


async def get_decision(pool: asyncpg.Pool, decision_id: str) -> DecisionDetail | None:
    """One decision by id."""
    row = await pool.fetchrow(
        f"SELECT {_DETAIL_COLUMNS} FROM decisions WHERE decision_id = $1", decision_id
    )
    return _detail(row) if row else None


async def decisions_of_job(pool: asyncpg.Pool, job_id: str) -> list[DecisionDetail]:
    """Every decision taken on a job (refused ones included), newest first."""
    rows = await pool.fetch(
        f"SELECT {_DETAIL_COLUMNS} FROM decisions WHERE job_id = $1 ORDER BY created_at DESC",
        job_id,
    )
    return [_detail(r) for r in rows]
