"""Which of the customer's shipments a delivery question refers to, by tracking or order
number, and the scoping rule: what is not among the customer's own rows is reported as
unknown, whoever it belongs to."""

from __future__ import annotations

from datetime import date

from crm.v1 import types_pb2
from services.delivery.lookup import Requested, referenced, requested
from services.delivery.policy import Shipment, ShipmentStatus


def _ship(delivery_id: int, order_id: int, tracking: str = "") -> Shipment:
    return Shipment(
        delivery_id=delivery_id,
        order_id=order_id,
        tracking_number=tracking,
        carrier="UPS",
        status=ShipmentStatus.IN_TRANSIT if tracking else ShipmentStatus.PROCESSING,
        expected_start=date(2026, 1, 24),
        expected_end=date(2026, 1, 26),
    )


def _ids(tracking: list[str] | None = None, orders: list[str] | None = None) -> types_pb2.Identifiers:  # fmt: skip
    return types_pb2.Identifiers(tracking_numbers=tracking or [], order_numbers=orders or [])


def test_the_emails_own_numbers_come_first_both_kinds_together() -> None:
    wanted = requested(_ids(["ups 159 753 486"], ["1034"]), ["FDX486159753"], ["1003"])
    assert wanted == Requested(["UPS159753486"], [1034])


def test_an_email_naming_no_number_takes_the_cases_tracking_numbers_then_its_orders() -> None:
    assert requested(_ids(), ["FDX486159753"], ["1003"]) == Requested(["FDX486159753"], [])
    assert requested(_ids(), [], ["1003", "not a number", "1003"]) == Requested([], [1003])
    assert requested(_ids(), [], []) == Requested([], [])


def test_an_order_number_stands_for_every_shipment_of_the_order_each_once() -> None:
    first, second, other = _ship(1, 1034, "UPS159753486"), _ship(2, 1034, "UPS000000002"), _ship(3, 1003, "USPS456789123")  # fmt: skip
    found = referenced(
        Requested(["ups159753486"], [1034, 1003]), [first, second, other], {1034, 1003}
    )
    assert [s.delivery_id for s in found.shipments] == [1, 2, 3]
    assert found.unmatched_tracking_numbers == []
    assert found.unmatched_order_ids == [] and found.unshipped_order_ids == []


def test_an_order_being_prepared_is_found_and_an_order_without_any_shipment_is_said_so() -> None:
    preparing = _ship(30, 1030)
    found = referenced(Requested([], [1030, 1050]), [preparing], {1030, 1050})
    assert found.shipments == [preparing]
    assert found.unshipped_order_ids == [1050]
    assert found.unmatched_order_ids == []


def test_numbers_not_among_the_customers_rows_are_unknown_whoever_owns_them() -> None:
    # The ledger returns only the customer's rows: another customer's order 1001 and
    # tracking number FDX123456789 are simply absent, like numbers that exist nowhere.
    own = _ship(34, 1034, "UPS159753486")
    found = referenced(
        Requested(["FDX123456789", "FDX000000001", "UPS159753486"], [1001, 1999]), [own], set()
    )
    assert found.shipments == [own]
    assert found.unmatched_tracking_numbers == ["FDX123456789", "FDX000000001"]
    assert found.unmatched_order_ids == [1001, 1999]
    assert found.unshipped_order_ids == []
