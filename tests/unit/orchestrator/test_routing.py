"""Routing: escalate what a person must handle, run the workflows that exist."""

from __future__ import annotations

from typing import Any

from crm.v1 import classifier_pb2, events_pb2, types_pb2
from services.common.taxonomy import (
    TOPIC_BILLING,
    TOPIC_COMPLAINT,
    TOPIC_DELIVERY,
    TOPIC_OTHER,
    TOPIC_PRODUCT,
    TOPIC_TRANSACTION,
    TOPICS,
    topic_to_proto,
)
from services.orchestrator.routing import route
from services.orchestrator.workflows import WORKFLOWS


def verdict(topic: types_pb2.Topic.ValueType, **fields: Any) -> classifier_pb2.Classification:
    return classifier_pb2.Classification(
        topic=topic, reply_needed=fields.pop("reply_needed", True), **fields
    )


def test_delivery_delay_runs_the_delivery_workflow() -> None:
    assert route(verdict(types_pb2.TOPIC_DELIVERY_DELAY)).workflow == TOPIC_DELIVERY


def test_product_question_runs_the_product_workflow() -> None:
    r = route(verdict(types_pb2.TOPIC_PRODUCT_AVAILABILITY_OR_RECOMMENDATION))
    assert r.workflow == TOPIC_PRODUCT


def test_urgent_email_is_escalated_whatever_its_topic() -> None:
    r = route(
        verdict(
            types_pb2.TOPIC_DELIVERY_DELAY, urgent=True, urgency_reason="legal action threatened"
        )
    )
    assert r.escalation == events_pb2.ESCALATION_REASON_URGENT
    assert r.workflow == ""


def test_a_request_the_classifier_calls_repeated_too_often_is_escalated_as_repeated() -> None:
    third = route(verdict(types_pb2.TOPIC_DELIVERY_DELAY, repeat_count=2))
    fourth = route(
        verdict(types_pb2.TOPIC_DELIVERY_DELAY, repeat_count=3, repeated_request=True, urgent=True)
    )
    assert third.workflow == TOPIC_DELIVERY
    assert fourth.escalation == events_pb2.ESCALATION_REASON_REPEATED_REQUEST


def test_other_topic_is_escalated_as_unclear() -> None:
    assert route(verdict(types_pb2.TOPIC_OTHER)).escalation == events_pb2.ESCALATION_REASON_UNCLEAR


def test_several_requests_are_escalated_with_each_listed() -> None:
    r = route(verdict(types_pb2.TOPIC_OTHER, requests=["delivery_delay", "billing_dispute"]))
    assert r.escalation == events_pb2.ESCALATION_REASON_MULTIPLE_REQUESTS
    assert "delivery_delay" in r.detail and "billing_dispute" in r.detail


def test_thank_you_needs_no_reply_and_no_escalation() -> None:
    r = route(verdict(types_pb2.TOPIC_OTHER, reply_needed=False))
    assert not r.reply_needed
    assert r.escalation == events_pb2.ESCALATION_REASON_UNSPECIFIED


def test_a_billing_dispute_enters_the_billing_workflow() -> None:
    assert route(verdict(types_pb2.TOPIC_BILLING_DISPUTE)).workflow == TOPIC_BILLING


def test_a_transaction_inquiry_is_answered_from_the_records() -> None:
    assert route(verdict(types_pb2.TOPIC_TRANSACTION_INQUIRY)).workflow == TOPIC_TRANSACTION


def test_a_product_complaint_enters_the_complaint_workflow() -> None:
    assert route(verdict(types_pb2.TOPIC_PRODUCT_COMPLAINT)).workflow == TOPIC_COMPLAINT


def test_a_priority_urgent_email_is_drafted_by_its_workflow() -> None:
    r = route(
        verdict(
            types_pb2.TOPIC_PRODUCT_COMPLAINT,
            urgent=True,
            urgency_level=types_pb2.URGENCY_LEVEL_PRIORITY,
        )
    )
    assert r.workflow == TOPIC_COMPLAINT and not r.escalation


def test_a_hands_off_urgent_email_goes_to_a_person() -> None:
    r = route(
        verdict(
            types_pb2.TOPIC_PRODUCT_COMPLAINT,
            urgent=True,
            urgency_level=types_pb2.URGENCY_LEVEL_HANDS_OFF,
            urgency_reason="harm to a person reported",
        )
    )
    assert r.escalation == events_pb2.ESCALATION_REASON_URGENT and not r.workflow


def test_an_email_of_only_injected_text_is_escalated_as_such() -> None:
    r = route(verdict(types_pb2.TOPIC_OTHER, only_injection=True, injection_evidence=["SYSTEM:"]))
    assert r.escalation == events_pb2.ESCALATION_REASON_SUSPECTED_INJECTION


def test_several_items_of_one_topic_are_one_request() -> None:
    r = route(
        verdict(
            types_pb2.TOPIC_BILLING_DISPUTE,
            requests=["billing_dispute: charged twice", "billing_dispute: wrong amount"],
        )
    )
    assert r.workflow == TOPIC_BILLING


def test_every_topic_but_other_has_a_workflow_and_runs_it() -> None:
    assert set(WORKFLOWS) == set(TOPICS) - {TOPIC_OTHER}
    for topic in WORKFLOWS:
        assert route(verdict(topic_to_proto(topic))).workflow == topic
