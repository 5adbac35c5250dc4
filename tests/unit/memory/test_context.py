"""A case's context: summaries within a token budget, the case's facts, topic counts."""

from __future__ import annotations

from services.memory.context import (
    Remembered,
    case_context,
    facts_in_text,
    merged,
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
