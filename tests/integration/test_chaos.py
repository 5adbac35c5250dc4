"""Chaos: the orchestrator, each service, nats-server and PostgreSQL are killed (SIGKILL)
at random moments while e-mails and reviewers' decisions flow, and restarted. Afterwards
every e-mail has exactly one outcome, no draft is duplicated, and every approved action
was carried out exactly once. Then PostgreSQL stays down past the orchestrator's delivery
budget: those e-mails reach the dead-letter stream with a job-failed event, and are
re-driven to their drafts once it is back.

Bounded: about two minutes; its own mesh (durable servers, so a crash is a crash), seeded
randomness (CHAOS_SEED to replay a run).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import nats
import nats.errors
import pytest
import pytest_asyncio
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy
from rich.console import Console

from crm.v1 import events_pb2
from crmctl import dlq, outcomes
from crmctl.events import EmailInput, publish_email
from crmctl.stack import SERVICES, Stack, StackConfig, wait_for_port
from tests.conftest import REFERENCE_TODAY

pytestmark = pytest.mark.asyncio(loop_scope="session")

SEED = int(os.environ.get("CHAOS_SEED", "20261124"))
EMAILS = 120
ARRIVALS_PER_SECOND = 8.0
KILLS = 9
# E-mails that propose actions (late deliveries, a double charge) and ones that do not.
TEMPLATES = [
    (8, "Late shoes", "My shoes (tracking FDX741852963) finally arrived but late."),
    (4, "Where is it", "Where is my parcel FDX486159753? It is late."),
    (3, "Charged twice", "My bank shows two payments of $117.99 for order 1003."),
    (2, "Stock", "Do you have the Adidas Ultraboost in size 10?"),
    (10, "Late again", "Second late parcel this month: FDX842159367 has not moved."),
]
VICTIMS = [
    "orchestrator",
    *[s.name for s in SERVICES if s.name != "orchestrator"],
    "nats",
    "postgres",
]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def chaos_stack() -> AsyncIterator[Stack]:
    """A mesh of its own, on durable servers, with fast redelivery."""
    state = Path(tempfile.mkdtemp(prefix="crm-chaos-"))
    config = StackConfig.on_free_ports(
        state,
        durable=True,
        today=REFERENCE_TODAY,
        extra_env={
            "orchestrator": {
                "ACK_WAIT_SECONDS": "3",
                "RETRY_DELAYS_SECONDS": "[0.2, 0.5, 1.0]",
                "RETRY_HORIZON_SECONDS": "120",
                "CALL_TIMEOUT_SECONDS": "2",
                "MAX_DELIVER": "25",
                "CONSOLE_PORT": "-1",
                "RATE_LIMIT_PER_CUSTOMER": "0",
            }
        },
    )
    stack = Stack(config)
    try:
        await stack.start()
        yield stack
    finally:
        await stack.stop()
        if not os.environ.get("CRM_KEEP_TEST_STATE"):
            shutil.rmtree(state, ignore_errors=True)


async def _retrying(what: str, attempt: object, deadline_s: float = 60.0) -> object:
    """Calls `attempt()` until it succeeds (the CRM retries its publishes the same way)."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            return await attempt()  # type: ignore[operator]
        except (TimeoutError, nats.errors.Error, OSError) as exc:
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: still failing after {deadline_s}s: {exc}") from exc
            await asyncio.sleep(0.3)


async def _kill_and_restart(stack: Stack, victim: str, down_seconds: float) -> None:
    if victim == "nats":
        assert stack.nats is not None
        await asyncio.to_thread(stack.nats.kill)
        await asyncio.sleep(down_seconds)
        stack.nats.start()
        await asyncio.to_thread(wait_for_port, stack.config.nats_port, 20, stack.nats.process)
    elif victim == "postgres":
        assert stack.postgres is not None
        await asyncio.to_thread(stack.postgres.kill)
        await asyncio.sleep(down_seconds)
        stack.postgres.start()
        await asyncio.to_thread(
            wait_for_port, stack.config.postgres_port, 60, stack.postgres.process
        )
    else:
        await asyncio.to_thread(stack.services[victim].kill)
        await asyncio.sleep(down_seconds)
        stack.start_service(victim)
        await stack.wait_serving(victim, timeout=90)


async def _jobs_stream(js: JetStreamContext) -> dict[str, list[str]]:
    """Every outcome ever published, by job id (read back from the stream)."""
    found: dict[str, list[str]] = defaultdict(list)
    info = await js.stream_info("CRM_JOBS")
    sub = await js.subscribe(
        "crm.v1.job.>", ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
    )
    try:
        for _ in range(info.state.messages):
            msg = await sub.next_msg(timeout=5)
            event = outcomes.decode(msg.subject, msg.data)
            found[event.job_id].append(msg.subject)
    finally:
        await sub.unsubscribe()
    return found


