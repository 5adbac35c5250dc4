"""The billing-dispute rule: what an order owes, what was charged, and the refund that
puts it right.

Pure: records in, a finding out. An order owes its active lines (quantity times unit
price) plus its delivery fee. It was charged the sum of its captured charges, less what
has already been refunded (pending or completed). When it was charged more than it owes,
the refund proposed is exactly the difference, never more than the net amount charged.
When the records show no overcharge, nothing is refunded and the dispute goes to a
person with the evidence (`review_reason`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from services.delivery.actions import ActionKind, ProposedAction, idempotency_key

_CENTS = Decimal("0.01")


@dataclass(frozen=True)
class OrderLine:
    """One line of an order."""

    product_name: str
    quantity: int
    unit_price: Decimal
    cancelled: bool


@dataclass(frozen=True)
class Charge:
    """One payment taken (or voided) on an order."""

    charge_id: int
    amount: Decimal
    charged_on: date
    captured: bool


@dataclass(frozen=True)
class Refund:
    """One refund on an order."""

    amount: Decimal
    status: str  # pending, completed or failed
    requested_on: date
    completed_on: date | None
    reason: str


@dataclass(frozen=True)
class OrderRecords:
    """Everything the ledger knows about the money of one order."""

    order_id: int
    delivery_fee: Decimal
    currency: str
    lines: Sequence[OrderLine]
    charges: Sequence[Charge]
    refunds: Sequence[Refund]


@dataclass(frozen=True)
class Finding:
    """What the records say about an order's charges."""

    order_id: int
    owed: Decimal
    charged: Decimal
    refunded: Decimal
    overcharge: Decimal
    # Plain-language evidence, for the reviewer and the reply.
    evidence: tuple[str, ...]

    @property
    def supported(self) -> bool:
        """True when the records show the customer paid more than the order owes."""
        return self.overcharge > 0


def _cents(value: Decimal) -> Decimal:
    return value.quantize(_CENTS, ROUND_HALF_UP)


def owed(order: OrderRecords) -> Decimal:
    """Active lines plus the delivery fee."""
    lines = sum(
        (line.unit_price * line.quantity for line in order.lines if not line.cancelled), Decimal(0)
    )
    return _cents(lines + order.delivery_fee)


def charged(order: OrderRecords) -> Decimal:
    """The captured charges (a voided authorisation took no money)."""
    return _cents(sum((c.amount for c in order.charges if c.captured), Decimal(0)))


def refunded(order: OrderRecords) -> Decimal:
    """Refunds already completed or on their way (failed ones gave nothing back)."""
    return _cents(sum((r.amount for r in order.refunds if r.status != "failed"), Decimal(0)))


def examine(order: OrderRecords) -> Finding:
    """Compares what was charged with what the order owes, with the evidence."""
    due, paid, back = owed(order), charged(order), refunded(order)
    net = paid - back
    overcharge = max(Decimal("0.00"), min(net - due, net))
    evidence: list[str] = [
        f"order {order.order_id} owes {due} {order.currency} (active lines plus the "
        f"{_cents(order.delivery_fee)} delivery fee); captured charges total {paid}, "
        f"refunds {back}"
    ]
    captured = [c for c in order.charges if c.captured]
    amounts = [c.amount for c in captured]
    if len(set(amounts)) < len(amounts):
        evidence.append("the same amount was captured more than once (a double charge)")
    for line in order.lines:
        if line.cancelled:
            evidence.append(
                f"the line {line.quantity} x {line.product_name or 'item'} at {line.unit_price} "
                f"was cancelled"
            )
    if overcharge <= 0:
        evidence.append("the records show no overcharge")
    return Finding(order.order_id, due, paid, back, _cents(overcharge), tuple(evidence))


def refund_action(job_id: str, finding: Finding, currency: str) -> ProposedAction | None:
    """The refund of the overcharge the finding shows, with its evidence as the rationale;
    None when the records show no overcharge (the claim is not supported)."""
    if not finding.supported:
        return None
    target = str(finding.order_id)
    return ProposedAction(
        kind=ActionKind.CHARGE_REFUND,
        target=target,
        amount=finding.overcharge,
        currency=currency,
        idempotency_key=idempotency_key(job_id, ActionKind.CHARGE_REFUND, target),
        rationale="; ".join(finding.evidence)
        + f"; refund the difference, {finding.overcharge} {currency}.",
    )


def review_reason(findings: Iterable[Finding]) -> str:
    """Why a person must decide, in plain words: the evidence of every order whose records
    do not show the overcharge claimed; "" when every order's claim is supported."""
    unsupported = [f for f in findings if not f.supported]
    if not unsupported:
        return ""
    return "the records do not support the billing claim: " + "; ".join(
        e for f in unsupported for e in f.evidence
    )
