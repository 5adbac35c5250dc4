"""Load generation against the running mesh: e-mails published on NATS the way the CRM does,
outcomes timed as they are published on `crm.v1.job.>`.

Every e-mail gets its own job and case id, `bench-<tag>-<n>`, the tag naming the phase that
published it, so phases can be told apart in the outcomes. Latency is event to outcome:
from just before the e-mail is published (the JetStream acknowledgement is included) to the
moment this process receives the outcome (the orchestrator's publish and the delivery to
this subscriber are included).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from crm.v1 import events_pb2
from crmctl import outcomes
from crmctl.events import EmailInput, publish_email

# A realistic mix of the workflows that exist: late parcels and product questions.
TEMPLATES = [
    (4, "Where is my parcel?", "Hi, my parcel FDX486159753 is late, where is it?"),
    (3, "Late delivery", "USPS456789123 arrived days late. I want the delivery fee back."),
    (2, "Stock", "Do you have the Adidas Ultraboost in size 10?"),
    (5, "in stock?", "any black running shoes in 9.5 under $150?"),
    (8, "order", "Where is my order? Tracking FDX741852963"),
]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest-rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def new_tag() -> str:
    """A phase tag: job ids of one phase share it."""
    return uuid.uuid4().hex[:6]


def email(n: int, tag: str) -> EmailInput:
    """The n-th e-mail of a phase: the templates in turn, each in a case of its own."""
    customer, subject, body = TEMPLATES[n % len(TEMPLATES)]
    return EmailInput(
        job_id=f"bench-{tag}-{n}",
        case_id=f"bench-{tag}-{n}",
        customer_id=customer,
        subject=subject,
        body=body,
    )


def _tag_of(job_id: str) -> str:
    parts = job_id.split("-")
    return parts[1] if len(parts) == 3 and parts[0] == "bench" else ""


@dataclass
class Recorder:
    """Publish and outcome times per job (perf_counter seconds), and the outcome subjects."""

    sent: dict[str, float] = field(default_factory=dict)
    done: dict[str, float] = field(default_factory=dict)
    subjects: dict[str, str] = field(default_factory=dict)
    done_by_tag: Counter[str] = field(default_factory=Counter)
    # Drafts kept whole only while `keep_drafts` is set (the model phase reads their
    # model calls); the other phases keep times only.
    keep_drafts: bool = False
    drafts: dict[str, events_pb2.DraftReady] = field(default_factory=dict)
    _waiters: dict[str, asyncio.Event] = field(default_factory=dict)
    _tag_goals: dict[str, tuple[int, asyncio.Event]] = field(default_factory=dict)

    async def on_msg(self, msg: Any) -> None:
        """The outcome subscription's callback."""
        received = time.perf_counter()
        outcome = outcomes.decode(msg.subject, msg.data)
        job_id = outcome.job_id
        if job_id not in self.sent or job_id in self.done:
            return
        self.done[job_id] = received
        self.subjects[job_id] = msg.subject
        tag = _tag_of(job_id)
        self.done_by_tag[tag] += 1
        goal = self._tag_goals.get(tag)
        if goal is not None and self.done_by_tag[tag] >= goal[0]:
            goal[1].set()
        if self.keep_drafts and isinstance(outcome, events_pb2.DraftReady):
            self.drafts[job_id] = outcome
        waiter = self._waiters.pop(job_id, None)
        if waiter is not None:
            waiter.set()

    async def publish(self, js: Any, item: EmailInput) -> None:
        """Publishes one e-mail and notes when."""
        self.sent[item.job_id] = time.perf_counter()
        await publish_email(js, item)

    async def publish_and_wait(self, js: Any, item: EmailInput, limit_s: float) -> bool:
        """Publishes one e-mail and waits for its outcome; False when none came in time."""
        waiter = asyncio.Event()
        self._waiters[item.job_id] = waiter
        await self.publish(js, item)
        try:
            await asyncio.wait_for(waiter.wait(), limit_s)
        except TimeoutError:
            self._waiters.pop(item.job_id, None)
            return False
        return True

    async def wait_for_tag(self, tag: str, count: int, limit_s: float) -> None:
        """Waits until `count` outcomes of the phase arrived, or `limit_s` passed."""
        if self.done_by_tag[tag] >= count:
            return
        reached = asyncio.Event()
        self._tag_goals[tag] = (count, reached)
        try:
            await asyncio.wait_for(reached.wait(), limit_s)
        except TimeoutError:
            pass
        finally:
            del self._tag_goals[tag]

    def latencies_ms(self, job_ids: list[str], *, drafts_only: bool = True) -> list[float]:
        """Event-to-outcome times of the jobs that finished (drafts only, by default)."""
        return [
            (self.done[j] - self.sent[j]) * 1000
            for j in job_ids
            if j in self.done and (not drafts_only or self.subjects[j] == outcomes.DRAFT_READY)
        ]

    def drafts_among(self, job_ids: list[str]) -> int:
        return sum(1 for j in job_ids if self.subjects.get(j) == outcomes.DRAFT_READY)


