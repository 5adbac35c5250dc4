"""What each workflow asks the delivery service: the reading's identifiers, and the case's
known numbers for a follow-up that names none (the service decides when to use them)."""

from __future__ import annotations

from typing import Any, cast

import pytest

from crm.v1 import delivery_pb2, events_pb2, memory_pb2, types_pb2
from services.common.taxonomy import (
    TOPIC_BILLING,
    TOPIC_COMPLAINT,
    TOPIC_DELIVERY,
    TOPIC_TRANSACTION,
)
from services.orchestrator.workflows import WORKFLOWS, Question


class _Delivery:
    """Records each request and answers it with an empty response."""

    def __init__(self) -> None:
        self.requests: list[Any] = []

    async def AssessDeliveries(self, request: Any, timeout: float) -> Any:
        self.requests.append(request)
        return delivery_pb2.AssessDeliveriesResponse()

    async def AssessBilling(self, request: Any, timeout: float) -> Any:
        self.requests.append(request)
        return delivery_pb2.AssessBillingResponse()

    async def AssessComplaint(self, request: Any, timeout: float) -> Any:
        self.requests.append(request)
        return delivery_pb2.AssessComplaintResponse()


class _Clients:
    def __init__(self) -> None:
        self.delivery = _Delivery()
        self.timeout_seconds = 1.0


QUESTION = Question(
    job_id="job-1",
    customer_id=3,
    text="any update on the double charge?",
    identifiers=types_pb2.Identifiers(),
    case_facts=memory_pb2.CaseFacts(order_numbers=["1003"], tracking_numbers=["UPS159753486"]),
)


@pytest.mark.parametrize(
    "topic", [TOPIC_DELIVERY, TOPIC_BILLING, TOPIC_TRANSACTION, TOPIC_COMPLAINT]
)
async def test_every_delivery_service_workflow_passes_the_cases_known_order_numbers(
    topic: str,
) -> None:
    clients = _Clients()
    await WORKFLOWS[topic].assess(QUESTION, cast(Any, clients))
    [sent] = clients.delivery.requests
    assert list(sent.known_order_numbers) == ["1003"]
    if topic in (TOPIC_DELIVERY, TOPIC_COMPLAINT):
        assert list(sent.known_tracking_numbers) == ["UPS159753486"]


def test_a_delivery_answers_unmatched_orders_join_the_draft_and_its_review_reason_counts() -> None:
    answer = delivery_pb2.AssessDeliveriesResponse(
        unmatched_order_ids=[1001], review_reason="late and not yet handed to a carrier: ..."
    )
    draft = events_pb2.DraftReady()
    workflow = WORKFLOWS[TOPIC_DELIVERY]
    workflow.join_facts(answer, draft)
    assert list(draft.facts.unmatched_order_ids) == [1001]
    assert workflow.review_reason(answer).startswith("late and not yet handed")