async def test_nothing_is_lost_or_done_twice_when_every_part_is_killed_and_restarted(
    chaos_stack: Stack,
) -> None:
    stack = chaos_stack
    rng = random.Random(SEED)
    (marks,) = await _fetch(
        stack,
        "delivery",
        "SELECT (SELECT coalesce(max(refund_id), 0) FROM delivery.refunds) AS refunds,"
        " (SELECT coalesce(max(coupon_id), 0) FROM delivery.coupons) AS coupons",
    )
    refund_mark, coupon_mark = int(marks["refunds"]), int(marks["coupons"])
    nc: NATS = await nats.connect(
        stack.nats_url, max_reconnect_attempts=-1, reconnect_time_wait=0.2
    )
    js = nc.jetstream()
    drafts: dict[str, events_pb2.DraftReady] = {}
    decisions: dict[str, events_pb2.DraftDecided] = {}

    async def on_draft(msg: object) -> None:
        draft = events_pb2.DraftReady.FromString(msg.data)  # type: ignore[attr-defined]
        drafts.setdefault(draft.job_id, draft)

    await nc.subscribe("crm.v1.job.draft_ready", cb=on_draft)
    emails = [
        EmailInput(
            job_id=f"chaos-{n:03d}-{uuid.uuid4().hex[:6]}",
            case_id=f"chaos-case-{n:03d}",
            customer_id=customer,
            sender_address=f"customer{customer}@example.com",
            subject=subject,
            body=body,
        )
        for n, (customer, subject, body) in enumerate(rng.choice(TEMPLATES) for _ in range(EMAILS))
    ]

    async def publish_all() -> None:
        for email in emails:
            await _retrying(f"publish {email.job_id}", lambda e=email: publish_email(js, e))
            await asyncio.sleep(1 / ARRIVALS_PER_SECOND)

    async def decide_all(until: asyncio.Event) -> None:
        """Approves every draft with every action, each decision sent twice."""
        while not until.is_set() or len(decisions) < len(drafts):
            for job_id, draft in list(drafts.items()):
                if job_id in decisions:
                    continue
                decision = events_pb2.DraftDecided(
                    decision_id=f"chaos-decision-{job_id}",
                    job_id=job_id,
                    case_id=draft.case_id,
                    customer_id=draft.customer_id,
                    reviewer_id="chaos-reviewer",
                    verdict=events_pb2.DECISION_VERDICT_APPROVE,
                    actions=[
                        events_pb2.ActionDecision(idempotency_key=a.idempotency_key, accepted=True)
                        for a in draft.actions
                    ],
                )
                for _ in range(2):  # the CRM resends; no message id, so both are stored
                    await _retrying(
                        f"decide {job_id}",
                        lambda d=decision: js.publish(
                            "crm.v1.draft.decided", d.SerializeToString(), timeout=2
                        ),
                    )
                decisions[job_id] = decision
            await asyncio.sleep(0.2)

    async def chaos() -> list[str]:
        killed = []
        # Every part at least once, in a random order, then random extra victims.
        order = rng.sample(VICTIMS, len(VICTIMS)) + rng.choices(VICTIMS, k=KILLS - len(VICTIMS))
        for victim in order:
            await asyncio.sleep(rng.uniform(0.5, 2.5))
            await _kill_and_restart(stack, victim, rng.uniform(0.2, 1.5))
            killed.append(victim)
        return killed

    published = asyncio.Event()
    deciding = asyncio.create_task(decide_all(published))
    killed, _ = await asyncio.gather(chaos(), publish_all())
    published.set()
    for _ in range(1200):  # until every e-mail has its outcome (at most two minutes)
        if len(drafts) >= len(emails) and await _all_finished(stack, emails):
            break
        await asyncio.sleep(0.1)
    await asyncio.wait_for(deciding, 60)
    await _wait_decisions_done(stack, len(decisions))

    print(f"chaos seed {SEED}: killed {killed}; {len(decisions)} decisions")
    # Exactly one outcome per e-mail, in the stream the CRM reads.
    published_outcomes = await _retrying("read outcomes", lambda: _jobs_stream(js))
    assert isinstance(published_outcomes, dict)
    counts = Counter(len(published_outcomes.get(e.job_id, [])) for e in emails)
    assert counts == Counter({1: EMAILS}), f"outcomes per e-mail: {counts}; killed {killed}"
    # Every accepted action executed exactly once; no refund created twice.
    accepted = {a.idempotency_key for d in decisions.values() for a in d.actions if a.accepted}
    executions = await _fetch(
        stack,
        "delivery",
        "SELECT idempotency_key, refund_id, coupon_code FROM delivery.action_executions"
        " WHERE decision_id LIKE 'chaos-decision-%'",
    )
    keys = {r["idempotency_key"] for r in executions}
    assert keys == accepted, f"missing {accepted - keys}; extra {keys - accepted}"
    # The money that moved is exactly what the executions record: no refund or coupon
    # written twice, or written without its execution record, by a crash in between.
    refunds = await _fetch(
        stack, "delivery", f"SELECT refund_id FROM delivery.refunds WHERE refund_id > {refund_mark}"
    )
    assert sorted(r["refund_id"] for r in refunds) == sorted(
        r["refund_id"] for r in executions if r["refund_id"] is not None
    )
    coupons = await _fetch(
        stack, "delivery", f"SELECT code FROM delivery.coupons WHERE coupon_id > {coupon_mark}"
    )
    assert sorted(r["code"] for r in coupons) == sorted(
        r["coupon_code"] for r in executions if r["coupon_code"]
    )
    await nc.close()