async def burst(js: Any, rec: Recorder, count: int, limit_s: float) -> dict[str, float]:
    """Publishes `count` e-mails as fast as possible; outcomes per second from the first
    publish to the last outcome (start-up and drain included)."""
    tag = new_tag()
    items = [email(n, tag) for n in range(count)]
    start = time.perf_counter()
    for item in items:
        await rec.publish(js, item)
    await rec.wait_for_tag(tag, count, limit_s)
    ids = [i.job_id for i in items]
    finished = [rec.done[j] for j in ids if j in rec.done]
    elapsed = (max(finished) - start) if finished else float("nan")
    return {
        "count": count,
        "completed": len(finished),
        "drafts": rec.drafts_among(ids),
        "seconds": elapsed,
        "per_s": len(finished) / elapsed if finished else 0.0,
    }


async def sustained(
    js: Any,
    rec: Recorder,
    seconds: float,
    warmup_seconds: float,
    backlog: int,
    window_seconds: float = 5.0,
) -> dict[str, Any]:
    """Saturation throughput in the steady state.

    For `seconds`, the publisher keeps `backlog` e-mails published but not yet answered
    (above the orchestrator's concurrency, so it never waits for work; below its
    max-ack-pending, so the backlog is real JetStream backlog, not a burst in memory). The
    rate is the drafts completed between `warmup_seconds` and the end, divided by that
    time; the per-window rates show how steady it was. The backlog left at the end is
    drained (bounded) before the next phase.
    """
    tag = new_tag()
    ids: list[str] = []
    start = time.perf_counter()
    end = start + seconds
    while time.perf_counter() < end:
        outstanding = len(ids) - rec.done_by_tag[tag]
        if outstanding < backlog:
            for _ in range(backlog - outstanding):
                item = email(len(ids), tag)
                ids.append(item.job_id)
                await rec.publish(js, item)
        else:
            await asyncio.sleep(0.005)
    await rec.wait_for_tag(tag, len(ids), 60)
    measured_from = start + warmup_seconds
    span = end - measured_from
    draft_times = [
        rec.done[j] for j in ids if j in rec.done and rec.subjects[j] == outcomes.DRAFT_READY
    ]
    in_window = [t for t in draft_times if measured_from <= t < end]
    windows: list[float] = []
    w = measured_from
    while w + window_seconds <= end + 1e-9:
        windows.append(sum(1 for t in in_window if w <= t < w + window_seconds) / window_seconds)
        w += window_seconds
    return {
        "per_s": len(in_window) / span if span > 0 else float("nan"),
        "published": len(ids),
        "completed": sum(1 for j in ids if j in rec.done),
        "drafts": len(draft_times),
        "measured_seconds": span,
        "window_min_per_s": min(windows) if windows else float("nan"),
        "window_max_per_s": max(windows) if windows else float("nan"),
        "latency_ms_p50": percentile(rec.latencies_ms(ids), 50),
    }


async def fixed_rate(
    js: Any, rec: Recorder, rate: float, seconds: float, drain_s: float = 30
) -> tuple[list[str], list[float]]:
    """Publishes at `rate` e-mails/s for `seconds` (open loop: the schedule does not wait
    for outcomes); returns the job ids and their event-to-draft latencies."""
    tag = new_tag()
    count = max(1, int(rate * seconds))
    items = [email(n, tag) for n in range(count)]
    start = time.perf_counter()
    for n, item in enumerate(items):
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await rec.publish(js, item)
    await rec.wait_for_tag(tag, count, drain_s)
    ids = [i.job_id for i in items]
    return ids, rec.latencies_ms(ids)


async def subscribe_outcomes(js: Any, rec: Recorder) -> Any:
    """An ordered push consumer over every outcome subject."""
    return await js.subscribe("crm.v1.job.>", cb=rec.on_msg, ordered_consumer=True)


async def pace(started: float, interval: float) -> None:
    """Sleeps until `interval` seconds after `started` (no-op when already past)."""
    delay = started + interval - time.perf_counter()
    if delay > 0:
        await asyncio.sleep(delay)
