"""The grounding check rejects any amount, date, number or product not in the facts."""

from __future__ import annotations

from services.orchestrator.grounding import check

FACTS = [
    "Tracking number FDX486159753 (FedEx, Nike Air Max): 2 days past the window "
    "(January 25 to January 27). When it arrives, we will refund $6.00 of the fee.",
]


def test_a_rephrasing_of_the_same_facts_is_grounded() -> None:
    reply = (
        "Sorry! Your Nike Air Max (FDX486159753) is two days late; its window closed on "
        "January 27. Once it arrives we'll refund $6.00 of your delivery fee."
    )
    assert check(reply, FACTS, ["Nike Air Max", "Adidas Ultraboost"]).grounded


def test_an_invented_amount_date_number_or_product_is_rejected() -> None:
    verdict = check(
        "We will refund $12.00 by February 3 for order 1099; try the Adidas Ultraboost.",
        FACTS,
        ["Nike Air Max", "Adidas Ultraboost"],
    )
    assert not verdict.grounded
    assert set(verdict.unsupported) == {
        "amount 12.00", "date february 3", "number 1099", "product Adidas Ultraboost",
    }  # fmt: skip


def test_another_tracking_number_is_rejected() -> None:
    assert not check("Parcel UPS987654321 is on its way.", FACTS).grounded
