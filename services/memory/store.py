"""Data access of the memory service: cases and their messages, always scoped to the case's customer."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg


@dataclass(frozen=True)
class StoredMessage:
    """One remembered message of a case."""

    job_id: str
    direction: str
    subject: str
    summary: str
    occurred_at: datetime
    topic: str = ""
    facts: Mapping[str, Sequence[str]] = field(default_factory=dict)


_COLUMNS = "job_id, direction, subject, summary, occurred_at, topic, facts"


def _message(row: Any) -> StoredMessage:
    values = dict(row)
    values["facts"] = json.loads(values["facts"]) if values.get("facts") else {}
    return StoredMessage(**values)


class CaseOwnedByAnotherCustomer(Exception):
    """The case exists under a different customer than the one asking."""


async def _case_owner(conn: asyncpg.Connection, case_id: str, customer_id: int) -> None:
    """Creates the case for this customer if new; refuses a case owned by someone else."""
    await conn.execute(
        "INSERT INTO cases (case_id, customer_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        case_id,
        customer_id,
    )
    owner = await conn.fetchval("SELECT customer_id FROM cases WHERE case_id = $1", case_id)
    if owner != customer_id:
        raise CaseOwnedByAnotherCustomer(case_id)


async def record_message(
    pool: asyncpg.Pool,
    *,
    case_id: str,
    customer_id: int,
    job_id: str,
    direction: str,
    subject: str,
    body: str,
    summary: str,
    occurred_at: datetime,
    facts: Mapping[str, Sequence[str]] | None = None,
) -> tuple[StoredMessage, bool]:
    """Stores a message once per (job, direction); returns it and whether it is new."""
    async with pool.acquire() as conn, conn.transaction():
        await _case_owner(conn, case_id, customer_id)
        row = await conn.fetchrow(
            f"""
            INSERT INTO case_messages
                (case_id, customer_id, job_id, direction, subject, body, summary, occurred_at,
                 facts)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)
            ON CONFLICT (job_id, direction) DO NOTHING
            RETURNING {_COLUMNS}
            """,
            case_id,
            customer_id,
            job_id,
            direction,
            subject,
            body,
            summary,
            occurred_at,
            json.dumps(dict(facts or {})),
        )
        created = row is not None
        if row is None:
            row = await conn.fetchrow(
                f"""
                SELECT {_COLUMNS} FROM case_messages
                WHERE job_id = $1 AND direction = $2 AND customer_id = $3
                """,
                job_id,
                direction,
                customer_id,
            )
            if row is None:  # the job id was used for another customer's case
                raise CaseOwnedByAnotherCustomer(case_id)
    return _message(row), created


async def case_history(
    pool: asyncpg.Pool, *, case_id: str, customer_id: int, exclude_job_id: str = ""
) -> list[StoredMessage]:
    """The messages of a case, oldest first; a case owned by another customer is refused."""
    async with pool.acquire() as conn:
        owner = await conn.fetchval("SELECT customer_id FROM cases WHERE case_id = $1", case_id)
        if owner is None:
            return []
        if owner != customer_id:
            raise CaseOwnedByAnotherCustomer(case_id)
        rows = await conn.fetch(
            f"""
            SELECT {_COLUMNS} FROM case_messages
            WHERE case_id = $1 AND customer_id = $2 AND job_id <> $3
            ORDER BY occurred_at, id
            """,
            case_id,
            customer_id,
            exclude_job_id,
        )
    return [_message(r) for r in rows]


async def record_draft(
    pool: asyncpg.Pool,
    *,
    case_id: str,
    customer_id: int,
    job_id: str,
    topic: str,
    facts: Mapping[str, Sequence[str]],
) -> StoredMessage | None:
    """Sets the topic of a job's inbound message and adds the facts found for it (an
    update that gives the same result when repeated); None when there is no such message
    for this customer's case."""
    async with pool.acquire() as conn, conn.transaction():
        owner = await conn.fetchval("SELECT customer_id FROM cases WHERE case_id = $1", case_id)
        if owner is not None and owner != customer_id:
            raise CaseOwnedByAnotherCustomer(case_id)
        row = await conn.fetchrow(
            f"""
            SELECT {_COLUMNS} FROM case_messages
            WHERE job_id = $1 AND direction = 'inbound' AND case_id = $2 AND customer_id = $3
            FOR UPDATE
            """,
            job_id,
            case_id,
            customer_id,
        )
        if row is None:
            return None
        current = _message(row)
        combined = {
            kind: list(dict.fromkeys([*current.facts.get(kind, ()), *facts.get(kind, ())]))
            for kind in {*current.facts, *facts}
        }
        row = await conn.fetchrow(
            f"""
            UPDATE case_messages SET topic = $4, facts = $5::jsonb
            WHERE job_id = $1 AND direction = 'inbound' AND case_id = $2 AND customer_id = $3
            RETURNING {_COLUMNS}
            """,
            job_id,
            case_id,
            customer_id,
            topic,
            json.dumps(combined),
        )
    return _message(row)
