"""The availability rule: stock first, then pending supplier deliveries relative to today."""

from __future__ import annotations

from datetime import date, timedelta

from services.product.availability import Delivery, Status, availability_of

TODAY = date(2026, 1, 29)
YESTERDAY = TODAY - timedelta(days=1)
TOMORROW = TODAY + timedelta(days=1)


def _pending(expected: date, supplier: str = "Nike Distributor") -> Delivery:
    return Delivery(quantity=10, expected_date=expected, supplier=supplier)


def test_stock_on_hand_is_in_stock_whatever_is_incoming() -> None:
    a = availability_of(1, [_pending(YESTERDAY)], TODAY)
    assert a.status is Status.IN_STOCK
    assert a.quantity_on_hand == 1
    assert [d.expected_date for d in a.incoming] == [YESTERDAY]


def test_a_delivery_expected_today_is_incoming_not_delayed() -> None:
    assert availability_of(0, [_pending(TODAY)], TODAY).status is Status.INCOMING


def test_a_delivery_expected_yesterday_is_delayed() -> None:
    assert availability_of(0, [_pending(YESTERDAY)], TODAY).status is Status.INCOMING_DELAYED


def test_one_future_delivery_makes_it_incoming_even_when_another_is_late() -> None:
    a = availability_of(0, [_pending(TOMORROW, "B"), _pending(YESTERDAY, "A")], TODAY)
    assert a.status is Status.INCOMING
    assert [d.expected_date for d in a.incoming] == [YESTERDAY, TOMORROW]


def test_incoming_deliveries_are_listed_earliest_first() -> None:
    later = TODAY + timedelta(days=20)
    a = availability_of(0, [_pending(later), _pending(TOMORROW), _pending(TODAY)], TODAY)
    assert [d.expected_date for d in a.incoming] == [TODAY, TOMORROW, later]


def test_received_deliveries_are_ignored_even_if_still_marked_pending() -> None:
    received = Delivery(10, TOMORROW, "Nike Distributor", "pending", received_date=YESTERDAY)
    marked_received = Delivery(10, TOMORROW, "Nike Distributor", "received", YESTERDAY)
    a = availability_of(0, [received, marked_received], TODAY)
    assert a.status is Status.UNAVAILABLE
    assert a.incoming == ()


def test_cancelled_deliveries_are_ignored() -> None:
    cancelled = Delivery(10, TOMORROW, "Nike Distributor", "cancelled")
    assert availability_of(0, [cancelled], TODAY).status is Status.UNAVAILABLE


def test_no_stock_and_nothing_pending_is_unavailable() -> None:
    a = availability_of(0, [], TODAY)
    assert a.status is Status.UNAVAILABLE
    assert a.incoming == ()


def test_the_status_depends_on_the_given_today_not_the_clock() -> None:
    deliveries = [_pending(TODAY)]
    assert availability_of(0, deliveries, TODAY).status is Status.INCOMING
    assert availability_of(0, deliveries, TOMORROW).status is Status.INCOMING_DELAYED
