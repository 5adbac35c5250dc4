"""The product-complaint rule: the return window at its boundaries, the problem, the
customer's wish, and which item a complaint is about."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from services.delivery.actions import ActionKind, idempotency_key
from services.delivery.returns import (
    REFUND,
    REPLACEMENT,
    RETURN_WINDOW_DAYS,
    DeliveredItem,
    authorisations,
    decide,
    problem_of,
    resolution_wished,
    review_reason,
    which_items,
)

TODAY = date(2026, 1, 29)


def item(order_id: int = 1003, days_ago: int | None = 5, name: str = "Adidas Ultraboost") -> DeliveredItem:  # fmt: skip
    return DeliveredItem(
        order_id=order_id,
        product_name=name,
        tracking_number=f"FDX{order_id:09d}",
        delivered_on=None if days_ago is None else TODAY - timedelta(days=days_ago),
        item_total=Decimal("180.00"),
        currency="USD",
        status="delivered" if days_ago is not None else "in_transit",
    )


@pytest.mark.parametrize(
    ("days_ago", "within"),
    [(0, True), (RETURN_WINDOW_DAYS, True), (RETURN_WINDOW_DAYS + 1, False)],
)
def test_the_return_window_includes_its_last_day(days_ago: int, within: bool) -> None:
    assert decide(item(days_ago=days_ago), TODAY).within_window is within


def test_an_item_not_delivered_cannot_be_returned() -> None:
    decision = decide(item(days_ago=None), TODAY)
    assert not decision.within_window and "not been delivered" in decision.reason


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("You sent me the wrong size, I ordered a 10", "wrong_item"),
        ("the box was crushed and the shoes are scuffed", "damaged"),
        ("the sole came off after two runs", "defective"),
        ("they look nothing like the photo, not as described", "not_as_described"),
        ("Die Schuhe sind kaputt", "defective"),
    ],
)
def test_the_problem_is_read_from_the_complaint(text: str, problem: str) -> None:
    assert problem_of(text) == problem


def test_the_customer_wish_decides_refund_or_replacement() -> None:
    assert resolution_wished("I want my money back") == REFUND
    assert resolution_wished("Please send a replacement pair") == REPLACEMENT
    assert resolution_wished("The sole came off") == REPLACEMENT


def test_the_item_is_found_by_order_then_by_product_name_then_as_the_only_recent_one() -> None:
    items = [item(1003, 5, "Adidas Ultraboost"), item(1007, 40, "Nike Air Max")]
    assert which_items("order 1007 is broken", items, [1007], [], TODAY) == [items[1]]
    assert which_items("my Air Max fell apart", items, [], [], TODAY) == [items[1]]
    assert which_items("the shoes fell apart", items, [], [], TODAY) == [items[0]]
    two_recent = [item(1003, 5), item(1008, 6, "Vans Old Skool")]
    assert which_items("the shoes fell apart", two_recent, [], [], TODAY) == []


@pytest.mark.parametrize(
    ("text", "wished"),
    [
        ("I'd prefer a refund over a replacement", "refund"),
        ("I want a replacement, not a refund", "replacement"),
        ("no refund needed, just send another pair", "replacement"),
        ("a refund rather than a new pair please", "refund"),
    ],
)
def test_the_wish_the_customer_sets_aside_does_not_count(text: str, wished: str) -> None:
    assert resolution_wished(text) == wished


def test_money_back_in_other_languages_is_a_refund_wish() -> None:
    assert resolution_wished("Quero o meu dinheiro de volta.") == REFUND
    assert resolution_wished("Ich will mein Geld zurück") == REFUND


# --- the return proposed and why a person decides -----------------------------------------


def test_a_return_is_authorised_once_per_order_for_its_first_item_within_the_window() -> None:
    items = [
        item(1003, 40, "Nike Air Max"),  # past the window: no return
        item(1003, 5, "Adidas Ultraboost"),
        item(1003, 6, "Vans Old Skool"),  # same order: no second return
        item(1007, 10, "Puma Suede"),
    ]
    actions = authorisations("job-1", [decide(i, TODAY) for i in items], "wrong_item", REPLACEMENT)
    assert [(a.kind, a.target) for a in actions] == [
        (ActionKind.RETURN_AUTHORISATION, "1003"),
        (ActionKind.RETURN_AUTHORISATION, "1007"),
    ]
    assert actions[0].rationale == (
        "wrong item Adidas Ultraboost (delivered 5 days ago, within the 30-day window); "
        "return with replacement"
    )
    assert actions[0].idempotency_key == idempotency_key(
        "job-1", ActionKind.RETURN_AUTHORISATION, "1003"
    )


def test_a_refund_return_carries_the_item_total_and_a_replacement_no_amount() -> None:
    decisions = [decide(item(1003, 5), TODAY)]
    (refund,) = authorisations("job-1", decisions, "defective", REFUND)
    (replacement,) = authorisations("job-1", decisions, "defective", REPLACEMENT)
    assert (refund.resolution, refund.amount, refund.currency) == (REFUND, Decimal("180.00"), "USD")
    assert (replacement.resolution, replacement.amount) == (REPLACEMENT, None)
    assert refund.idempotency_key == replacement.idempotency_key  # same job, order and kind


def test_no_return_is_authorised_outside_the_window_or_before_delivery() -> None:
    decisions = [decide(item(1003, RETURN_WINDOW_DAYS + 1), TODAY), decide(item(1004, None), TODAY)]
    assert authorisations("job-1", decisions, "defective", REFUND) == ()


def test_a_person_decides_for_items_past_the_window_or_not_delivered() -> None:
    decisions = [
        decide(item(1003, 5, "Adidas Ultraboost"), TODAY),
        decide(item(1004, 31, "Puma Suede"), TODAY),
        decide(item(1005, None, "Vans Old Skool"), TODAY),
    ]
    assert review_reason(decisions) == (
        "complaint outside the return policy: order 1004 (Puma Suede) delivered 31 days ago, "
        "on 2025-12-29, so its 30-day return window ended on 2026-01-28; "
        "order 1005 (Vans Old Skool) not delivered"
    )


def test_no_review_is_needed_when_every_item_is_within_the_window() -> None:
    assert review_reason([decide(item(1003, RETURN_WINDOW_DAYS), TODAY)]) == ""
    assert review_reason([]) == ""
