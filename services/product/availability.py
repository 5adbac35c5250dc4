"""Whether a product can be had, and when: stock on hand first, then supplier deliveries.

`today` is always a parameter (the shop's date, pinned in tests and demos), never read
from the clock here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import Enum

PENDING = "pending"


class Status(Enum):
    """Summary of a product's availability."""

    IN_STOCK = "in_stock"
    INCOMING = "incoming"
    INCOMING_DELAYED = "incoming_delayed"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class Delivery:
    """A supplier delivery to the warehouse, as recorded."""

    quantity: int
    expected_date: date
    supplier: str
    status: str = PENDING
    received_date: date | None = None

    @property
    def pending(self) -> bool:
        """Still on its way: marked pending and not received."""
        return self.status.strip().lower() == PENDING and self.received_date is None


@dataclass(frozen=True)
class Availability:
    """A product's stock, status and pending deliveries (earliest first)."""

    quantity_on_hand: int
    status: Status
    incoming: tuple[Delivery, ...]


def availability_of(
    quantity_on_hand: int, deliveries: Iterable[Delivery], today: date
) -> Availability:
    """The availability rule.

    - stock on hand > 0: IN_STOCK;
    - else a pending delivery expected today or later: INCOMING;
    - else pending deliveries, all expected before today: INCOMING_DELAYED;
    - else UNAVAILABLE.

    Received or cancelled deliveries never count. `incoming` lists every pending delivery,
    earliest expected first, whatever the status.
    """
    incoming = tuple(
        sorted(
            (d for d in deliveries if d.pending),
            key=lambda d: (d.expected_date, d.supplier, d.quantity),
        )
    )
    on_hand = max(quantity_on_hand, 0)
    if on_hand > 0:
        status = Status.IN_STOCK
    elif any(d.expected_date >= today for d in incoming):
        status = Status.INCOMING
    elif incoming:
        status = Status.INCOMING_DELAYED
    else:
        status = Status.UNAVAILABLE
    return Availability(quantity_on_hand=on_hand, status=status, incoming=incoming)
