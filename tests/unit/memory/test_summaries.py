"""Tier-0 summaries are short, deterministic and keep what the customer asked."""

from __future__ import annotations

from services.memory.summaries import SUMMARY_MAX_CHARS, summarise_email


def test_summary_keeps_subject_and_first_sentence_without_greeting() -> None:
    s = summarise_email(
        "Late parcel", "Hi there,\nMy parcel FDX123456789 is late. I ordered it weeks ago."
    )
    assert s.startswith("Late parcel: My parcel FDX123456789 is late.")
    assert "Hi there" not in s


def test_summary_is_bounded_for_long_emails() -> None:
    s = summarise_email("x", "word " * 2000)
    assert len(s) <= SUMMARY_MAX_CHARS


def test_summary_of_empty_body_is_the_subject() -> None:
    assert summarise_email("Order 1003", "") == "Order 1003"


def test_summary_is_deterministic() -> None:
    body = "Where is my order? It is late. Please help."
    assert summarise_email("s", body) == summarise_email("s", body)
