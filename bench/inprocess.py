"""The same pipeline in one process, for the mesh-overhead baseline and the component timings.

How the baseline is built (no re-implementation, no shortcut):
- the orchestrator's own job code runs unchanged: `pipeline.check_sender` and
  `pipeline.draft_for` (case memory, triage, routing, the topic's workflow, reply rendering);
- its `MeshClients` hold, instead of gRPC stubs, thin adapters that await the services'
  real servicer methods (`ClassifierHandler`, `ProductHandler`, `DeliveryHandler`,
  `MemoryHandler`) in this process, request and response objects passed as they are (no
  serialisation, no HTTP/2, no interceptor);
- those servicers are built as each service's `main.py` builds them (tier-0 model, catalog
  vocabulary, ledger, default settings) on real asyncpg pools opened here as each service's
  runtime role on the bench's own PostgreSQL, so the SQL, row-level security and writes are
  the mesh's;
- there is no NATS: the e-mail goes in as the `Email` intake would produce, the draft comes
  out as a Python object. The orchestrator's job bookkeeping (`store.begin_job`,
  `store.finish_job`, `store.mark_published`, also no NATS) is timed separately, so the
  overhead can be read with or without it.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

import asyncpg

from bench.load import percentile
from crm.v1 import delivery_pb2, events_pb2, product_pb2, types_pb2
from crmctl import outcomes
from crmctl.stack import Stack
from services.classifier.handler import ClassifierHandler, TriageTiers
from services.classifier.main import load_tier0
from services.classifier.triage import Triager
from services.common import encoder
from services.common.db import create_pool
from services.common.identifiers import read_identifiers, to_proto
from services.common.mail import read_body
from services.common.server import Deferred
from services.delivery import policy
from services.delivery.handler import DeliveryHandler
from services.delivery.store import LedgerReader, PostgresLedger
from services.memory.context import DEFAULT_TOKEN_BUDGET
from services.memory.handler import MemoryHandler
from services.orchestrator import job_store
from services.orchestrator.intake import DEFAULT_MAX_BODY_CHARS, Email, gate
from services.orchestrator.pipeline import MeshClients, check_sender, draft_for
from services.orchestrator.states import JobState
from services.product import store as product_store
from services.product.handler import ProductHandler
from services.product.meaning import Meaning
from services.product.vocabulary import Vocabulary

EVALS = Path(__file__).parent.parent / "evals"
# The orchestrator's default per-call deadline (unused in process; the pipeline passes it).
CALL_TIMEOUT_SECONDS = 5.0


class DirectStub:
    """Stands in for a gRPC stub: `stub.Method(request, timeout=...)` awaits the servicer's
    method in this process with the same request object."""

    def __init__(self, servicer: object) -> None:
        self._servicer = servicer

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self._servicer, name)

        async def invoke(request: Any, **_options: Any) -> Any:
            return await method(request, None)

        return invoke


@dataclass
class InProcess:
    """The services' servicers in this process, and the orchestrator's pipeline over them."""

    clients: MeshClients
    classifier: ClassifierHandler
    product: ProductHandler
    delivery: DeliveryHandler
    ledger: PostgresLedger
    triager: Triager
    jobs_pool: asyncpg.Pool
    today: date


@asynccontextmanager
async def in_process(stack: Stack, today: date) -> AsyncIterator[InProcess]:
    """Servicers on pools opened as each service's runtime role (pool sizes as the
    services' defaults, 1 to 10)."""
    pools: list[asyncpg.Pool] = []

    async def pool_of(schema: str) -> asyncpg.Pool:
        pool = await create_pool(
            stack.runtime_dsn(schema),
            schema=schema,
            application=f"bench-inprocess-{schema}",
            min_size=1,
            max_size=10,
            timeout_seconds=60,
        )
        pools.append(pool)
        return pool

    try:
        product_pool = await pool_of("product")
        delivery_pool = await pool_of("delivery")
        memory_pool = await pool_of("memory")
        jobs_pool = await pool_of("orchestrator")
        triager = load_tier0()
        tiers: Deferred[TriageTiers] = Deferred("tier-0 topic model")
        tiers.set(TriageTiers(triager))
        classifier = ClassifierHandler(tiers)
        product_db: Deferred[asyncpg.Pool] = Deferred("database pool")
        product_db.set(product_pool)
        vocabulary: Deferred[Vocabulary] = Deferred("catalog vocabulary")
        vocabulary.set(await product_store.load_vocabulary(product_pool))
        product = ProductHandler(
            product_db, vocabulary, lambda: today, meaning=Meaning(encoder.load(1))
        )
        ledger = PostgresLedger(delivery_pool)
        ledger_ref: Deferred[LedgerReader] = Deferred("database pool")
        ledger_ref.set(ledger)
        delivery = DeliveryHandler(ledger_ref, lambda: today)
        memory_db: Deferred[asyncpg.Pool] = Deferred("database pool")
        memory_db.set(memory_pool)
        memory = MemoryHandler(memory_db, DEFAULT_TOKEN_BUDGET, None)
        clients = MeshClients(
            classifier=cast(Any, DirectStub(classifier)),
            product=cast(Any, DirectStub(product)),
            delivery=cast(Any, DirectStub(delivery)),
            memory=cast(Any, DirectStub(memory)),
            timeout_seconds=CALL_TIMEOUT_SECONDS,
        )
        yield InProcess(clients, classifier, product, delivery, ledger, triager, jobs_pool, today)
    finally:
        for pool in pools:
            await pool.close()


