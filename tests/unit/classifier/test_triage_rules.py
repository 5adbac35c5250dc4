"""Tier-0 triage rules: the hard signals a wrong route would be costly for."""

from __future__ import annotations

import pytest

from services.classifier.triage import (
    TOPIC_BILLING,
    TOPIC_COMPLAINT,
    TOPIC_DELIVERY,
    TOPIC_OTHER,
    TOPIC_PRODUCT,
    triage,
)


@pytest.mark.parametrize(
    ("body", "topic"),
    [
        ("Where is my order? Tracking FDX123456789 hasn't arrived", TOPIC_DELIVERY),
        ("Do you have the Nike Air Max in a size 10.5?", TOPIC_PRODUCT),
        ("I was charged twice for order 1003, please fix", TOPIC_BILLING),
        ("The sole came off after two runs, they are defective", TOPIC_COMPLAINT),
        ("What's your opinion on the election?", TOPIC_OTHER),
    ],
)
def test_clear_requests_get_their_topic(body: str, topic: str) -> None:
    assert triage("", body, []).topic == topic


@pytest.mark.parametrize(
    "body",
    [
        "My shoe split and I twisted my ankle badly",
        "I will be contacting my lawyer about this",
        "I need them before my race tomorrow, it cannot wait",
    ],
)
def test_hard_urgency_signals_make_the_email_urgent(body: str) -> None:
    verdict = triage("", body, [])
    assert verdict.urgent
    assert verdict.urgency_reason


def test_thank_you_note_needs_no_reply() -> None:
    verdict = triage("Re: your parcel", "Thanks, all sorted!", [])
    assert not verdict.reply_needed
    assert not verdict.urgent


def test_short_follow_up_takes_its_topic_from_the_case_history() -> None:
    verdict = triage(
        "Re: late", "still nothing!!", ["Where is my parcel: my parcel FDX123456789 is late"]
    )
    assert verdict.topic == TOPIC_DELIVERY


def test_two_strong_requests_are_flagged_as_several() -> None:
    verdict = triage(
        "", "I was charged twice for my order, and also the shoes arrived damaged and torn.", []
    )
    assert verdict.topic == TOPIC_OTHER
    assert len(verdict.requests) == 2
