"""The late-delivery policy: how late a shipment is and which actions that earns.

Pure: data in, data out. `today` is always a parameter (the caller decides what today
is), so every rule can be tested at its boundaries with a pinned date. Nothing here
executes anything: the actions are proposals a person approves.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from services.delivery.actions import ActionKind, ProposedAction, idempotency_key

# Share of the order's delivery fee refunded per calendar day late (capped at the fee).
REFUND_SHARE_PER_DAY = Decimal("0.25")
# A late shipment earns an expedited-delivery coupon when another shipment of the same
# customer was late with its window ending within this many days before today.
COUPON_LOOKBACK_DAYS = 60
# How long an issued coupon stays valid.
COUPON_VALIDITY_MONTHS = 3
# A parcel not yet delivered and more than this many days late, with no carrier scan since
# its window ended, earns a request to the carrier for an update.
CARRIER_SILENCE_DAYS_LATE = 2

_CENTS = Decimal("0.01")


class ShipmentStatus(StrEnum):
    """Where a shipment is, as stored in the ledger."""

    PROCESSING = "processing"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Shipment:
    """One shipment of a customer, with the delivery fee paid on its order."""

    delivery_id: int
    order_id: int
    tracking_number: str
    carrier: str
    status: ShipmentStatus
    expected_start: date
    expected_end: date
    delivered_on: date | None = None
    product_name: str = ""
    # None when the order is unknown; Decimal("0.00") for free shipping.
    delivery_fee: Decimal | None = None
    currency: str = "USD"
    # The carrier's latest scan, and the latest delay reason it gave ("" when none).
    last_scan_on: date | None = None
    delay_reason: str = ""
    # Delivery-fee refunds already recorded for the order (pending or completed).
    fee_refunded: Decimal = Decimal("0.00")


@dataclass(frozen=True)
class Assessment:
    """A shipment, how many days late it is, what the policy proposes for it, and whether
    the customer must confirm the delivery address."""

    shipment: Shipment
    days_late: int
    actions: tuple[ProposedAction, ...]
    address_to_confirm: bool = False


# The carrier's reason for holding a parcel names the address when the address is the
# problem ("the delivery address could not be verified", "incorrect address",
# "undeliverable as addressed"); every other reason names its own cause (weather, volume,
# a hub, a label). The carriers' feeds give no exception code, so the reason's wording is
# the fact.
_ADDRESS_WORD = re.compile(r"\baddress", re.IGNORECASE)


def address_to_confirm(shipment: Shipment) -> bool:
    """True when the carrier holds a parcel that has neither arrived nor been cancelled
    over its delivery address: the customer is asked to confirm the address."""
    if shipment.status in (ShipmentStatus.DELIVERED, ShipmentStatus.CANCELLED):
        return False
    return bool(_ADDRESS_WORD.search(shipment.delay_reason))


def days_late(shipment: Shipment, today: date) -> int:
    """Calendar days past the last day of the expected window, up to the delivery date,
    or up to `today` while the parcel has not arrived (exceptions included).

    A cancelled shipment is never late. The last day of the window is still on time.
    """
    if shipment.status is ShipmentStatus.CANCELLED:
        return 0
    until = shipment.delivered_on or today
    return max(0, (until - shipment.expected_end).days)


def fee_refund(
    delivery_fee: Decimal | None, late_days: int, already_refunded: Decimal = Decimal("0.00")
) -> Decimal:
    """REFUND_SHARE_PER_DAY of the fee per day late, in cents, never more than the fee,
    less what was already refunded of the fee (so the refunds together never exceed it).

    Zero when the shipment is not late, the order had no delivery fee, or the fee has
    already been refunded as far as the days late allow.
    """
    if delivery_fee is None or delivery_fee <= 0 or late_days <= 0:
        return Decimal("0.00")
    amount = (delivery_fee * REFUND_SHARE_PER_DAY * late_days).quantize(_CENTS, ROUND_HALF_UP)
    # Compared after rounding so that rounding up can never exceed the fee.
    due = min(amount, delivery_fee.quantize(_CENTS, ROUND_HALF_UP))
    return max(Decimal("0.00"), due - already_refunded)


def coupon_lookback_start(today: date) -> date:
    """The earliest window end of another late shipment that still earns a coupon."""
    return today - timedelta(days=COUPON_LOOKBACK_DAYS)


def coupon_expiry(issued_on: date) -> date:
    """The day a coupon issued on `issued_on` expires: COUPON_VALIDITY_MONTHS later,
    on the last day of the month when that month is shorter (31 Jan -> 30 Apr)."""
    months = issued_on.month - 1 + COUPON_VALIDITY_MONTHS
    year, month = issued_on.year + months // 12, months % 12 + 1
    return date(year, month, min(issued_on.day, calendar.monthrange(year, month)[1]))


def recent_late_sibling(
    shipment: Shipment, customer_shipments: Iterable[Shipment], today: date
) -> Shipment | None:
    """Another shipment of the customer that was late with its window ending within
    COUPON_LOOKBACK_DAYS before today; the most recent one, or None."""
    since = coupon_lookback_start(today)
    candidates = [
        other
        for other in customer_shipments
        if other.delivery_id != shipment.delivery_id
        and since <= other.expected_end <= today
        and days_late(other, today) > 0
    ]
    return max(candidates, key=lambda s: (s.expected_end, s.delivery_id), default=None)


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount.quantize(_CENTS, ROUND_HALF_UP)} {currency}"


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _refund_action(
    job_id: str, shipment: Shipment, late_days: int, today: date
) -> ProposedAction | None:
    amount = fee_refund(shipment.delivery_fee, late_days, shipment.fee_refunded)
    if amount <= 0 or shipment.delivery_fee is None:
        return None
    fee = _money(shipment.delivery_fee, shipment.currency)
    rule = (
        f"the policy refunds {REFUND_SHARE_PER_DAY * 100:.0f}% of the {fee} delivery fee "
        f"per day late, at most the whole fee"
    )
    if shipment.fee_refunded > 0:
        rule += f", less the {_money(shipment.fee_refunded, shipment.currency)} already refunded"
    window = f"the promised window ended on {shipment.expected_end.isoformat()}"
    if shipment.delivered_on is not None:
        kind = ActionKind.DELIVERY_FEE_REFUND
        rationale = (
            f"Delivered on {shipment.delivered_on.isoformat()}, {_days(late_days)} late "
            f"({window}); {rule}: {_money(amount, shipment.currency)}."
        )
    else:
        kind = ActionKind.DELIVERY_FEE_REFUND_ON_ARRIVAL
        rationale = (
            f"Not delivered yet (status {shipment.status.value}) and {_days(late_days)} late "
            f"as of {today.isoformat()} ({window}); {rule}: "
            f"{_money(amount, shipment.currency)} as of today, refunded once the parcel "
            f"arrives (the amount grows with each further day, up to the fee)."
        )
    return ProposedAction(
        kind=kind,
        target=shipment.tracking_number,
        amount=amount,
        currency=shipment.currency,
        idempotency_key=idempotency_key(job_id, kind, shipment.tracking_number),
        rationale=rationale,
    )


def _unpriced(job_id: str, kind: ActionKind, shipment: Shipment, rationale: str) -> ProposedAction:
    """An action on a shipment that moves no money (a coupon, a carrier request)."""
    return ProposedAction(
        kind=kind,
        target=shipment.tracking_number,
        amount=None,
        currency=shipment.currency,
        idempotency_key=idempotency_key(job_id, kind, shipment.tracking_number),
        rationale=rationale,
    )


def propose_actions(
    job_id: str,
    shipment: Shipment,
    customer_shipments: Iterable[Shipment],
    coupon_issued: bool,
    today: date,
) -> tuple[ProposedAction, ...]:
    """The actions a shipment earns as of `today`: at most one of each kind; none for a
    shipment without a tracking number (not yet handed to a carrier).

    - delivered late: DELIVERY_FEE_REFUND of the share of the fee for the days late;
    - not arrived and late: DELIVERY_FEE_REFUND_ON_ARRIVAL, the amount as of today;
    - late, another shipment of the customer late recently, and no coupon issued for
      this shipment yet: EXPEDITED_COUPON;
    - not arrived, more than CARRIER_SILENCE_DAYS_LATE days late and no carrier scan since
      the window ended: CARRIER_UPDATE_REQUEST.
    """
    late_days = days_late(shipment, today)
    # Every action is keyed on the carrier's tracking number; an order not yet handed to
    # a carrier has none, and a person decides (`review_reason`).
    if late_days <= 0 or not shipment.tracking_number:
        return ()
    actions: list[ProposedAction] = []
    refund = _refund_action(job_id, shipment, late_days, today)
    if refund is not None:
        actions.append(refund)
    sibling = recent_late_sibling(shipment, customer_shipments, today)
    if sibling is not None and not coupon_issued:
        actions.append(
            _unpriced(
                job_id,
                ActionKind.EXPEDITED_COUPON,
                shipment,
                f"{_days(late_days)} late, and another shipment of the same customer "
                f"(order {sibling.order_id}) was also late, its window ending on "
                f"{sibling.expected_end.isoformat()}, within the last "
                f"{COUPON_LOOKBACK_DAYS} days; no coupon has been issued for this "
                f"shipment yet. The coupon is valid for {COUPON_VALIDITY_MONTHS} months.",
            )
        )
    if needs_carrier_update(shipment, today):
        last = shipment.last_scan_on.isoformat() if shipment.last_scan_on else "never"
        actions.append(
            _unpriced(
                job_id,
                ActionKind.CARRIER_UPDATE_REQUEST,
                shipment,
                f"Not delivered, {_days(late_days)} late, and no carrier scan since the "
                f"window ended on {shipment.expected_end.isoformat()} (last scan: {last}); "
                f"the delivery team asks {shipment.carrier} for an update.",
            )
        )
    return tuple(actions)


def needs_carrier_update(shipment: Shipment, today: date) -> bool:
    """Not delivered, more than CARRIER_SILENCE_DAYS_LATE days late, and the carrier has
    not scanned the parcel since its window ended."""
    if shipment.delivered_on is not None or shipment.status is ShipmentStatus.CANCELLED:
        return False
    if days_late(shipment, today) <= CARRIER_SILENCE_DAYS_LATE:
        return False
    return shipment.last_scan_on is None or shipment.last_scan_on <= shipment.expected_end


def assess(
    job_id: str,
    shipments: Iterable[Shipment],
    customer_shipments: Collection[Shipment],
    coupon_delivery_ids: Collection[int],
    today: date,
) -> list[Assessment]:
    """Assesses the referenced shipments of one customer, in the order given.

    `customer_shipments` are the customer's shipments the coupon rule looks at (the
    referenced ones may be among them); `coupon_delivery_ids` the shipments that
    already have a coupon.
    """
    return [
        Assessment(
            shipment=s,
            days_late=days_late(s, today),
            actions=propose_actions(
                job_id, s, customer_shipments, s.delivery_id in coupon_delivery_ids, today
            ),
            address_to_confirm=address_to_confirm(s),
        )
        for s in shipments
    ]


def review_reason(assessments: Iterable[Assessment]) -> str:
    """Why a person must decide, in plain words: a late order not yet handed to a carrier
    (no tracking number to key a refund, coupon or carrier request on); "" otherwise."""
    unshipped = [a for a in assessments if a.days_late > 0 and not a.shipment.tracking_number]
    if not unshipped:
        return ""
    return "late and not yet handed to a carrier: " + "; ".join(
        f"order {a.shipment.order_id} ({a.shipment.product_name or 'item'}, status "
        f"{a.shipment.status.value}) is {_days(a.days_late)} past its delivery window ending "
        f"{a.shipment.expected_end.isoformat()}"
        for a in unshipped
    )
