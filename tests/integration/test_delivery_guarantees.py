"""Bad input and redelivery: one outcome per job, clear failures, nothing redelivered forever."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from nats.js.api import ConsumerInfo

from crm.v1 import events_pb2, types_pb2
from crmctl.events import EmailInput, publish_email
from crmctl.outcomes import DRAFT_READY, JOB_FAILED
from services.orchestrator import jetstream
from tests.conftest import TEST_RATE_LIMIT, Mesh
from tests.integration.test_metrics import scrape_metrics

pytestmark = pytest.mark.asyncio(loop_scope="session")


def stock_question(job_id: str | None = None) -> EmailInput:
    return EmailInput(
        job_id=job_id or f"job-{uuid.uuid4()}",
        customer_id=2,
        subject="Stock",
        body="Do you have Nike Air Max in red, size 10?",
    )


async def consumer_info(mesh: Mesh) -> ConsumerInfo:
    info: ConsumerInfo = await mesh.js.consumer_info(
        jetstream.EMAILS_STREAM, jetstream.ORCHESTRATOR_CONSUMER
    )
    return info


async def settle(mesh: Mesh, seconds: float = 1.5) -> None:
    """Gives any (wrong) second outcome time to appear."""
    await asyncio.sleep(seconds)


async def test_same_job_published_twice_with_same_msg_id_yields_one_outcome(mesh: Mesh) -> None:
    email = stock_question()
    await publish_email(mesh.js, email)
    await publish_email(mesh.js, email)
    subject, _ = await mesh.outcomes.wait_for(email.job_id)
    await settle(mesh)
    assert subject == DRAFT_READY
    assert mesh.outcomes.count(email.job_id) == 1


async def test_same_job_id_under_another_msg_id_after_completion_yields_no_second_outcome(
    mesh: Mesh,
) -> None:
    # Past JetStream's duplicate window the orchestrator's own job table must hold the line.
    email = stock_question()
    await publish_email(mesh.js, email)
    await mesh.outcomes.wait_for(email.job_id)
    await mesh.js.publish(
        "crm.v1.email.received",
        email.to_event().SerializeToString(),
        headers={"Nats-Msg-Id": f"{email.job_id}-resent"},
    )
    await settle(mesh, 2.0)
    assert mesh.outcomes.count(email.job_id) == 1


async def test_payload_that_is_not_a_message_fails_under_its_msg_id_and_is_not_redelivered(
    mesh: Mesh,
) -> None:
    msg_id = f"garbage-{uuid.uuid4()}"
    await mesh.js.publish(
        "crm.v1.email.received", b"\xff\xfe not protobuf", headers={"Nats-Msg-Id": msg_id}
    )
    subject, failed = await mesh.outcomes.wait_for(msg_id)
    assert subject == JOB_FAILED
    assert failed.code == types_pb2.ERROR_CODE_INVALID_PAYLOAD
    assert failed.delivery_attempts == 1
    await settle(mesh)
    info = await consumer_info(mesh)
    assert info.num_ack_pending == 0
    assert mesh.outcomes.count(msg_id) == 1


async def test_payload_without_msg_id_fails_under_its_stream_sequence(mesh: Mesh) -> None:
    ack = await mesh.js.publish("crm.v1.email.received", b"\x0a\x05")  # truncated field
    subject, failed = await mesh.outcomes.wait_for(f"seq-{ack.seq}")
    assert subject == JOB_FAILED
    assert failed.code == types_pb2.ERROR_CODE_INVALID_PAYLOAD
    assert failed.stream_sequence == ack.seq


async def test_event_naming_no_customer_fails_with_customer_missing(mesh: Mesh) -> None:
    event = events_pb2.EmailReceived(
        job_id=f"job-{uuid.uuid4()}", case_id="c-1", subject="hi", body="where is my order?"
    )
    await mesh.js.publish(
        "crm.v1.email.received", event.SerializeToString(), headers={"Nats-Msg-Id": event.job_id}
    )
    subject, failed = await mesh.outcomes.wait_for(event.job_id)
    assert subject == JOB_FAILED
    assert failed.code == types_pb2.ERROR_CODE_CUSTOMER_MISSING
    assert failed.case_id == "c-1"
    await settle(mesh)
    assert mesh.outcomes.count(event.job_id) == 1
    assert (await consumer_info(mesh)).num_ack_pending == 0


async def test_control_characters_in_an_email_are_dropped_and_it_is_drafted(mesh: Mesh) -> None:
    email = stock_question()
    email.subject = "Stock\x00?"
    email.body = "Do you have Nike Air Max\x00 in red, size 10?\x07\x1b[31m"
    email.sender_address = "customer2@example.com\x00"
    await publish_email(mesh.js, email)
    subject, draft = await mesh.outcomes.wait_for(email.job_id, timeout=15)
    assert subject == DRAFT_READY
    assert "\x00" not in draft.reply


async def test_an_id_with_control_characters_fails_as_invalid(mesh: Mesh) -> None:
    job_id = f"job-{uuid.uuid4()}"
    event = events_pb2.EmailReceived(
        job_id=job_id, case_id="case\x00-1", customer_id=2, subject="hi", body="Stock?"
    )
    await mesh.js.publish(
        "crm.v1.email.received", event.SerializeToString(), headers={"Nats-Msg-Id": job_id}
    )
    subject, failed = await mesh.outcomes.wait_for(job_id, timeout=15)
    assert subject == JOB_FAILED
    assert failed.code == types_pb2.ERROR_CODE_INVALID_ARGUMENT
    assert "control character" in failed.detail


async def test_a_customer_flooding_the_inbox_is_drafted_for_up_to_the_limit_then_sent_to_a_person(
    mesh: Mesh,
) -> None:
    customer = 900_000 + uuid.uuid4().int % 99_999  # no other test writes as this customer
    emails = [
        EmailInput(
            job_id=f"flood-{n:03d}-{uuid.uuid4().hex[:6]}",
            customer_id=customer,
            subject="hello",
            body=f"Question number {n}: do you sell socks?",
        )
        for n in range(TEST_RATE_LIMIT + 3)
    ]
    for email in emails:
        await publish_email(mesh.js, email)
    reasons = []
    for email in emails:
        subject, outcome = await mesh.outcomes.wait_for(email.job_id, timeout=60)
        reasons.append(outcome.reason if subject == "crm.v1.job.manual_handling" else None)
    limited = [r for r in reasons if r == events_pb2.MANUAL_HANDLING_REASON_RATE_LIMITED]
    assert len(limited) == 3
    metrics = await asyncio.to_thread(scrape_metrics, mesh.metrics_ports["orchestrator"])
    assert "crm_rate_limited_total 3.0" in metrics
