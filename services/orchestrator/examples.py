"""Approved replies as few-shot examples for the LLM tier of reply writing, read from the
decisions carried out and the e-mails they answered.

The replies reviewers approved (as drafted or as they edited them) show the model the
shop's tone for a topic. Only their style can carry over: the phrased reply still passes
the grounding check against this e-mail's facts, so an amount or number copied from an
example is rejected like any invented one.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import asyncpg

from services.orchestrator.states import DecisionState

log = logging.getLogger(__name__)

# Long examples cost tokens and teach nothing more.
MAX_EXAMPLE_CHARS = 1_200


@dataclass(frozen=True)
class Example:
    """An e-mail and the reply a reviewer approved for it."""

    email: str
    reply: str


async def approved_examples(pool: asyncpg.Pool, *, topic: str, limit: int) -> list[tuple[str, str]]:
    """Recent e-mails of a topic (its crm.v1.Topic name, as jobs store it) with the reply a
    reviewer approved for them (the edited one when edited): (e-mail body, approved reply),
    newest first."""
    rows = await pool.fetch(
        """
        SELECT j.body, d.reply FROM decisions d JOIN jobs j USING (job_id)
        WHERE d.state = $3 AND d.reply <> '' AND j.topic = $1 AND j.body <> ''
        ORDER BY d.updated_at DESC LIMIT $2
        """,
        topic,
        limit,
        DecisionState.DONE,
    )
    return [(r["body"], r["reply"]) for r in rows]


@dataclass
class ApprovedExamples:
    """The latest approved replies of a topic, read at most once a minute per topic."""

    pool: asyncpg.Pool
    count: int
    ttl_seconds: float = 60.0
    _cache: dict[str, tuple[float, list[Example]]] = field(default_factory=dict)

    async def for_topic(self, topic: str) -> list[Example]:
        """Up to `count` examples of the topic (none when the store cannot be read: the
        examples are a help, never a reason for a draft to fail)."""
        if self.count <= 0 or not topic:
            return []
        now = time.monotonic()
        cached = self._cache.get(topic)
        if cached and now - cached[0] < self.ttl_seconds:
            return cached[1]
        try:
            rows = await approved_examples(self.pool, topic=topic, limit=self.count)
        except (asyncpg.PostgresError, OSError) as exc:
            log.warning("approved examples unavailable", extra={"error": str(exc)})
            return cached[1] if cached else []
        examples = [Example(e[:MAX_EXAMPLE_CHARS], r[:MAX_EXAMPLE_CHARS]) for e, r in rows]
        self._cache[topic] = (now, examples)
        return examples