@dataclass(frozen=True)
class JobTiming:
    """One e-mail through the in-process pipeline."""

    logic_ms: float  # check_sender + draft_for: the business logic and its SQL
    total_ms: float  # plus the orchestrator's job bookkeeping (begin, finish, mark published)
    begin_ms: float  # intake and store.begin_job
    conclude_ms: float  # store.finish_job and store.mark_published
    draft: events_pb2.DraftReady


async def run_job(
    mesh: InProcess, *, job_id: str, customer_id: int, subject: str, body: str
) -> JobTiming:
    """The orchestrator's handling of one e-mail, minus NATS and gRPC."""
    started = time.perf_counter()
    received = datetime.now(UTC)
    mail = read_body(body)
    email = Email(
        job_id=job_id,
        case_id=job_id,
        customer_id=customer_id,
        sender_address="",
        subject=subject.strip(),
        body=mail.text,
        received_at=received,
        hidden_content=mail.hidden,
    )
    await job_store.begin_job(
        mesh.jobs_pool,
        job_id=job_id,
        case_id=job_id,
        customer_id=customer_id,
        stream_sequence=0,
        delivery_attempts=1,
        sender_address="",
        subject=email.subject,
        body=email.body,
        received_at=received,
    )
    logic_started = time.perf_counter()
    rejection = gate(email, DEFAULT_MAX_BODY_CHARS) or await check_sender(email, mesh.clients)
    if rejection is not None:
        raise RuntimeError(f"bench e-mail {job_id} rejected: {rejection.detail}")
    draft = await draft_for(email, mesh.clients)
    logic_ms = (time.perf_counter() - logic_started) * 1000
    topic = types_pb2.Topic.Name(draft.classification.topic)
    concluding = time.perf_counter()
    record = await job_store.finish_job(
        mesh.jobs_pool,
        job_id=job_id,
        state=JobState.DRAFT_READY,
        subject=outcomes.DRAFT_READY,
        outcome=draft.SerializeToString(),
        topic=topic,
        urgent=draft.classification.urgent,
    )
    await job_store.mark_published(mesh.jobs_pool, record.job_id)
    ended = time.perf_counter()
    return JobTiming(
        logic_ms,
        (ended - started) * 1000,
        (logic_started - started) * 1000,
        (ended - concluding) * 1000,
        draft,
    )


def _summary(timings: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(timings, 50), 3),
        "p95": round(percentile(timings, 95), 3),
        "samples": len(timings),
    }


