"""Whether an approved action may still be carried out."""

from __future__ import annotations

from decimal import Decimal

from services.delivery.actions import ActionKind
from services.delivery.execution import LedgerState, refusal

FEE = LedgerState(found=True, delivery_fee=Decimal("8.00"), fee_refunded=Decimal("0.00"))


def test_a_refund_within_what_is_left_of_the_fee_may_be_credited() -> None:
    assert refusal(ActionKind.DELIVERY_FEE_REFUND, Decimal("8.00"), FEE) == ""


def test_a_refund_beyond_what_is_left_is_refused_as_already_credited() -> None:
    state = LedgerState(found=True, delivery_fee=Decimal("8.00"), fee_refunded=Decimal("6.00"))
    reason = refusal(ActionKind.DELIVERY_FEE_REFUND, Decimal("6.00"), state)
    assert reason.startswith("refund already credited: only 2.00 of the delivery fee")


def test_a_charge_refund_never_exceeds_what_was_taken_less_refunds() -> None:
    state = LedgerState(found=True, charged=Decimal("100.00"), refunded=Decimal("80.00"))
    assert refusal(ActionKind.CHARGE_REFUND, Decimal("20.00"), state) == ""
    assert refusal(ActionKind.CHARGE_REFUND, Decimal("20.01"), state) != ""


def test_a_second_coupon_for_a_shipment_is_refused() -> None:
    state = LedgerState(found=True, coupon_issued=True)
    assert refusal(ActionKind.EXPEDITED_COUPON, None, state) == (
        "a coupon was already issued for this shipment"
    )


def test_a_target_not_on_the_customers_account_is_refused() -> None:
    assert refusal(ActionKind.CARRIER_UPDATE_REQUEST, None, LedgerState(found=False)) != ""
    assert refusal(ActionKind.DELIVERY_FEE_REFUND, None, FEE) == (
        "the action has no amount to refund"
    )
