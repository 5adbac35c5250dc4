"""Tier-0 triage with the trained model: hard signals, repeats, follow-ups, several requests."""

from __future__ import annotations

import pytest

from services.classifier import topic_model
from services.classifier.cues import TOPIC_DELIVERY, TOPIC_OTHER, needs_no_reply, urgency
from services.classifier.triage import Triager, customer_messages, model_text


@pytest.fixture(scope="module")
def triager() -> Triager:
    return Triager(topic_model.load())


@pytest.mark.parametrize(
    "body",
    [
        "My shoe split and I twisted my ankle badly",
        "I will be contacting my lawyer about this",
        "I need them before my race tomorrow, it cannot wait",
    ],
)
def test_hard_urgency_signals_are_found_by_the_cues(body: str) -> None:
    assert urgency(body)


@pytest.mark.parametrize(
    "body", ["I'm really disappointed.", "WHERE IS MY ORDER", "This is the fall collection?"]
)
def test_anger_or_capitals_alone_are_not_urgent(body: str) -> None:
    assert not urgency(body)


def test_thank_you_note_needs_no_reply(triager: Triager) -> None:
    verdict = triager.classify("Re: your parcel", "Thanks, all sorted!", [])
    assert not verdict.reply_needed and not verdict.urgent
    assert verdict.topic == TOPIC_OTHER
    assert needs_no_reply("thank you so much!")


def test_short_follow_up_is_read_with_the_last_customer_message() -> None:
    history = [
        "Customer asked where parcel FDX123456789 is; it is late.",
        "Support replied: it is with FedEx.",
    ]
    assert customer_messages(history) == history[:1]
    assert model_text("", "still nothing!!", history).endswith(history[0])
    long_body = "this message is long enough to stand on its own without the case history at all"
    assert model_text("", long_body, history) == long_body


def test_short_follow_up_takes_its_topic_from_the_case(triager: Triager) -> None:
    verdict = triager.classify(
        "Re: late", "still nothing!!", ["Customer asked where parcel FDX123456789 is; it is late."]
    )
    assert verdict.topic == TOPIC_DELIVERY


def test_third_asking_is_not_urgent_but_the_fourth_is(triager: Triager) -> None:
    asks = [
        "Customer asked where parcel FDX486159753 is; it is late.",
        "Customer asked again where the late parcel FDX486159753 is.",
        "Customer says parcel FDX486159753 still has not arrived.",
    ]
    third = triager.classify("", "Where is my parcel FDX486159753?", asks[:2])
    fourth = triager.classify("", "Where is my parcel FDX486159753?", asks)
    assert (third.repeat_count, third.urgent) == (2, False)
    assert (fourth.repeat_count, fourth.urgent) == (3, True)
    assert "4 times" in fourth.urgency_reason


def test_a_product_question_asked_a_fourth_time_is_urgent(triager: Triager) -> None:
    asks = [
        "Customer asked whether the Ultraboost is in stock in size 10.",
        "Customer asked again about the Ultraboost in size 10.",
        "Customer asked a third time whether size 10 Ultraboost is available.",
    ]
    verdict = triager.classify("", "Do you have the Adidas Ultraboost in size 10 or not?", asks)
    assert verdict.topic == "product_availability_or_recommendation"
    assert (verdict.repeat_count, verdict.urgent) == (3, True)


def test_replies_of_the_shop_do_not_count_as_askings(triager: Triager) -> None:
    history = ["Support replied: parcel FDX486159753 is late; refund proposed."] * 5
    assert triager.classify("", "Where is my parcel FDX486159753?", history).repeat_count == 0


def test_two_different_strong_requests_are_flagged(triager: Triager) -> None:
    verdict = triager.classify(
        "", "I was charged twice for my order, and the shoes arrived damaged and torn.", []
    )
    assert verdict.topic == TOPIC_OTHER
    assert len(verdict.requests) == 2
