"""The workflows, one entry per automated topic: the table the pipeline runs.

Each entry says which service assesses the e-mail (one RPC), how the answer's facts and
proposed actions join the draft, when it goes to a person (read from the owning
service's answer, never recomputed here) and which reply it renders. Adding a topic is
one entry here, its reply template, and its training data; a topic without an entry is
handed to a person with the facts (see `routing`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from google.protobuf.message import Message

from crm.v1 import delivery_pb2, events_pb2, memory_pb2, product_pb2, types_pb2
from services.common.taxonomy import (
    TOPIC_BILLING,
    TOPIC_COMPLAINT,
    TOPIC_DELIVERY,
    TOPIC_PRODUCT,
    TOPIC_TRANSACTION,
)
from services.orchestrator import replies
from services.orchestrator.reply_language import Wording

if TYPE_CHECKING:
    from services.orchestrator.pipeline import MeshClients

Answer = TypeVar("Answer", bound=Message)


@dataclass(frozen=True)
class Question:
    """What a workflow's assessment is asked about: the job, the customer, the e-mail
    text, the identifiers of the reading and the case's earlier facts."""

    job_id: str
    customer_id: int
    text: str
    identifiers: types_pb2.Identifiers
    case_facts: memory_pb2.CaseFacts


def _nothing(_: Any) -> str:
    return ""


def _no_actions(_: Any) -> Sequence[types_pb2.ProposedAction]:
    return ()


@dataclass(frozen=True)
class Workflow(Generic[Answer]):
    """One automated workflow."""

    # The service whose answer the workflow rests on (a stage of the job's metrics).
    service: str
    # The one RPC that assesses the e-mail.
    assess: Callable[[Question, MeshClients], Awaitable[Answer]]
    # Copies the answer's facts onto the draft's facts.
    join_facts: Callable[[Answer, events_pb2.DraftReady], None]
    # The reply rendered from the answer, worded in a reply language (`reply_language`).
    reply: Callable[[Answer, Wording], replies.Reply]
    # The actions the owning service proposes.
    actions: Callable[[Answer], Sequence[types_pb2.ProposedAction]] = _no_actions
    # Why a person must decide, as the owning service says; "" when the workflow answers.
    review_reason: Callable[[Answer], str] = _nothing


def _assess_deliveries(
    q: Question, clients: MeshClients
) -> Awaitable[delivery_pb2.AssessDeliveriesResponse]:
    return clients.delivery.AssessDeliveries(
        delivery_pb2.AssessDeliveriesRequest(
            job_id=q.job_id,
            customer_id=q.customer_id,
            identifiers=q.identifiers,
            # A follow-up without a number ("still nothing!") is about the case's.
            known_tracking_numbers=q.case_facts.tracking_numbers,
            known_order_numbers=q.case_facts.order_numbers,
        ),
        timeout=clients.timeout_seconds,
    )


def _join_deliveries(
    answer: delivery_pb2.AssessDeliveriesResponse, draft: events_pb2.DraftReady
) -> None:
    draft.facts.shipments.extend(answer.shipments)
    draft.facts.unmatched_tracking_numbers.extend(answer.unmatched_tracking_numbers)
    draft.facts.unmatched_order_ids.extend(answer.unmatched_order_ids)


def _assess_billing(
    q: Question, clients: MeshClients
) -> Awaitable[delivery_pb2.AssessBillingResponse]:
    return clients.delivery.AssessBilling(
        delivery_pb2.AssessBillingRequest(
            job_id=q.job_id,
            customer_id=q.customer_id,
            identifiers=q.identifiers,
            # A follow-up without a number ("any update on the double charge?", "has the
            # refund gone through?") is about the case's orders.
            known_order_numbers=q.case_facts.order_numbers,
        ),
        timeout=clients.timeout_seconds,
    )


def _join_billing(answer: delivery_pb2.AssessBillingResponse, draft: events_pb2.DraftReady) -> None:
    draft.facts.orders.extend(answer.orders)
    draft.facts.unmatched_order_ids.extend(answer.unmatched_order_ids)


def _assess_complaint(
    q: Question, clients: MeshClients
) -> Awaitable[delivery_pb2.AssessComplaintResponse]:
    return clients.delivery.AssessComplaint(
        delivery_pb2.AssessComplaintRequest(
            job_id=q.job_id,
            customer_id=q.customer_id,
            text=q.text,
            identifiers=q.identifiers,
            # A follow-up ("how do I send back the faulty pair?") is about the case's item.
            known_order_numbers=q.case_facts.order_numbers,
            known_tracking_numbers=q.case_facts.tracking_numbers,
        ),
        timeout=clients.timeout_seconds,
    )


def _join_complaint(
    answer: delivery_pb2.AssessComplaintResponse, draft: events_pb2.DraftReady
) -> None:
    draft.facts.complaint_items.extend(answer.items)


def _assess_products(
    q: Question, clients: MeshClients
) -> Awaitable[product_pb2.MatchProductsResponse]:
    # A match, not a bare search: the reply lists what fits the customer's need (and
    # every product satisfying the constraints when no need is named).
    return clients.product.MatchProducts(
        product_pb2.MatchProductsRequest(job_id=q.job_id, customer_id=q.customer_id, text=q.text),
        timeout=clients.timeout_seconds,
    )


def _join_products(answer: product_pb2.MatchProductsResponse, draft: events_pb2.DraftReady) -> None:
    draft.model_calls.extend(answer.model_calls)
    draft.facts.products.extend(answer.matches)
    draft.facts.alternative_products.extend(answer.alternatives)
    draft.facts.product_sql = answer.sql
    draft.facts.product_reading = answer.reading
    draft.facts.product_decline_reason = answer.decline_reason


# Topic name -> its workflow. Topics not here are handed to a person with the facts.
WORKFLOWS: dict[str, Workflow[Any]] = {
    TOPIC_DELIVERY: Workflow(
        service="delivery",
        assess=_assess_deliveries,
        join_facts=_join_deliveries,
        reply=replies.delivery_reply,
        actions=lambda a: a.actions,
        # A late order not yet handed to a carrier: a person decides.
        review_reason=lambda a: a.review_reason,
    ),
    TOPIC_BILLING: Workflow(
        service="delivery",
        assess=_assess_billing,
        join_facts=_join_billing,
        reply=replies.billing_reply,
        actions=lambda a: a.actions,
        # The records do not show what the customer says: a person looks at it.
        review_reason=lambda a: a.review_reason,
    ),
    # A payment, refund or return status question: answered from the records, nothing
    # proposed, and nothing claimed that the records could contradict.
    TOPIC_TRANSACTION: Workflow(
        service="delivery",
        assess=_assess_billing,
        join_facts=_join_billing,
        reply=replies.transaction_reply,
    ),
    TOPIC_COMPLAINT: Workflow(
        service="delivery",
        assess=_assess_complaint,
        join_facts=_join_complaint,
        reply=replies.complaint_reply,
        actions=lambda a: a.actions,
        # Past the return window or not delivered: a person decides.
        review_reason=lambda a: a.review_reason,
    ),
    TOPIC_PRODUCT: Workflow(
        service="product",
        assess=_assess_products,
        join_facts=_join_products,
        reply=replies.product_reply,
    ),
}
