"""Approved replies as few-shot examples for the LLM tier of reply writing.

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

from services.orchestrator import store

log = logging.getLogger(__name__)

# Long examples cost tokens and teach nothing more.
MAX_EXAMPLE_CHARS = 1_200


@dataclass(frozen=True)
class Example:
    """An e-mail and the reply a reviewer approved for it."""

    email: str
    reply: str


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
            rows = await store.approved_examples(self.pool, topic=topic, limit=self.count)
        except (asyncpg.PostgresError, OSError) as exc:
            log.warning("approved examples unavailable", extra={"error": str(exc)})
            return cached[1] if cached else []
        examples = [Example(e[:MAX_EXAMPLE_CHARS], r[:MAX_EXAMPLE_CHARS]) for e, r in rows]
        self._cache[topic] = (now, examples)
        return examples
