"""Approved actions run exactly once by their idempotency key, in the service that owns
them; an action whose precondition no longer holds is refused, not repeated."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import grpc
import pytest_asyncio

from crm.v1 import delivery_pb2, delivery_pb2_grpc, types_pb2
from services.common.identifiers import read_identifiers, to_proto
from tests.conftest import Mesh


@pytest_asyncio.fixture
async def delivery(mesh: Mesh) -> AsyncIterator[Any]:
    """The delivery service; the ledger is put back as it was afterwards (the demo data is
    shared by every test of the session)."""
    owner = await asyncpg.connect(mesh.stack.owner_dsn("delivery"))
    marks = await owner.fetchrow(
        "SELECT (SELECT coalesce(max(refund_id), 0) FROM delivery.refunds) AS refunds,"
        " (SELECT coalesce(max(coupon_id), 0) FROM delivery.coupons) AS coupons"
    )
    try:
        async with grpc.aio.insecure_channel(mesh.stack.address("delivery")) as channel:
            yield delivery_pb2_grpc.DeliveryServiceStub(channel)
    finally:
        await owner.execute("DELETE FROM delivery.action_executions")
        await owner.execute("DELETE FROM delivery.refunds WHERE refund_id > $1", marks["refunds"])
        await owner.execute("DELETE FROM delivery.coupons WHERE coupon_id > $1", marks["coupons"])
        await owner.close()


async def _proposed(delivery: Any, customer_id: int, text: str) -> list[types_pb2.ProposedAction]:
    job = f"exec-{uuid.uuid4()}"
    answer = await delivery.AssessDeliveries(
        delivery_pb2.AssessDeliveriesRequest(
            job_id=job, customer_id=customer_id, identifiers=to_proto(read_identifiers(text))
        )
    )
    return list(answer.actions)


def _one(actions: list[types_pb2.ProposedAction], kind: int) -> types_pb2.ProposedAction:
    return next(a for a in actions if a.type == kind)


async def test_an_approved_refund_is_credited_once_however_often_it_is_executed(
    delivery: Any, mesh: Mesh
) -> None:
    actions = await _proposed(delivery, 4, "where is FDX486159753?")
    refund = _one(actions, types_pb2.ACTION_TYPE_DELIVERY_FEE_REFUND_ON_ARRIVAL)
    request = delivery_pb2.ExecuteActionRequest(request_id="d-1", customer_id=4, action=refund)
    first, second = await asyncio.gather(
        delivery.ExecuteAction(request), delivery.ExecuteAction(request)
    )
    outcomes = sorted([first.outcome, second.outcome])
    assert outcomes == [
        delivery_pb2.EXECUTION_OUTCOME_EXECUTED,
        delivery_pb2.EXECUTION_OUTCOME_ALREADY_EXECUTED,
    ]
    assert first.refund_id == second.refund_id > 0
    owner = await asyncpg.connect(mesh.stack.owner_dsn("delivery"))
    try:
        credited = await owner.fetchval(
            "SELECT count(*) FROM delivery.refunds WHERE refund_id = $1", first.refund_id
        )
    finally:
        await owner.close()
    assert credited == 1
    # A later draft proposes no second refund, and approving an older draft's copy of the
    # same refund (another idempotency key) is refused: it was credited already.
    later = await _proposed(delivery, 4, "still nothing, FDX486159753")
    assert not any(a.type == types_pb2.ACTION_TYPE_DELIVERY_FEE_REFUND_ON_ARRIVAL for a in later)
    stale = types_pb2.ProposedAction()
    stale.CopyFrom(refund)
    stale.idempotency_key = f"other-decision-{uuid.uuid4()}"
    refused = await delivery.ExecuteAction(
        delivery_pb2.ExecuteActionRequest(request_id="d-2", customer_id=4, action=stale)
    )
    assert refused.outcome == delivery_pb2.EXECUTION_OUTCOME_REFUSED
    assert refused.detail.startswith("refund already credited")


async def test_a_coupon_gets_a_unique_code_once_and_a_second_one_is_refused(
    delivery: Any,
) -> None:
    actions = await _proposed(delivery, 10, "FDX842159367 is late again")
    coupon = _one(actions, types_pb2.ACTION_TYPE_EXPEDITED_COUPON)
    done = await delivery.ExecuteAction(
        delivery_pb2.ExecuteActionRequest(request_id="d-3", customer_id=10, action=coupon)
    )
    assert done.outcome == delivery_pb2.EXECUTION_OUTCOME_EXECUTED
    assert done.coupon_code.startswith("EXP-")
    other = types_pb2.ProposedAction()
    other.CopyFrom(coupon)
    other.idempotency_key = f"other-{uuid.uuid4()}"
    refused = await delivery.ExecuteAction(
        delivery_pb2.ExecuteActionRequest(request_id="d-4", customer_id=10, action=other)
    )
    assert refused.outcome == delivery_pb2.EXECUTION_OUTCOME_REFUSED
    assert refused.detail == "a coupon was already issued for this shipment"


async def test_an_action_on_another_customers_shipment_is_refused(
    delivery: Any,
) -> None:
    actions = await _proposed(delivery, 10, "FDX842159367 is late again")
    coupon = _one(actions, types_pb2.ACTION_TYPE_EXPEDITED_COUPON)
    refused = await delivery.ExecuteAction(
        delivery_pb2.ExecuteActionRequest(request_id="d-5", customer_id=4, action=coupon)
    )
    assert refused.outcome == delivery_pb2.EXECUTION_OUTCOME_REFUSED
    assert refused.detail == "no such shipment or order on the customer's account"