async def _fetch(stack: Stack, schema: str, sql: str) -> list[asyncpg.Record]:
    async def attempt() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(stack.owner_dsn(schema), timeout=3)
        try:
            rows: list[asyncpg.Record] = await conn.fetch(sql)
            return rows
        finally:
            await conn.close()

    for _ in range(100):
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            return await attempt()
        await asyncio.sleep(0.3)
    return await attempt()


async def _all_finished(stack: Stack, emails: list[EmailInput]) -> bool:
    rows = await _fetch(
        stack,
        "orchestrator",
        "SELECT count(*) AS n FROM orchestrator.jobs WHERE job_id LIKE 'chaos-%'"
        " AND outcome_published_at IS NOT NULL",
    )
    return int(rows[0]["n"]) >= len(emails)


async def _wait_decisions_done(stack: Stack, expected: int) -> None:
    for _ in range(600):
        rows = await _fetch(
            stack,
            "orchestrator",
            "SELECT count(*) FILTER (WHERE state = 'done') AS done, count(*) AS n"
            " FROM orchestrator.decisions WHERE decision_id LIKE 'chaos-decision-%'",
        )
        if int(rows[0]["done"]) >= expected:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"decisions not all carried out: {dict(rows[0])} of {expected}")


async def test_events_outliving_their_deliveries_while_the_database_is_down_are_dead_lettered_and_redriven(
    chaos_stack: Stack,
) -> None:
    stack = chaos_stack
    assert stack.postgres is not None
    nc = await nats.connect(stack.nats_url)
    js = nc.jetstream()
    got: dict[str, list[str]] = defaultdict(list)

    async def on_outcome(msg: object) -> None:
        event = outcomes.decode(msg.subject, msg.data)  # type: ignore[attr-defined]
        got[event.job_id].append(msg.subject)  # type: ignore[attr-defined]

    await nc.subscribe("crm.v1.job.>", cb=on_outcome)
    emails = [
        EmailInput(
            job_id=f"dead-{n}-{uuid.uuid4().hex[:6]}",
            customer_id=2,
            subject="Stock",
            body="Do you have the Adidas Ultraboost in size 10?",
        )
        for n in range(3)
    ]
    await asyncio.to_thread(stack.postgres.kill)
    try:
        for email in emails:
            await publish_email(js, email)
        # 25 deliveries, about a second apart at most: each one's last delivery gives up.
        for _ in range(600):
            if all(got.get(e.job_id) for e in emails):
                break
            await asyncio.sleep(0.1)
    finally:
        stack.postgres.start()
        await asyncio.to_thread(
            wait_for_port, stack.config.postgres_port, 60, stack.postgres.process
        )
    assert all(got[e.job_id] == ["crm.v1.job.failed"] for e in emails), dict(got)
    quiet = Console(quiet=True)
    letters = await dlq.dead_letters(js, None)
    ours = [x for x in letters if x.job_id in {e.job_id for e in emails}]
    assert len(ours) == 3 and all("deliveries" in x.reason for x in ours)
    await dlq.replay(stack.nats_url, [x.sequence for x in ours], quiet)
    for _ in range(300):
        if all(len(got[e.job_id]) == 2 for e in emails):
            break
        await asyncio.sleep(0.1)
    assert all(got[e.job_id] == ["crm.v1.job.failed", "crm.v1.job.draft_ready"] for e in emails), (
        dict(got)
    )
    await nc.close()
