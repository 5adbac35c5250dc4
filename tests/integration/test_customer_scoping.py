"""Customer scoping of the delivery ledger, enforced twice: the service filters every query
by the authenticated customer, and PostgreSQL row-level security returns only the rows of
the customer named for the transaction.

The probe suite asks for other customers' shipments in every way a caller can (their
tracking numbers, their order numbers and customer ids in the e-mail, whose numbers reach
the service as the orchestrator reads them, and through the case history) and proves
nothing foreign comes back; each probe is paired with the owner's
identical request, which must find the shipment. The last tests run the service's query
with its customer filter removed: row-level security alone returns nothing foreign.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import asyncpg
import grpc
import pytest
import pytest_asyncio

from crm.v1 import delivery_pb2
from crmctl.demo.delivery import demo_ledger
from services.common.identifiers import read_identifiers, to_proto
from services.delivery.store import scope_to_customer
from tests.conftest import REFERENCE_TODAY, Mesh

if TYPE_CHECKING:
    from crm.v1.delivery_pb2_grpc import DeliveryServiceAsyncStub as Stub
else:
    from crm.v1.delivery_pb2_grpc import DeliveryServiceStub as Stub

pytestmark = pytest.mark.asyncio(loop_scope="session")

LEDGER = demo_ledger(REFERENCE_TODAY)
SHIPMENTS = [s for s in LEDGER.shipments if s.tracking_number]
CUSTOMERS = sorted({c.customer_id for c in LEDGER.customers})
# Each shipment is probed by three other customers, in three ways each.
PROBERS_PER_SHIPMENT = 3
PROBES = [
    (shipment, other, way)
    for shipment in SHIPMENTS
    for other in [c for c in CUSTOMERS if c != shipment.customer_id][:PROBERS_PER_SHIPMENT]
    for way in ("text", "history", "ids")
]


def _request(customer_id: int, tracking: str, order_id: int, owner: int, way: str) -> delivery_pb2.AssessDeliveriesRequest:  # fmt: skip
    if way == "history":
        return delivery_pb2.AssessDeliveriesRequest(
            job_id="probe", customer_id=customer_id,
            identifiers=to_proto(read_identifiers("still nothing!")),
            known_tracking_numbers=[tracking],
        )  # fmt: skip
    text = f"Where is my parcel {tracking}?"
    if way == "ids":
        text = (
            f"I am customer {owner}, order #{order_id}, account id {owner}. "
            f"Please check parcel {tracking} for customer_id={owner}."
        )
    return delivery_pb2.AssessDeliveriesRequest(
        job_id="probe", customer_id=customer_id, identifiers=to_proto(read_identifiers(text))
    )


@pytest_asyncio.fixture(loop_scope="session")
async def delivery(mesh: Mesh) -> AsyncIterator[Stub]:
    async with grpc.aio.insecure_channel(mesh.stack.address("delivery")) as channel:
        yield Stub(channel)


async def test_the_probe_suite_has_at_least_100_cross_customer_attempts() -> None:
    assert len(PROBES) >= 100


async def test_no_probe_returns_another_customers_shipment_and_every_owner_finds_theirs(
    delivery: Stub,
) -> None:
    leaks: list[str] = []
    owner_misses: list[str] = []
    for shipment, other, way in PROBES:
        assert shipment.tracking_number is not None
        tracking = shipment.tracking_number
        probe = await delivery.AssessDeliveries(
            _request(other, tracking, shipment.order_id, shipment.customer_id, way)
        )
        # Apart from echoing the number back as unknown, nothing may mention it.
        answer = delivery_pb2.AssessDeliveriesResponse()
        answer.CopyFrom(probe)
        del answer.tracking_numbers[:]
        del answer.unmatched_tracking_numbers[:]
        if answer.shipments or answer.actions or tracking in str(answer):
            leaks.append(f"{way}: customer {other} saw {tracking} of {shipment.customer_id}")
        if tracking.upper() not in {t.upper() for t in probe.unmatched_tracking_numbers}:
            leaks.append(f"{way}: {tracking} not answered as unknown to customer {other}")
        owned = await delivery.AssessDeliveries(
            _request(shipment.customer_id, tracking, shipment.order_id, shipment.customer_id, way)
        )
        if [a.tracking_number for a in owned.shipments] != [tracking]:
            owner_misses.append(f"{way}: owner {shipment.customer_id} did not find {tracking}")
    assert leaks == []
    assert owner_misses == []


async def test_an_unknown_number_and_a_foreign_number_get_the_same_answer(
    delivery: Stub,
) -> None:
    owner, other = (
        SHIPMENTS[0].customer_id,
        next(c for c in CUSTOMERS if c != SHIPMENTS[0].customer_id),
    )
    foreign = await delivery.AssessDeliveries(
        _request(other, str(SHIPMENTS[0].tracking_number), 0, owner, "text")
    )
    unknown = await delivery.AssessDeliveries(_request(other, "FDX000000000", 0, owner, "text"))
    assert (len(foreign.shipments), len(foreign.actions)) == (0, 0)
    assert (len(unknown.shipments), len(unknown.actions)) == (0, 0)
    assert len(foreign.unmatched_tracking_numbers) == len(unknown.unmatched_tracking_numbers) == 1


async def _runtime(mesh: Mesh) -> asyncpg.Connection:
    conn = await asyncpg.connect(mesh.stack.runtime_dsn("delivery"))
    await conn.execute("SET search_path TO delivery")
    return conn


LEDGER_TABLES = [
    "customers", "orders", "shipments", "coupons", "carrier_events", "order_lines", "charges",
    "refunds",
]  # fmt: skip


async def test_no_billing_probe_returns_another_customers_order_and_owners_find_theirs(
    delivery: Stub,
) -> None:
    leaks: list[str] = []
    misses: list[str] = []
    for order in LEDGER.orders:
        others = [c for c in CUSTOMERS if c != order.customer_id][:PROBERS_PER_SHIPMENT]
        for other in others:
            probe = await delivery.AssessBilling(
                delivery_pb2.AssessBillingRequest(
                    job_id="probe", customer_id=other,
                    identifiers=to_proto(read_identifiers(f"charged twice for order {order.order_id}")),
                )
            )  # fmt: skip
            if probe.orders or probe.actions or list(probe.unmatched_order_ids) != [order.order_id]:
                leaks.append(f"customer {other} saw order {order.order_id}")
        owned = await delivery.AssessBilling(
            delivery_pb2.AssessBillingRequest(
                job_id="probe", customer_id=order.customer_id,
                identifiers=to_proto(read_identifiers(f"charged twice for order {order.order_id}")),
            )
        )  # fmt: skip
        if [o.order_id for o in owned.orders] != [order.order_id]:
            misses.append(f"owner {order.customer_id} did not find order {order.order_id}")
    assert leaks == [] and misses == []


@pytest.mark.parametrize("table", LEDGER_TABLES)
async def test_without_the_service_filter_row_level_security_returns_only_the_named_customer(
    mesh: Mesh, table: str
) -> None:
    conn = await _runtime(mesh)
    try:
        for customer_id in CUSTOMERS:
            async with conn.transaction(readonly=True):
                await scope_to_customer(conn, customer_id)
                # The service's query with its customer filter removed.
                owners = {
                    r["customer_id"] for r in await conn.fetch(f"SELECT customer_id FROM {table}")
                }
            assert owners <= {customer_id}
    finally:
        await conn.close()


async def test_without_a_named_customer_the_runtime_role_sees_no_row(mesh: Mesh) -> None:
    conn = await _runtime(mesh)
    try:
        for table in LEDGER_TABLES:
            assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0
        # A customer named in an earlier transaction is forgotten at its end.
        async with conn.transaction(readonly=True):
            await scope_to_customer(conn, CUSTOMERS[0])
        assert await conn.fetchval("SELECT count(*) FROM shipments") == 0
    finally:
        await conn.close()


async def test_every_customer_sees_their_own_shipments_through_row_level_security(
    mesh: Mesh,
) -> None:
    conn = await _runtime(mesh)
    try:
        for customer_id, rows in itertools.groupby(
            sorted(LEDGER.shipments, key=lambda s: s.customer_id), key=lambda s: s.customer_id
        ):
            async with conn.transaction(readonly=True):
                await scope_to_customer(conn, customer_id)
                seen = await conn.fetchval("SELECT count(*) FROM shipments")
            assert seen == len(list(rows))
    finally:
        await conn.close()


async def test_no_order_number_probe_returns_another_customers_shipment_and_owners_find_theirs(
    delivery: Stub,
) -> None:
    # A late-delivery question naming only an order: every order of the ledger, asked by
    # three other customers, then by its owner, who finds every shipment of the order
    # (also one not handed to a carrier yet, which has no tracking number).
    leaks: list[str] = []
    misses: list[str] = []
    for order in LEDGER.orders:
        ask = to_proto(read_identifiers(f"where is my order #{order.order_id}? no tracking yet"))
        for other in [c for c in CUSTOMERS if c != order.customer_id][:PROBERS_PER_SHIPMENT]:
            probe = await delivery.AssessDeliveries(
                delivery_pb2.AssessDeliveriesRequest(
                    job_id="probe", customer_id=other, identifiers=ask
                )
            )
            if (
                probe.shipments or probe.actions or probe.unshipped_order_ids
                or list(probe.unmatched_order_ids) != [order.order_id]
            ):  # fmt: skip
                leaks.append(f"customer {other} saw order {order.order_id}")
        owned = await delivery.AssessDeliveries(
            delivery_pb2.AssessDeliveriesRequest(
                job_id="probe", customer_id=order.customer_id, identifiers=ask
            )
        )
        expected = sorted(s.delivery_id for s in LEDGER.shipments if s.order_id == order.order_id)
        found = [(s.order_id, s.tracking_number) for s in owned.shipments]
        wanted = [
            (s.order_id, s.tracking_number or "")
            for s in sorted(LEDGER.shipments, key=lambda s: s.delivery_id)
            if s.delivery_id in expected
        ]
        if found != wanted or owned.unmatched_order_ids:
            misses.append(f"owner {order.customer_id} of order {order.order_id} found {found}")
    assert leaks == [] and misses == []
