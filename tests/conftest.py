"""Shared fixtures: the integration tests start the real mesh once per session."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import nats
import pytest
import pytest_asyncio
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from crmctl import outcomes
from crmctl.stack import SERVICES, Stack, StackConfig, free_port
from services.common.tracing import configure_tracing

# The reference data was written as if today were this day; tests pin it.
REFERENCE_TODAY = date(2026, 1, 29)
# Short enough for tests to wait it out; production default is 5 minutes.
TEST_RETRY_HORIZON_SECONDS = 6.0
# E-mails per customer per hour the test mesh drafts for: above what the other tests send
# for one customer, low enough for a test to exceed it quickly.
TEST_RATE_LIMIT = 150


@dataclass
class OutcomeLog:
    """Every outcome event published during the session, by job id."""

    by_job: dict[str, list[tuple[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def add(self, subject: str, payload: bytes) -> None:
        event = outcomes.decode(subject, payload)
        async with self.arrived:
            self.by_job[event.job_id].append((subject, event))
            self.arrived.notify_all()

    async def wait_for(self, job_id: str, timeout: float = 30.0) -> tuple[str, Any]:
        """The first outcome of a job, waiting for it to be published."""
        async with self.arrived:
            await asyncio.wait_for(
                self.arrived.wait_for(lambda: bool(self.by_job.get(job_id))), timeout
            )
            return self.by_job[job_id][0]

    def count(self, job_id: str) -> int:
        return len(self.by_job.get(job_id, []))


@dataclass
class Mesh:
    """The running mesh as the tests see it."""

    stack: Stack
    nc: NATS
    js: JetStreamContext
    outcomes: OutcomeLog
    # Each service's Prometheus /metrics port.
    metrics_ports: dict[str, int]
    # JSON lines of every span of every process (the services and this one).
    traces_file: Path


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def mesh() -> AsyncIterator[Mesh]:
    """nats-server, PostgreSQL and the five services on free loopback ports."""
    state = Path(tempfile.mkdtemp(prefix="crm-test-"))
    metrics_ports = {s.name: free_port() for s in SERVICES}
    traces_file = state / "traces.jsonl"
    extra_env = {
        name: {"METRICS_PORT": str(port), "TRACES_FILE": str(traces_file)}
        for name, port in metrics_ports.items()
    }
    # This process publishes e-mails like the CRM does: its spans start the traces.
    os.environ["TRACES_FILE"] = str(traces_file)
    configure_tracing("tests")
    extra_env["orchestrator"].update(
        {
            "RETRY_HORIZON_SECONDS": str(TEST_RETRY_HORIZON_SECONDS),
            "RETRY_DELAYS_SECONDS": "[0.5, 1.0]",
            "CALL_TIMEOUT_SECONDS": "2",
            "RATE_LIMIT_PER_CUSTOMER": str(TEST_RATE_LIMIT),
        }
    )
    config = StackConfig.on_free_ports(
        state, durable=False, today=REFERENCE_TODAY, extra_env=extra_env
    )
    stack = Stack(config)
    try:
        await stack.start()
    except BaseException:
        await stack.stop()
        raise
    nc = await nats.connect(stack.nats_url)
    js = nc.jetstream()
    log = OutcomeLog()

    async def on_msg(msg: Any) -> None:
        await log.add(msg.subject, msg.data)

    await js.subscribe("crm.v1.job.>", cb=on_msg, ordered_consumer=True)
    yield Mesh(stack, nc, js, log, metrics_ports, traces_file)
    await nc.close()
    await stack.stop()
    if not os.environ.get("CRM_KEEP_TEST_STATE"):  # keep logs for debugging when asked
        shutil.rmtree(state, ignore_errors=True)


@pytest_asyncio.fixture
async def ledger_restored(mesh: Mesh) -> AsyncIterator[None]:
    """Puts the delivery ledger back as it was after a test that carries out actions
    (refunds and coupons it created, every execution record), so later tests see the
    demo data."""
    owner = await asyncpg.connect(mesh.stack.owner_dsn("delivery"))
    refunds = await owner.fetchval("SELECT coalesce(max(refund_id), 0) FROM delivery.refunds")
    coupons = await owner.fetchval("SELECT coalesce(max(coupon_id), 0) FROM delivery.coupons")
    try:
        yield
    finally:
        await owner.execute("DELETE FROM delivery.action_executions")
        await owner.execute("DELETE FROM delivery.refunds WHERE refund_id > $1", refunds)
        await owner.execute("DELETE FROM delivery.coupons WHERE coupon_id > $1", coupons)
        await owner.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests under tests/integration carry the integration marker; tests under
    tests/browser carry both the integration and the browser markers."""
    for item in items:
        if "integration" in item.path.parts or "browser" in item.path.parts:
            item.add_marker(pytest.mark.integration)
        if "browser" in item.path.parts:
            item.add_marker(pytest.mark.browser)
