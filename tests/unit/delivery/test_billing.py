"""The billing-dispute rule at its boundaries: owed, charged, refunded, the difference."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.delivery.actions import ActionKind, idempotency_key
from services.delivery.billing import (
    Charge,
    OrderLine,
    OrderRecords,
    Refund,
    examine,
    refund_action,
    review_reason,
)

DAY = date(2026, 1, 10)


def order(
    charges: list[str],
    *,
    lines: tuple[tuple[str, bool], ...] = (("100.00", False),),
    fee: str = "5.99",
    refunds: tuple[tuple[str, str], ...] = (),
    voided: tuple[str, ...] = (),
) -> OrderRecords:
    return OrderRecords(
        order_id=1003,
        delivery_fee=Decimal(fee),
        currency="USD",
        lines=[OrderLine("Shoe", 1, Decimal(p), cancelled) for p, cancelled in lines],
        charges=[Charge(i, Decimal(a), DAY, True) for i, a in enumerate(charges)]
        + [Charge(99, Decimal(a), DAY, False) for a in voided],
        refunds=[Refund(Decimal(a), status, DAY, None, "") for a, status in refunds],
    )


def test_a_correct_charge_is_not_an_overcharge() -> None:
    finding = examine(order(["105.99"]))
    assert (finding.owed, finding.charged, finding.overcharge) == (
        Decimal("105.99"), Decimal("105.99"), Decimal("0.00"),
    )  # fmt: skip
    assert not finding.supported
    assert "no overcharge" in finding.evidence[-1]


def test_a_double_charge_refunds_exactly_one_charge() -> None:
    finding = examine(order(["105.99", "105.99"]))
    assert finding.overcharge == Decimal("105.99")
    assert any("double charge" in e for e in finding.evidence)


def test_a_charged_cancelled_line_refunds_that_line() -> None:
    finding = examine(order(["185.99"], lines=(("100.00", False), ("80.00", True))))
    assert finding.owed == Decimal("105.99") and finding.overcharge == Decimal("80.00")


def test_a_refund_already_made_or_pending_is_not_refunded_again() -> None:
    assert examine(order(["125.99"], refunds=(("20.00", "pending"),))).overcharge == 0
    assert examine(order(["125.99"], refunds=(("20.00", "failed"),))).overcharge == Decimal("20.00")


def test_a_voided_authorisation_took_no_money() -> None:
    assert examine(order(["105.99"], voided=("105.99",))).overcharge == 0


def test_the_refund_is_never_more_than_was_charged() -> None:
    # A free order (no lines owed) charged 10: at most the 10 comes back.
    finding = examine(order(["10.00"], lines=(("50.00", True),), fee="0.00"))
    assert finding.overcharge == Decimal("10.00")


def test_an_undercharge_is_no_refund() -> None:
    assert examine(order(["50.00"])).overcharge == 0


# --- the refund proposed and why a person decides -----------------------------------------


def test_a_supported_claim_proposes_a_refund_of_exactly_the_overcharge() -> None:
    finding = examine(order(["105.99", "105.99"]))
    action = refund_action("job-1", finding, "EUR")
    assert action is not None
    assert (action.kind, action.target, action.amount, action.currency, action.resolution) == (
        ActionKind.CHARGE_REFUND, "1003", Decimal("105.99"), "EUR", "",
    )  # fmt: skip
    assert action.idempotency_key == idempotency_key("job-1", ActionKind.CHARGE_REFUND, "1003")
    assert action.rationale == "; ".join(finding.evidence) + (
        "; refund the difference, 105.99 EUR."
    )


def test_an_unsupported_claim_proposes_no_refund() -> None:
    assert refund_action("job-1", examine(order(["105.99"])), "USD") is None


def test_a_person_decides_when_an_orders_records_show_no_overcharge() -> None:
    supported = examine(order(["105.99", "105.99"]))
    unsupported = examine(order(["105.99"]))
    assert review_reason([supported, unsupported]) == (
        "the records do not support the billing claim: " + "; ".join(unsupported.evidence)
    )


def test_the_review_reason_gives_the_evidence_of_every_unsupported_order() -> None:
    first, second = examine(order(["105.99"])), examine(order(["50.00"]))
    assert review_reason([first, second]) == (
        "the records do not support the billing claim: "
        + "; ".join([*first.evidence, *second.evidence])
    )


def test_no_review_is_needed_when_every_claim_is_supported_or_no_order_was_found() -> None:
    assert review_reason([examine(order(["105.99", "105.99"]))]) == ""
    assert review_reason([]) == ""
