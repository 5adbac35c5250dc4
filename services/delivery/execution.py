"""Whether an approved action may still be carried out. Pure.

A person approved the action some time after it was proposed; meanwhile a refund may have
been credited by another decision or a coupon issued. The action is carried out only if
its precondition still holds; otherwise it is refused with the reason, never repeated.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from services.delivery.actions import ActionKind

_ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ApprovedAction:
    """An action a person approved, as the ledger carries it out."""

    decision_id: str
    kind: ActionKind
    target: str
    amount: Decimal | None
    idempotency_key: str


@dataclass(frozen=True)
class LedgerState:
    """What the ledger says about an action's target right now."""

    found: bool  # the shipment or order belongs to the customer
    delivery_fee: Decimal = _ZERO  # of the shipment's order
    fee_refunded: Decimal = _ZERO  # delivery-fee refunds not failed
    charged: Decimal = _ZERO  # captured charges of the order
    refunded: Decimal = _ZERO  # every refund of the order not failed
    coupon_issued: bool = False  # for the shipment


def refusal(kind: ActionKind, amount: Decimal | None, state: LedgerState) -> str:
    """Why the action can no longer be carried out; "" when it can."""
    if not state.found:
        return "no such shipment or order on the customer's account"
    if kind in (
        ActionKind.DELIVERY_FEE_REFUND,
        ActionKind.DELIVERY_FEE_REFUND_ON_ARRIVAL,
        ActionKind.CHARGE_REFUND,
    ):
        if amount is None or amount <= 0:
            return "the action has no amount to refund"
        if kind is ActionKind.CHARGE_REFUND:
            room = state.charged - state.refunded
            what = "of the payments taken"
        else:
            room = state.delivery_fee - state.fee_refunded
            what = "of the delivery fee"
        if amount > room:
            return (
                f"refund already credited: only {max(room, _ZERO)} {what} is left to refund, "
                f"not {amount}"
            )
    if kind is ActionKind.EXPEDITED_COUPON and state.coupon_issued:
        return "a coupon was already issued for this shipment"
    return ""
