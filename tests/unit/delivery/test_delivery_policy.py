"""The late-delivery policy at its boundaries, with `today` pinned."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from services.delivery.actions import ActionKind, ProposedAction, idempotency_key
from services.delivery.policy import (
    CARRIER_SILENCE_DAYS_LATE,
    COUPON_LOOKBACK_DAYS,
    Shipment,
    ShipmentStatus,
    address_to_confirm,
    assess,
    coupon_expiry,
    days_late,
    fee_refund,
    needs_carrier_update,
    propose_actions,
    recent_late_sibling,
    review_reason,
)

TODAY = date(2026, 1, 29)
JOB = "job-1"


def shipment(
    *,
    delivery_id: int = 1,
    status: ShipmentStatus = ShipmentStatus.IN_TRANSIT,
    end: date = TODAY,
    delivered_on: date | None = None,
    fee: Decimal | None = Decimal("8.00"),
    tracking_number: str | None = None,
) -> Shipment:
    """A shipment whose window is the three days ending on `end`."""
    return Shipment(
        delivery_id=delivery_id,
        order_id=1000 + delivery_id,
        tracking_number=tracking_number or f"FDX{delivery_id:09d}",
        carrier="FedEx",
        status=status,
        expected_start=end - timedelta(days=2),
        expected_end=end,
        delivered_on=delivered_on,
        product_name="Nike Air Max",
        delivery_fee=fee,
        currency="USD",
    )


def delivered(
    end: date, on: date, *, delivery_id: int = 1, fee: Decimal | None = Decimal("8.00")
) -> Shipment:
    """A shipment delivered on `on`, its window ending on `end`."""
    return replace(
        shipment(delivery_id=delivery_id, end=end, fee=fee),
        status=ShipmentStatus.DELIVERED,
        delivered_on=on,
    )


def kinds(actions: Iterable[ProposedAction]) -> list[ActionKind]:
    return [a.kind for a in actions]


# --- days late ---------------------------------------------------------------------------


def test_delivery_before_the_window_end_is_zero_days_late() -> None:
    assert days_late(delivered(TODAY - timedelta(days=5), TODAY - timedelta(days=7)), TODAY) == 0


def test_delivery_on_the_last_day_of_the_window_is_not_late() -> None:
    end = TODAY - timedelta(days=5)
    assert days_late(delivered(end, end), TODAY) == 0


def test_delivery_one_day_after_the_window_is_one_day_late() -> None:
    end = TODAY - timedelta(days=5)
    assert days_late(delivered(end, end + timedelta(days=1)), TODAY) == 1


def test_delivered_lateness_counts_up_to_the_delivery_date_not_today() -> None:
    end = TODAY - timedelta(days=30)
    assert days_late(delivered(end, end + timedelta(days=3)), TODAY) == 3


def test_parcel_in_transit_whose_window_ends_today_is_not_late() -> None:
    assert days_late(shipment(end=TODAY), TODAY) == 0


def test_parcel_in_transit_counts_days_late_up_to_today() -> None:
    assert days_late(shipment(end=TODAY - timedelta(days=3)), TODAY) == 3


@pytest.mark.parametrize(
    "status",
    [ShipmentStatus.EXCEPTION, ShipmentStatus.OUT_FOR_DELIVERY, ShipmentStatus.PROCESSING],
)
def test_every_undelivered_status_counts_up_to_today(status: ShipmentStatus) -> None:
    assert days_late(shipment(status=status, end=TODAY - timedelta(days=2)), TODAY) == 2


def test_cancelled_shipment_is_never_late_even_long_after_its_window() -> None:
    s = shipment(status=ShipmentStatus.CANCELLED, end=TODAY - timedelta(days=40))
    assert days_late(s, TODAY) == 0
    assert propose_actions(JOB, s, [], False, TODAY) == ()


# --- refund amount -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("late", "expected"),
    [(0, "0.00"), (1, "2.00"), (2, "4.00"), (3, "6.00"), (4, "8.00"), (5, "8.00"), (30, "8.00")],
)
def test_refund_is_a_quarter_of_the_fee_per_day_late_capped_at_the_fee(
    late: int, expected: str
) -> None:
    assert fee_refund(Decimal("8.00"), late) == Decimal(expected)


@pytest.mark.parametrize(
    ("fee", "late", "expected"),
    [("4.99", 1, "1.25"), ("7.99", 3, "5.99"), ("11.99", 2, "6.00"), ("14.99", 6, "14.99")],
)
def test_refund_is_rounded_half_up_to_cents(fee: str, late: int, expected: str) -> None:
    assert fee_refund(Decimal(fee), late) == Decimal(expected)


def test_refund_never_exceeds_the_fee_for_any_fee_and_lateness() -> None:
    for cents in range(0, 2000, 7):
        fee = Decimal(cents) / 100
        for late in range(0, 10):
            amount = fee_refund(fee, late)
            assert Decimal("0") <= amount <= fee
            assert amount == amount.quantize(Decimal("0.01"))


@pytest.mark.parametrize("fee", [Decimal("0.00"), None])
def test_no_delivery_fee_means_no_refund(fee: Decimal | None) -> None:
    assert fee_refund(fee, 3) == Decimal("0.00")
    s = delivered(TODAY - timedelta(days=10), TODAY - timedelta(days=7), fee=fee)
    assert propose_actions(JOB, s, [], False, TODAY) == ()


# --- proposed refunds --------------------------------------------------------------------


def test_delivered_late_proposes_a_delivery_fee_refund_for_the_days_late() -> None:
    s = delivered(TODAY - timedelta(days=10), TODAY - timedelta(days=7))
    (action,) = propose_actions(JOB, s, [s], False, TODAY)
    assert action.kind is ActionKind.DELIVERY_FEE_REFUND
    assert action.amount == Decimal("6.00")
    assert action.target == s.tracking_number
    assert action.currency == "USD"
    assert "3 days late" in action.rationale and "6.00 USD" in action.rationale


def test_late_parcel_still_in_transit_proposes_a_refund_on_arrival_as_of_today() -> None:
    s = shipment(status=ShipmentStatus.EXCEPTION, end=TODAY - timedelta(days=1))
    (action,) = propose_actions(JOB, s, [s], False, TODAY)
    assert action.kind is ActionKind.DELIVERY_FEE_REFUND_ON_ARRIVAL
    assert action.amount == Decimal("2.00")
    assert TODAY.isoformat() in action.rationale


def test_on_time_shipment_proposes_nothing() -> None:
    end = TODAY - timedelta(days=3)
    assert propose_actions(JOB, delivered(end, end), [], False, TODAY) == ()
    assert propose_actions(JOB, shipment(end=TODAY), [], False, TODAY) == ()


# --- expedited coupon --------------------------------------------------------------------


def late_sibling(window_ended_days_ago: int) -> Shipment:
    end = TODAY - timedelta(days=window_ended_days_ago)
    return delivered(end, end + timedelta(days=1), delivery_id=2)


def test_late_shipment_earns_a_coupon_when_another_was_late_exactly_60_days_ago() -> None:
    s = shipment(end=TODAY - timedelta(days=2))
    actions = propose_actions(JOB, s, [s, late_sibling(COUPON_LOOKBACK_DAYS)], False, TODAY)
    assert kinds(actions) == [
        ActionKind.DELIVERY_FEE_REFUND_ON_ARRIVAL,
        ActionKind.EXPEDITED_COUPON,
    ]
    coupon = actions[1]
    assert coupon.amount is None and coupon.target == s.tracking_number


def test_no_coupon_when_the_other_late_window_ended_61_days_ago() -> None:
    s = shipment(end=TODAY - timedelta(days=2))
    actions = propose_actions(JOB, s, [s, late_sibling(COUPON_LOOKBACK_DAYS + 1)], False, TODAY)
    assert kinds(actions) == [ActionKind.DELIVERY_FEE_REFUND_ON_ARRIVAL]


def test_no_coupon_when_one_was_already_issued_for_this_shipment() -> None:
    s = shipment(end=TODAY - timedelta(days=2))
    actions = propose_actions(JOB, s, [s, late_sibling(10)], True, TODAY)
    assert ActionKind.EXPEDITED_COUPON not in kinds(actions)


def test_no_coupon_when_this_shipment_is_not_late() -> None:
    s = shipment(end=TODAY)
    assert propose_actions(JOB, s, [s, late_sibling(10)], False, TODAY) == ()


def test_the_shipment_itself_does_not_count_as_the_other_late_delivery() -> None:
    s = shipment(end=TODAY - timedelta(days=2))
    assert recent_late_sibling(s, [s], TODAY) is None


def test_an_on_time_or_cancelled_other_shipment_earns_no_coupon() -> None:
    s = shipment(end=TODAY - timedelta(days=2))
    end = TODAY - timedelta(days=10)
    on_time = delivered(end, end, delivery_id=2)
    cancelled = shipment(delivery_id=3, status=ShipmentStatus.CANCELLED, end=end)
    assert recent_late_sibling(s, [s, on_time, cancelled], TODAY) is None


def test_a_coupon_earned_with_zero_fee_comes_without_a_refund() -> None:
    s = shipment(end=TODAY - timedelta(days=2), fee=Decimal("0.00"))
    assert kinds(propose_actions(JOB, s, [s, late_sibling(5)], False, TODAY)) == [
        ActionKind.EXPEDITED_COUPON
    ]


def test_two_late_parcels_in_one_email_each_count_as_the_others_late_delivery() -> None:
    a = shipment(delivery_id=1, end=TODAY - timedelta(days=2))
    b = shipment(delivery_id=2, end=TODAY - timedelta(days=3))
    result = assess(JOB, [a, b], [a, b], coupon_delivery_ids={2}, today=TODAY)
    assert [r.shipment.delivery_id for r in result] == [1, 2]
    assert [r.days_late for r in result] == [2, 3]
    assert ActionKind.EXPEDITED_COUPON in kinds(result[0].actions)
    assert ActionKind.EXPEDITED_COUPON not in kinds(result[1].actions)  # already has one


@pytest.mark.parametrize(
    ("issued", "expires"),
    [
        (date(2026, 1, 24), date(2026, 4, 24)),
        (date(2026, 1, 31), date(2026, 4, 30)),
        (date(2025, 11, 30), date(2026, 2, 28)),
    ],
)
def test_coupon_expires_three_months_after_issue_clamped_to_month_end(
    issued: date, expires: date
) -> None:
    assert coupon_expiry(issued) == expires


# --- idempotency keys --------------------------------------------------------------------


def test_idempotency_key_is_stable_for_the_same_job_action_and_target() -> None:
    key = idempotency_key("job-1", ActionKind.DELIVERY_FEE_REFUND, "FDX123456789")
    assert key == idempotency_key("job-1", ActionKind.DELIVERY_FEE_REFUND, "FDX123456789")
    assert len(key) == 64 and int(key, 16) >= 0


def test_idempotency_keys_differ_across_jobs_action_types_and_targets() -> None:
    keys = {
        idempotency_key("job-1", ActionKind.DELIVERY_FEE_REFUND, "FDX123456789"),
        idempotency_key("job-2", ActionKind.DELIVERY_FEE_REFUND, "FDX123456789"),
        idempotency_key("job-1", ActionKind.EXPEDITED_COUPON, "FDX123456789"),
        idempotency_key("job-1", ActionKind.DELIVERY_FEE_REFUND, "FDX111222333"),
    }
    assert len(keys) == 4


def test_the_same_job_proposes_the_same_keys_when_assessed_again() -> None:
    s = delivered(TODAY - timedelta(days=10), TODAY - timedelta(days=7))
    first = propose_actions("job-1", s, [s, late_sibling(20)], False, TODAY)
    again = propose_actions("job-1", s, [s, late_sibling(20)], False, TODAY)
    other_job = propose_actions("job-2", s, [s, late_sibling(20)], False, TODAY)
    assert [a.idempotency_key for a in first] == [a.idempotency_key for a in again]
    assert not {a.idempotency_key for a in first} & {a.idempotency_key for a in other_job}


@pytest.mark.parametrize(
    ("late", "last_scan", "expected"),
    [
        (CARRIER_SILENCE_DAYS_LATE, None, False),  # exactly 2 days late: not yet
        (CARRIER_SILENCE_DAYS_LATE + 1, None, True),  # 3 days, never scanned
        (CARRIER_SILENCE_DAYS_LATE + 1, 0, True),  # last scan on the window's last day
        (CARRIER_SILENCE_DAYS_LATE + 1, 1, False),  # scanned after the window ended
    ],
)
def test_a_carrier_update_is_requested_only_after_more_than_two_silent_days_late(
    late: int, last_scan: int | None, expected: bool
) -> None:
    end = TODAY - timedelta(days=late)
    s = replace(
        shipment(end=end),
        last_scan_on=None if last_scan is None else end + timedelta(days=last_scan),
    )
    assert needs_carrier_update(s, TODAY) is expected
    kinds = {a.kind for a in propose_actions(JOB, s, [], False, TODAY)}
    assert (ActionKind.CARRIER_UPDATE_REQUEST in kinds) is expected


def test_a_delivered_or_cancelled_parcel_needs_no_carrier_update() -> None:
    end = TODAY - timedelta(days=10)
    delivered = shipment(end=end, status=ShipmentStatus.DELIVERED, delivered_on=TODAY)
    cancelled = shipment(end=end, status=ShipmentStatus.CANCELLED)
    assert not needs_carrier_update(delivered, TODAY)
    assert not needs_carrier_update(cancelled, TODAY)


@pytest.mark.parametrize(
    ("already", "expected"),
    [("0.00", "8.00"), ("2.00", "6.00"), ("8.00", "0.00"), ("9.00", "0.00")],
)
def test_a_fee_refund_already_recorded_is_subtracted_so_refunds_never_exceed_the_fee(
    already: str, expected: str
) -> None:
    assert fee_refund(Decimal("8.00"), 5, Decimal(already)) == Decimal(expected)


def test_a_late_order_not_yet_handed_to_a_carrier_earns_no_action_and_goes_to_a_person() -> None:
    today = TODAY
    unshipped = Shipment(
        delivery_id=30,
        order_id=1030,
        tracking_number="",
        carrier="USPS",
        status=ShipmentStatus.PROCESSING,
        expected_start=date(2026, 1, 24),
        expected_end=date(2026, 1, 26),
        product_name="Asics Gel-Kayano",
        delivery_fee=Decimal("4.99"),
    )
    [assessment] = assess("job-1", [unshipped], [unshipped], set(), today)
    assert assessment.days_late == 3 and assessment.actions == ()
    assert review_reason([assessment]) == (
        "late and not yet handed to a carrier: order 1030 (Asics Gel-Kayano, status "
        "processing) is 3 days past its delivery window ending 2026-01-26"
    )
    on_time = assess("job-1", [unshipped], [], set(), date(2026, 1, 25))
    assert review_reason(on_time) == ""


def _demo_delay_reasons() -> set[str]:
    path = Path(__file__).parents[3] / "crmctl" / "demo" / "data" / "carrier_events.csv"
    with path.open(encoding="utf-8") as f:
        return {row["delay_reason"] for row in csv.DictReader(f) if row["delay_reason"]}


def test_of_the_demo_carriers_reasons_only_the_address_one_asks_to_confirm_the_address() -> None:
    reasons = _demo_delay_reasons()
    assert len(reasons) >= 5
    held = replace(shipment(), status=ShipmentStatus.EXCEPTION)
    asks = {r for r in reasons if address_to_confirm(replace(held, delay_reason=r))}
    assert asks == {"the delivery address could not be verified"}


@pytest.mark.parametrize("status", [ShipmentStatus.DELIVERED, ShipmentStatus.CANCELLED])
def test_a_parcel_delivered_or_cancelled_is_not_held_for_its_address(
    status: ShipmentStatus,
) -> None:
    s = replace(shipment(), status=status, delay_reason="incorrect address")
    assert not address_to_confirm(s)


def test_the_assessment_says_when_the_address_must_be_confirmed() -> None:
    held = replace(shipment(), status=ShipmentStatus.EXCEPTION, delay_reason="incorrect address")
    [assessment] = assess(JOB, [held], [held], set(), TODAY)
    assert assessment.address_to_confirm
