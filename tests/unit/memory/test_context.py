"""A case's context: summaries within a token budget, the case's facts, topic counts."""

from __future__ import annotations

from services.memory.context import (
    Remembered,
    case_context,
    facts_in_text,
    merged,
    open_request,
    promises_in_reply,
)


def _words(text: str) -> int:
    return len(text.split())


def test_the_most_recent_summaries_that_fit_the_budget_are_kept_oldest_first() -> None:
    messages = [Remembered(f"message number {i} here", True) for i in range(10)]
    context = case_context(messages, budget=15, count_tokens=_words)
    # Each summary costs 4 words plus 1 for its line break: three fit in 15.
    assert context.kept == [7, 8, 9]
    assert context.omitted == 7
    assert context.tokens == 15


def test_facts_cover_every_message_also_the_omitted_ones_most_recent_first() -> None:
    messages = [
        Remembered("old", True, "delivery_delay", {"tracking_numbers": ["FDX111222333"]}),
        Remembered("newer", True, "delivery_delay", {"tracking_numbers": ["FDX486159753"]}),
        Remembered("reply", False, "", {"promises": ["We will refund $6.00."]}),
    ]
    context = case_context(messages, budget=1, count_tokens=_words)
    assert context.kept == []
    assert context.facts["tracking_numbers"] == ["FDX486159753", "FDX111222333"]
    assert context.facts["promises"] == ["We will refund $6.00."]
    assert context.topic_counts == {"delivery_delay": 2}


def test_numbers_are_read_from_the_text_of_a_message() -> None:
    facts = facts_in_text("Order #1004: parcel fdx486159753 and 1Z999AA10123456784 are late")
    assert facts["tracking_numbers"] == ["FDX486159753", "1Z999AA10123456784"]
    assert facts["order_numbers"] == ["1004"]
    assert facts_in_text("thanks, all good")["tracking_numbers"] == []


def test_promises_are_the_sentences_that_commit_the_shop() -> None:
    reply = "Sorry for the delay. We will refund $6.00 when it arrives. Kind regards."
    assert promises_in_reply(reply) == ["We will refund $6.00 when it arrives."]


def test_facts_of_several_messages_are_merged_without_repeats() -> None:
    assert merged([{"order_numbers": ["1004"]}, {"order_numbers": ["1004", "1011"]}])[
        "order_numbers"
    ] == ["1004", "1011"]


def test_codes_of_no_carrier_format_are_not_remembered_as_tracking_numbers() -> None:
    # The shared reader knows the carriers' formats: a discount code or a VAT id is no parcel.
    facts = facts_in_text("Use team code RIVERSIDE15; our VAT id is DE123456789. Order 1004.")
    assert facts == {"tracking_numbers": [], "order_numbers": ["1004"]}


def test_the_open_request_is_the_last_customer_message_and_says_if_support_answered() -> None:
    messages = [
        Remembered(
            "where is FDX486159753?", True, "delivery_delay", {"tracking_numbers": ["FDX486159753"]}
        ),
        Remembered("Support: asked the carrier", False),
        Remembered("any news?", True, "delivery_delay", {}),
    ]
    request = open_request(messages)
    assert request is not None
    assert (request.index, request.topic, request.answered) == (2, "delivery_delay", False)
    # The follow-up names no number: the case's latest one is carried.
    assert request.tracking_numbers == ["FDX486159753"]
    answered = open_request(messages[:2])
    assert answered is not None and answered.answered and answered.index == 0


def test_a_case_with_no_customer_message_has_no_open_request() -> None:
    assert open_request([]) is None
    assert open_request([Remembered("Support: hello", False)]) is None


def test_the_open_requests_numbers_come_together_from_one_customer_message() -> None:
    messages = [
        Remembered(
            "charged twice for order 1003", True, "billing_dispute", {"order_numbers": ["1003"]}
        ),
        Remembered(
            "where is UPS159753486?",
            True,
            "delivery_delay",
            {"tracking_numbers": ["UPS159753486", ""]},
        ),
        Remembered("still nothing!", True, "delivery_delay", {}),
    ]
    request = open_request(messages)
    assert request is not None
    # The parcel asked about last, not mixed with the order disputed before it.
    assert (request.tracking_numbers, request.order_numbers) == (["UPS159753486"], [])


def test_the_open_requests_numbers_are_never_taken_from_a_reply() -> None:
    messages = [
        Remembered(
            "charged twice for order 1003", True, "billing_dispute", {"order_numbers": ["1003"]}
        ),
        # A reply may name numbers as examples ("for example order 1004").
        Remembered("Support: please send the order number", False, "", {"order_numbers": ["1004"]}),
        Remembered("any update on the double charge?", True, "billing_dispute", {}),
    ]
    request = open_request(messages)
    assert request is not None and request.order_numbers == ["1003"]
