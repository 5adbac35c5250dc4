"""The demo ledger: consistent with itself and shifted to the day it is loaded."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from crmctl.demo.delivery import REFERENCE_TODAY, demo_ledger


def test_fifteen_customers_with_distinct_email_addresses() -> None:
    customers = demo_ledger(REFERENCE_TODAY).customers
    assert [c.customer_id for c in customers] == list(range(1, 16))
    emails = [c.email.lower() for c in customers]
    assert len(set(emails)) == 15 and all("@" in e for e in emails)


def test_every_shipment_belongs_to_its_orders_customer() -> None:
    ledger = demo_ledger(REFERENCE_TODAY)
    order_customer = {o.order_id: o.customer_id for o in ledger.orders}
    assert all(order_customer[s.order_id] == s.customer_id for s in ledger.shipments)
    assert {c.delivery_id for c in ledger.coupons} <= {s.delivery_id for s in ledger.shipments}


def test_fees_are_realistic_with_a_couple_of_free_shipping_orders() -> None:
    fees = [o.delivery_fee for o in demo_ledger(REFERENCE_TODAY).orders]
    assert sum(f == 0 for f in fees) >= 2
    assert all(f == 0 or Decimal("4.99") <= f <= Decimal("14.99") for f in fees)


def test_tracking_numbers_are_unique_and_delivered_shipments_have_a_date() -> None:
    shipments = demo_ledger(REFERENCE_TODAY).shipments
    numbers = [s.tracking_number.upper() for s in shipments if s.tracking_number]
    assert len(numbers) == len(set(numbers))
    assert all(s.actual_delivery_date for s in shipments if s.status == "delivered")


def test_every_date_moves_by_the_distance_from_the_reference_day() -> None:
    shift = timedelta(days=100)
    base, moved = demo_ledger(REFERENCE_TODAY), demo_ledger(REFERENCE_TODAY + shift)
    pairs = [
        *zip(base.shipments, moved.shipments, strict=True),
        *zip(base.coupons, moved.coupons, strict=True),
    ]
    for before, after in pairs:
        for b, a in zip(before, after, strict=True):
            assert a == (b + shift if isinstance(b, date) else b)
