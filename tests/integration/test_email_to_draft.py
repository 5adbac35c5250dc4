"""An e-mail published on NATS becomes exactly one draft, built from the shop's own data."""

from __future__ import annotations

import uuid
from decimal import Decimal

import asyncpg
import pytest

from crm.v1 import events_pb2, orchestrator_pb2, orchestrator_pb2_grpc, product_pb2, types_pb2
from crmctl.events import EmailInput, publish_email
from crmctl.outcomes import DRAFT_READY, MANUAL_HANDLING
from tests.conftest import Mesh

pytestmark = pytest.mark.asyncio(loop_scope="session")


def new_email(customer_id: int, subject: str, body: str, **extra: str) -> EmailInput:
    return EmailInput(
        job_id=f"job-{uuid.uuid4()}",
        case_id=extra.pop("case_id", f"case-{uuid.uuid4()}"),
        customer_id=customer_id,
        sender_address=extra.pop("sender_address", f"customer{customer_id}@example.com"),
        subject=subject,
        body=body,
    )


async def superuser_fetch(mesh: Mesh, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(mesh.stack.superuser_dsn.rsplit("/", 1)[0] + "/crm")
    try:
        rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
        return rows
    finally:
        await conn.close()


async def test_late_parcel_email_gets_refund_computed_from_the_customers_own_data(
    mesh: Mesh,
) -> None:
    # Customer 4's FedEx parcel FDX486159753 has a carrier exception; its window ended
    # 2026-01-27, so on the pinned 2026-01-29 it is 2 days late and not yet delivered.
    email = new_email(4, "Where is my order?", "Hi, my parcel FDX486159753 is late. Where is it??")
    await publish_email(mesh.js, email)
    subject, draft = await mesh.outcomes.wait_for(email.job_id)

    assert subject == DRAFT_READY
    assert draft.classification.topic == types_pb2.TOPIC_DELIVERY_DELAY
    [shipment] = draft.facts.shipments
    assert shipment.tracking_number == "FDX486159753"
    assert shipment.days_late == 2
    [fee] = await superuser_fetch(
        mesh,
        "SELECT o.delivery_fee FROM delivery.orders o JOIN delivery.shipments s USING (order_id)"
        " WHERE s.tracking_number = $1",
        "FDX486159753",
    )
    refunds = [
        a for a in draft.actions if a.type == types_pb2.ACTION_TYPE_DELIVERY_FEE_REFUND_ON_ARRIVAL
    ]
    assert [a.target for a in refunds] == ["FDX486159753"]
    expected = min(fee["delivery_fee"], fee["delivery_fee"] * Decimal("0.50")).quantize(
        Decimal("0.01")
    )
    assert Decimal(refunds[0].amount.amount) == expected
    assert refunds[0].idempotency_key
    assert "FDX486159753" in draft.reply and "2 days" in draft.reply
    # The carrier's reason for the exception is passed on; it scanned the parcel after
    # the window ended, so no update is requested from it.
    assert shipment.delay_reason == "the delivery address could not be verified"
    assert shipment.delay_reason in draft.reply
    assert types_pb2.ACTION_TYPE_CARRIER_UPDATE_REQUEST not in [a.type for a in draft.actions]


async def test_a_parcel_three_days_late_without_a_carrier_scan_gets_an_update_request(
    mesh: Mesh,
) -> None:
    # Customer 3's UPS159753486: window ended 2026-01-26, last scan 2026-01-25.
    email = new_email(3, "Late", "Where is UPS159753486? It should have been here by now.")
    await publish_email(mesh.js, email)
    subject, draft = await mesh.outcomes.wait_for(email.job_id)
    assert subject == DRAFT_READY
    [request] = [a for a in draft.actions if a.type == types_pb2.ACTION_TYPE_CARRIER_UPDATE_REQUEST]
    assert request.target == "UPS159753486" and not request.HasField("amount")
    assert "asked the carrier for an update" in draft.reply


async def test_another_customers_tracking_number_reveals_nothing(mesh: Mesh) -> None:
    # FDX486159753 belongs to customer 4; customer 7 asks about it.
    email = new_email(7, "Late parcel", "Where is my parcel FDX486159753? It is late.")
    await publish_email(mesh.js, email)
    subject, draft = await mesh.outcomes.wait_for(email.job_id)

    assert subject == DRAFT_READY
    assert list(draft.facts.shipments) == []
    assert list(draft.facts.unmatched_tracking_numbers) == ["FDX486159753"]
    assert list(draft.actions) == []
    assert "could not find a delivery with this number on your account" in draft.reply


async def test_stock_question_lists_every_matching_product_with_its_stock(mesh: Mesh) -> None:
    email = new_email(2, "Stock question", "Do you have the Adidas Ultraboost in size 10?")
    await publish_email(mesh.js, email)
    subject, draft = await mesh.outcomes.wait_for(email.job_id)

    assert subject == DRAFT_READY
    assert draft.classification.topic == types_pb2.TOPIC_PRODUCT_AVAILABILITY_OR_RECOMMENDATION
    rows = await superuser_fetch(
        mesh,
        "SELECT p.product_id, i.quantity FROM product.products p JOIN product.inventory i USING (product_id)"
        " WHERE p.name = 'Adidas Ultraboost' AND p.size_us = 10",
    )
    assert rows, "the demo catalog has Adidas Ultraboost in size 10"
    listed = {p.product.product_id: p for p in draft.facts.products}
    assert set(listed) == {r["product_id"] for r in rows}
    for r in rows:
        product = listed[r["product_id"]]
        assert product.quantity_on_hand == r["quantity"]
        in_stock = product.status == product_pb2.AVAILABILITY_STATUS_IN_STOCK
        assert in_stock == (r["quantity"] > 0)
    assert "Adidas Ultraboost" in draft.reply
    assert draft.facts.product_sql.upper().startswith("SELECT")
    # What was understood, in plain words, beside the SQL for the reviewer.
    assert "Adidas Ultraboost" in draft.facts.product_reading
    assert "size 10" in draft.facts.product_reading


async def test_a_tier_0_draft_carries_no_model_calls_and_zero_cost(mesh: Mesh) -> None:
    email = new_email(4, "Late parcel", "Where is my parcel FDX486159753?")
    await publish_email(mesh.js, email)
    _, draft = await mesh.outcomes.wait_for(email.job_id)
    assert list(draft.model_calls) == []
    assert draft.model_cost_usd == "0.000000"


async def test_job_is_exposed_over_grpc_with_its_draft(mesh: Mesh) -> None:
    import grpc

    email = new_email(2, "Stock", "Is the Nike Air Max available in size 9.5?")
    await publish_email(mesh.js, email)
    await mesh.outcomes.wait_for(email.job_id)
    async with grpc.aio.insecure_channel(mesh.stack.address("orchestrator")) as channel:
        stub = orchestrator_pb2_grpc.OrchestratorServiceStub(channel)
        reply = await stub.GetJob(orchestrator_pb2.GetJobRequest(job_id=email.job_id))
        assert reply.job.state == orchestrator_pb2.JOB_STATE_DRAFT_READY
        assert reply.job.outcome_published
        assert reply.job.draft_ready.job_id == email.job_id
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await stub.GetJob(orchestrator_pb2.GetJobRequest(job_id="no-such-job"))
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_case_history_reaches_the_draft(mesh: Mesh) -> None:
    case_id = f"case-{uuid.uuid4()}"
    first = new_email(4, "Late parcel", "My parcel FDX486159753 is late.", case_id=case_id)
    await publish_email(mesh.js, first)
    await mesh.outcomes.wait_for(first.job_id)
    second = new_email(4, "Re: Late parcel", "Any news on FDX486159753?", case_id=case_id)
    await publish_email(mesh.js, second)
    _, draft = await mesh.outcomes.wait_for(second.job_id)
    assert len(draft.facts.case_history) == 1
    assert "late" in draft.facts.case_history[0].lower()


async def test_a_follow_up_without_a_number_is_read_against_the_cases_shipment(
    mesh: Mesh,
) -> None:
    case_id = f"case-{uuid.uuid4()}"
    first = new_email(4, "Late parcel", "Where is my parcel FDX486159753?", case_id=case_id)
    await publish_email(mesh.js, first)
    await mesh.outcomes.wait_for(first.job_id)
    second = new_email(4, "Re: Late parcel", "still nothing!! what is going on", case_id=case_id)
    await publish_email(mesh.js, second)
    _, draft = await mesh.outcomes.wait_for(second.job_id)
    assert [s.tracking_number for s in draft.facts.shipments] == ["FDX486159753"]
    assert "FDX486159753" in draft.reply


async def test_overlong_email_goes_to_manual_handling_before_any_model(mesh: Mesh) -> None:
    email = new_email(2, "Inventory", "Do you have size 10? " * 200)
    await publish_email(mesh.js, email)
    subject, event = await mesh.outcomes.wait_for(email.job_id)
    assert subject == MANUAL_HANDLING
    assert event.reason == events_pb2.MANUAL_HANDLING_REASON_EMAIL_TOO_LONG


async def test_an_email_from_another_customers_address_goes_to_manual_handling(
    mesh: Mesh,
) -> None:
    # Customer 2's address, while the CRM authenticated customer 4 (whose parcel it names).
    email = new_email(
        4, "Where is my parcel?", "Where is FDX486159753?",
        sender_address="DAN.OKAFOR@mail.example.net",
    )  # fmt: skip
    await publish_email(mesh.js, email)
    subject, event = await mesh.outcomes.wait_for(email.job_id)
    assert subject == MANUAL_HANDLING
    assert event.reason == events_pb2.MANUAL_HANDLING_REASON_SENDER_MISMATCH
    assert "dan.okafor" not in str(event).lower()  # nothing about the other customer


async def test_an_email_from_the_customers_own_or_an_unknown_address_is_handled(
    mesh: Mesh,
) -> None:
    for address in ("tkowalski84@example.com", "tom.on.holiday@example.org"):
        email = new_email(
            4, "Where is my parcel?", "Where is FDX486159753?", sender_address=address
        )
        await publish_email(mesh.js, email)
        subject, _ = await mesh.outcomes.wait_for(email.job_id)
        assert subject == DRAFT_READY


async def test_fourth_asking_in_a_case_is_escalated_as_a_repeated_request(mesh: Mesh) -> None:
    case_id = f"case-{uuid.uuid4()}"
    drafts = []
    for n in range(4):
        email = new_email(
            4,
            "Where is my parcel?",
            f"Where is my parcel FDX486159753? (asking again, {n})",
            case_id=case_id,
        )
        await publish_email(mesh.js, email)
        drafts.append((await mesh.outcomes.wait_for(email.job_id))[1])
    assert [d.classification.repeat_count for d in drafts] == [0, 1, 2, 3]
    assert [d.escalation_reason for d in drafts[:3]] == [
        events_pb2.ESCALATION_REASON_UNSPECIFIED
    ] * 3
    assert drafts[3].escalation_reason == events_pb2.ESCALATION_REASON_REPEATED_REQUEST
    assert drafts[3].classification.urgent
    assert drafts[3].reply == "" and list(drafts[3].actions) == []


async def test_a_double_charge_gets_a_refund_of_exactly_the_extra_charge(mesh: Mesh) -> None:
    email = new_email(
        3, "Charged twice", "Hello, I was charged twice for order 1003. Please fix this."
    )
    await publish_email(mesh.js, email)
    subject, draft = await mesh.outcomes.wait_for(email.job_id)
    assert subject == DRAFT_READY
    assert draft.classification.topic == types_pb2.TOPIC_BILLING_DISPUTE
    [refund] = draft.actions
    assert refund.type == types_pb2.ACTION_TYPE_CHARGE_REFUND
    assert (refund.target, refund.amount.amount) == ("1003", "117.99")
    assert "117.99" in draft.reply and draft.escalation_reason == 0


async def test_a_billing_claim_the_records_do_not_support_is_escalated_with_evidence(
    mesh: Mesh,
) -> None:
    email = new_email(1, "Wrong charge", "You charged me the wrong amount for order 1001!")
    await publish_email(mesh.js, email)
    subject, draft = await mesh.outcomes.wait_for(email.job_id)
    assert subject == DRAFT_READY
    assert draft.escalation_reason == events_pb2.ESCALATION_REASON_NEEDS_REVIEW
    assert "no overcharge" in draft.escalation_detail
    assert not draft.actions and not draft.reply


async def test_another_customers_order_number_reveals_nothing(mesh: Mesh) -> None:
    email = new_email(5, "Charged twice", "I was charged twice for order 1003, refund me.")
    await publish_email(mesh.js, email)
    _, draft = await mesh.outcomes.wait_for(email.job_id)
    assert list(draft.facts.unmatched_order_ids) == [1003]
    assert not draft.facts.orders and not draft.actions
    assert "117.99" not in draft.reply


async def test_a_refund_status_question_is_answered_from_the_records(mesh: Mesh) -> None:
    email = new_email(1, "Refund?", "Hi, has the refund for order 1004 gone through yet?")
    await publish_email(mesh.js, email)
    subject, draft = await mesh.outcomes.wait_for(email.job_id)
    assert subject == DRAFT_READY
    assert draft.classification.topic == types_pb2.TOPIC_TRANSACTION_INQUIRY
    assert not draft.actions and not draft.escalation_reason
    assert "5.99" in draft.reply and "completed on" in draft.reply


async def test_a_faulty_item_within_the_window_gets_a_return_with_the_wished_resolution(
    mesh: Mesh,
) -> None:
    email = new_email(
        3, "Faulty shoes", "The sole of my Puma RS-X came off after a week. I want a refund."
    )
    await publish_email(mesh.js, email)
    subject, draft = await mesh.outcomes.wait_for(email.job_id)
    assert subject == DRAFT_READY
    assert draft.classification.topic == types_pb2.TOPIC_PRODUCT_COMPLAINT
    [ret] = draft.actions
    assert ret.type == types_pb2.ACTION_TYPE_RETURN_AUTHORISATION
    assert (ret.target, ret.resolution, ret.amount.amount) == ("1003", "refund", "110.00")
    assert "return label" in draft.reply


async def test_a_complaint_past_the_return_window_is_escalated(mesh: Mesh) -> None:
    email = new_email(2, "Broken", "My New Balance 990 from order 1041 is falling apart.")
    await publish_email(mesh.js, email)
    _, draft = await mesh.outcomes.wait_for(email.job_id)
    assert draft.escalation_reason == events_pb2.ESCALATION_REASON_NEEDS_REVIEW
    assert "order 1041" in draft.escalation_detail and not draft.actions


async def test_a_reply_is_in_english_with_a_note_when_the_customers_language_has_no_catalogue(
    mesh: Mesh,
) -> None:
    english = new_email(3, "Late", "Where is UPS159753486? It should have been here by now.")
    swedish = new_email(
        3,
        "Sen leverans",
        "Hej! Var är mitt paket UPS159753486? Det skulle ha kommit för länge sedan.",
    )
    for email in (english, swedish):
        await publish_email(mesh.js, email)
    _, in_english = await mesh.outcomes.wait_for(english.job_id)
    _, for_swedish = await mesh.outcomes.wait_for(swedish.job_id)
    assert isinstance(in_english, events_pb2.DraftReady)
    assert isinstance(for_swedish, events_pb2.DraftReady)
    assert (in_english.reply_language, in_english.reply_language_note) == ("en", "")
    assert in_english.reply_in_english == ""  # the reply itself is the English one
    assert for_swedish.classification.language == "sv"
    assert "UPS159753486" in for_swedish.reply
    assert (for_swedish.reply_language, for_swedish.reply_in_english) == ("en", "")
    assert for_swedish.reply_language_note == (
        "the customer wrote in Swedish (sv); there are no reply templates in that language,"
        " so the reply is in English"
    )
