"""Order numbers work wherever a tracking number does, and follow-ups that do not repeat
their number complete every workflow with the case's number (issue 19): real mesh, demo
data, today pinned to 2026-01-29."""

from __future__ import annotations

import uuid

import pytest

from crm.v1 import delivery_pb2, events_pb2, types_pb2
from crmctl.events import publish_email
from crmctl.outcomes import DRAFT_READY
from tests.conftest import Mesh
from tests.integration.test_email_to_draft import new_email

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _draft(mesh: Mesh, customer_id: int, subject: str, body: str, case_id: str = "") -> events_pb2.DraftReady:  # fmt: skip
    email = new_email(customer_id, subject, body, case_id=case_id or f"case-{uuid.uuid4()}")
    await publish_email(mesh.js, email)
    subject_, draft = await mesh.outcomes.wait_for(email.job_id)
    assert subject_ == DRAFT_READY
    assert isinstance(draft, events_pb2.DraftReady)
    return draft


async def test_a_late_delivery_named_only_by_its_order_number_gets_the_refund(mesh: Mesh) -> None:
    # Customer 5's order 1036 is parcel USPS753486159: a carrier exception, its window
    # ended 2026-01-28, so 1 day late; 25% of the 4.99 fee is 1.25, refunded on arrival.
    draft = await _draft(
        mesh,
        5,
        "Order status",
        "Hi, where is my order #1036? It was due yesterday and I still have no tracking number for it.",
    )
    assert draft.classification.topic == types_pb2.TOPIC_DELIVERY_DELAY
    [shipment] = draft.facts.shipments
    assert (shipment.order_id, shipment.tracking_number, shipment.days_late) == (1036, "USPS753486159", 1)  # fmt: skip
    [refund] = draft.actions
    assert refund.type == types_pb2.ACTION_TYPE_DELIVERY_FEE_REFUND_ON_ARRIVAL
    assert (refund.target, refund.amount.amount) == ("USPS753486159", "1.25")
    assert "Order 1036, tracking number USPS753486159" in draft.reply
    assert "Could you reply with your tracking number" not in draft.reply


async def test_a_delivered_late_order_asked_about_by_number_gets_the_rest_of_the_fee(
    mesh: Mesh,
) -> None:
    # Order 1004 (FDX111222333) arrived 3 days late: 75% of 9.99 is 7.49, of which 5.99
    # was already refunded.
    draft = await _draft(mesh, 1, "Order status", "where is my order #1004?")
    assert [s.tracking_number for s in draft.facts.shipments] == ["FDX111222333"]
    assert [(a.type, a.target, a.amount.amount) for a in draft.actions] == [
        (types_pb2.ACTION_TYPE_DELIVERY_FEE_REFUND, "FDX111222333", "1.50")
    ]


async def test_an_order_not_shipped_yet_is_answered_with_its_status_and_window(mesh: Mesh) -> None:
    # Customer 14's order 1030 is being prepared: no tracking number, window 4-6 February.
    draft = await _draft(mesh, 14, "Order status", "order 1030 - no tracking yet?")
    [shipment] = draft.facts.shipments
    assert (shipment.order_id, shipment.tracking_number) == (1030, "")
    assert shipment.status == delivery_pb2.SHIPMENT_STATUS_PROCESSING
    assert not draft.actions and not draft.escalation_reason
    assert "Order 1030 (USPS" in draft.reply and "It has not shipped yet" in draft.reply
    assert "February 6, 2026" in draft.reply
    assert "Could you reply with your tracking number" not in draft.reply


async def test_another_customers_order_number_gets_the_unknown_number_answer(mesh: Mesh) -> None:
    # Order 1036 is customer 5's; customer 7 asks about it, and about an order nobody has.
    foreign = await _draft(mesh, 7, "Order status", "where is my order #1036? It is late.")
    unknown = await _draft(mesh, 7, "Order status", "where is my order #1999? It is late.")
    for draft, number in ((foreign, 1036), (unknown, 1999)):
        assert list(draft.facts.shipments) == [] and list(draft.actions) == []
        assert list(draft.facts.unmatched_order_ids) == [number]
        assert f"Order {number}: we could not find an order with this number on your account" in draft.reply  # fmt: skip
    assert foreign.reply.replace("1036", "N") == unknown.reply.replace("1999", "N")
    assert "USPS753486159" not in str(foreign)


async def _case(mesh: Mesh, customer_id: int, *mails: tuple[str, str]) -> list[events_pb2.DraftReady]:  # fmt: skip
    case_id = f"case-{uuid.uuid4()}"
    return [await _draft(mesh, customer_id, s, b, case_id) for s, b in mails]


async def test_a_billing_follow_up_after_a_note_completes_with_the_cases_order(mesh: Mesh) -> None:
    *_, follow_up = await _case(
        mesh, 3,
        ("Charged twice", "Hello, I was charged twice for order 1003. Please fix this."),
        ("Re: Charged twice", "Thanks for the quick answer!"),
        ("Re: Charged twice", "any update on the double charge?"),
    )  # fmt: skip
    assert follow_up.classification.topic == types_pb2.TOPIC_BILLING_DISPUTE
    assert not follow_up.classification.identifiers.order_numbers  # it repeats no number
    [refund] = follow_up.actions
    assert refund.type == types_pb2.ACTION_TYPE_CHARGE_REFUND
    assert (refund.target, refund.amount.amount) == ("1003", "117.99")
    assert "117.99" in follow_up.reply


async def test_a_complaint_follow_up_after_a_note_completes_with_the_cases_order(
    mesh: Mesh,
) -> None:
    # Customer 1 has three pairs delivered within the return window: without the case's
    # order the follow-up could not tell which one is meant.
    *_, follow_up = await _case(
        mesh, 1,
        ("Faulty shoes", "The sole of the shoes from order 1004 came off after two days."),
        ("Re: Faulty shoes", "Thanks!"),
        ("Re: Faulty shoes", "What about the faulty pair I told you about?"),
    )  # fmt: skip
    assert follow_up.classification.topic == types_pb2.TOPIC_PRODUCT_COMPLAINT
    [ret] = follow_up.actions
    assert ret.type == types_pb2.ACTION_TYPE_RETURN_AUTHORISATION and ret.target == "1004"
    assert [i.order_id for i in follow_up.facts.complaint_items] == [1004]


async def test_a_transaction_follow_up_after_a_note_completes_with_the_cases_order(
    mesh: Mesh,
) -> None:
    *_, follow_up = await _case(
        mesh, 1,
        ("Refund?", "Hi, has the refund for order 1004 gone through yet?"),
        ("Re: Refund?", "Thanks!"),
        ("Re: Refund?", "still not on my card, any news on that refund?"),
    )  # fmt: skip
    assert follow_up.classification.topic == types_pb2.TOPIC_TRANSACTION_INQUIRY
    assert [o.order_id for o in follow_up.facts.orders] == [1004]
    assert "5.99" in follow_up.reply and "completed on" in follow_up.reply


async def test_a_follow_up_in_another_topic_keeps_the_cases_order(mesh: Mesh) -> None:
    # A double charge, then "has the refund gone through?": a refund-status question about
    # the same order, although no longer the open request's topic.
    _, follow_up = await _case(
        mesh, 3,
        ("Charged twice", "Hello, I was charged twice for order 1003. Please fix this."),
        ("Re: Charged twice", "has the refund gone through yet?"),
    )  # fmt: skip
    assert follow_up.classification.topic == types_pb2.TOPIC_TRANSACTION_INQUIRY
    assert [o.order_id for o in follow_up.facts.orders] == [1003]
    assert "Could you reply with your order number" not in follow_up.reply