def _spread(items: list[Any], limit: int | None) -> list[Any]:
    """At most `limit` items, taken evenly across the list (every file represented)."""
    if limit is None or len(items) <= limit:
        return items
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


def classification_timings(mesh: InProcess, limit: int | None) -> dict[str, float]:
    """Tier-0 triage per e-mail (pure Python, no I/O) over the labelled e-mails in evals/."""
    from services.classifier.cases import load_cases

    cases = [c for f in sorted((EVALS / "triage").glob("*.jsonl")) for c in load_cases(f)]
    timings = []
    for case in _spread(cases, limit):
        subject, body = case.subject_and_body()
        started = time.perf_counter()
        mesh.triager.classify(subject, body, case.history)
        timings.append((time.perf_counter() - started) * 1000)
    return _summary(timings)


def product_texts(limit: int | None) -> list[str]:
    """The labelled product requests in evals/ (search and match sets)."""
    texts = [
        json.loads(line)["email"]
        for f in sorted((EVALS / "product").glob("*.jsonl"))
        for line in f.read_text().splitlines()
        if line.strip()
    ]
    return _spread(texts, limit)


async def product_timings(mesh: InProcess, limit: int | None) -> dict[str, dict[str, float]]:
    """The product servicer's SearchProducts and MatchProducts called in process (text
    understanding, the guard, the SQL on the catalog, availability)."""
    texts = product_texts(limit)
    search: list[float] = []
    match: list[float] = []
    for text in texts:
        started = time.perf_counter()
        await mesh.product.SearchProducts(
            product_pb2.SearchProductsRequest(job_id="b", customer_id=1, text=text), None
        )
        search.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        await mesh.product.MatchProducts(
            product_pb2.MatchProductsRequest(job_id="b", customer_id=1, text=text), None
        )
        match.append((time.perf_counter() - started) * 1000)
    return {"product_search": _summary(search), "product_match": _summary(match)}


def delivery_requests() -> list[tuple[int, str]]:
    """(customer, text) of the delivery-delay scenarios in evals/e2e (real customers and
    tracking numbers of the demo ledger)."""
    found: list[tuple[int, str]] = []
    for f in sorted((EVALS / "e2e").glob("*.jsonl")):
        for line in f.read_text().splitlines():
            if not line.strip():
                continue
            scenario = json.loads(line)
            if (scenario.get("expected") or {}).get("topic") == "delivery_delay":
                found.append((int(scenario["customer_id"]), str(scenario["email"])))
    return found


async def delivery_timings(
    mesh: InProcess, rounds: int, limit: int | None
) -> dict[str, dict[str, float]]:
    """The delivery servicer's AssessDeliveries in process (the request's tracking numbers
    checked, the ledger read in one snapshot, the late-delivery policy), and the policy
    rule alone (`policy.assess` on shipments already read). The e-mail is read for its
    numbers before the clock starts, as the orchestrator does before the call."""
    requests = _spread(delivery_requests(), limit)
    assess: list[float] = []
    rule: list[float] = []
    today = mesh.today
    for r in range(rounds):
        for n, (customer, text) in enumerate(requests):
            job_id = f"bench-delivery-{r}-{n}"
            identifiers = read_identifiers(text)
            started = time.perf_counter()
            await mesh.delivery.AssessDeliveries(
                delivery_pb2.AssessDeliveriesRequest(
                    job_id=job_id, customer_id=customer, identifiers=to_proto(identifiers)
                ),
                None,
            )
            assess.append((time.perf_counter() - started) * 1000)
            numbers = identifiers.tracking_numbers
            if not numbers:
                continue
            view = await mesh.ledger.customer_view(
                customer, numbers, policy.coupon_lookback_start(today)
            )
            started = time.perf_counter()
            recent = {s.delivery_id: s for s in [*view.recent, *view.referenced]}
            policy.assess(
                job_id, view.referenced, list(recent.values()), view.coupon_delivery_ids, today
            )
            rule.append((time.perf_counter() - started) * 1000)
    return {"delivery_assessment": _summary(assess), "delivery_policy_rule": _summary(rule)}
