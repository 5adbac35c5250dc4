"""Which of the customer's shipments a delivery question refers to: by tracking number, by
order number (every shipment of the order), or both. Pure: data in, data out.

Scoping: the ledger hands this module only the authenticated customer's rows (every query
filters by customer, and row-level security returns no other customer's row), so a
number that is another customer's is simply not found here, and is reported exactly like
a number that does not exist.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from crm.v1 import types_pb2
from services.common.identifiers import known_order_numbers, known_tracking_numbers
from services.delivery.policy import Shipment


@dataclass(frozen=True)
class Requested:
    """The numbers a delivery question is looked up by."""

    tracking_numbers: list[str]
    order_ids: list[int]


def requested(
    identifiers: types_pb2.Identifiers,
    known_tracking: Iterable[str] = (),
    known_orders: Iterable[str] = (),
) -> Requested:
    """The e-mail's own tracking and order numbers; when it names none, the case's known
    tracking numbers; when the case knows none either, its known order numbers (a tracking
    number names one parcel, an order number every parcel of the order). Only well-formed
    numbers, each capped (`services.common.identifiers`)."""
    own = Requested(
        known_tracking_numbers(identifiers.tracking_numbers),
        known_order_numbers(identifiers.order_numbers),
    )
    if own.tracking_numbers or own.order_ids:
        return own
    tracking = known_tracking_numbers(known_tracking)
    if tracking:
        return Requested(tracking, [])
    return Requested([], known_order_numbers(known_orders))


@dataclass(frozen=True)
class References:
    """The customer's shipments a question refers to, and what it names that is not there."""

    # Each shipment once: those of the tracking numbers in the order given, then those of
    # the orders (per order, in the ledger's order).
    shipments: list[Shipment]
    # Tracking numbers with no shipment of the customer (unknown or another customer's).
    unmatched_tracking_numbers: list[str]
    # Order numbers with no order of the customer (unknown or another customer's).
    unmatched_order_ids: list[int]
    # The customer's orders among those named that have no shipment at all yet.
    unshipped_order_ids: list[int]


def referenced(
    wanted: Requested, shipments: Sequence[Shipment], customer_order_ids: Collection[int]
) -> References:
    """Matches the requested numbers against the customer's shipments found for them
    (`shipments`) and the customer's orders among the requested ones (`customer_order_ids`).
    Tracking numbers are compared in upper case."""
    by_number: dict[str, list[Shipment]] = {}
    by_order: dict[int, list[Shipment]] = {}
    for s in shipments:
        if s.tracking_number:
            by_number.setdefault(s.tracking_number.upper(), []).append(s)
        by_order.setdefault(s.order_id, []).append(s)
    chosen: dict[int, Shipment] = {}
    for number in wanted.tracking_numbers:
        for s in by_number.get(number.upper(), []):
            chosen.setdefault(s.delivery_id, s)
    for order_id in wanted.order_ids:
        for s in by_order.get(order_id, []):
            chosen.setdefault(s.delivery_id, s)
    return References(
        shipments=list(chosen.values()),
        unmatched_tracking_numbers=[
            n for n in wanted.tracking_numbers if n.upper() not in by_number
        ],
        unmatched_order_ids=[
            n for n in wanted.order_ids if n not in customer_order_ids and n not in by_order
        ],
        unshipped_order_ids=[
            n for n in wanted.order_ids if n in customer_order_ids and n not in by_order
        ],
    )
