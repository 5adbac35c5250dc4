"""The fact shapes every reply is rendered from in the reply matrix
(`test_reply_matrix.py`): the services' answers as protobuf messages, modelled on the demo
data (crmctl/demo/data), one per shape of facts a workflow can answer with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from crm.v1 import delivery_pb2, product_pb2, types_pb2
from services.product import declines


def day(text: str) -> Timestamp:
    """A calendar day as the services send it: midnight UTC."""
    ts = Timestamp()
    ts.FromDatetime(datetime.fromisoformat(text).replace(tzinfo=UTC))
    return ts


def usd(amount: str) -> types_pb2.Money:
    return types_pb2.Money(currency_code="USD", amount=amount)


def _action(
    kind: types_pb2.ActionType.ValueType, target: str, amount: str = "", resolution: str = ""
) -> types_pb2.ProposedAction:
    action = types_pb2.ProposedAction(type=kind, target=target, resolution=resolution)
    if amount:
        action.amount.CopyFrom(usd(amount))
    return action


def _shipment(**fields: object) -> delivery_pb2.ShipmentAssessment:
    # Customer 4's FDX486159753 (order 1035): window 25-27 January, still with the carrier.
    base: dict[str, object] = {
        "tracking_number": "FDX486159753",
        "order_id": 1035,
        "carrier": "FedEx",
        "status": delivery_pb2.SHIPMENT_STATUS_IN_TRANSIT,
        "expected_start_time": day("2026-01-25"),
        "expected_end_time": day("2026-01-27"),
        "days_late": 2,
        "delivery_fee": usd("11.99"),
        "product_name": "Nike Pegasus",
        "last_scan_time": day("2026-01-28"),
    }
    base.update(fields)
    return delivery_pb2.ShipmentAssessment(**base)  # type: ignore[arg-type]


def _delivered_late(**fields: object) -> delivery_pb2.ShipmentAssessment:
    # Customer 8's FDX741852963 (order 1011): window 18-20 January, delivered the 26th.
    base: dict[str, object] = {
        "tracking_number": "FDX741852963",
        "order_id": 1011,
        "carrier": "FedEx",
        "status": delivery_pb2.SHIPMENT_STATUS_DELIVERED,
        "expected_start_time": day("2026-01-18"),
        "expected_end_time": day("2026-01-20"),
        "delivered_time": day("2026-01-26"),
        "days_late": 6,
        "delivery_fee": usd("14.99"),
        "product_name": "Brooks Ghost",
        "delay_reason": "higher than usual parcel volume at the sorting centre",
    }
    base.update(fields)
    return _shipment(**base)


def _deliveries(**fields: object) -> delivery_pb2.AssessDeliveriesResponse:
    return delivery_pb2.AssessDeliveriesResponse(**fields)  # type: ignore[arg-type]


def _refund(
    amount: str, status: str, requested: str, completed: str = "", reason: str = ""
) -> delivery_pb2.RefundRecord:
    record = delivery_pb2.RefundRecord(
        amount=usd(amount), status=status, request_time=day(requested), reason=reason
    )
    if completed:
        record.complete_time.CopyFrom(day(completed))
    return record


_FEE_REASON = "delivery fee refund for a late delivery"


def delivery_cases() -> dict[str, delivery_pb2.AssessDeliveriesResponse]:
    late_in_transit = _shipment(delay_reason="snowstorm delays across the region")
    return {
        "late delivered": _deliveries(
            tracking_numbers=["FDX741852963"],
            shipments=[_delivered_late()],
            actions=[_action(types_pb2.ACTION_TYPE_DELIVERY_FEE_REFUND, "FDX741852963", "14.99")],
        ),
        "late in transit": _deliveries(
            tracking_numbers=["FDX486159753"],
            shipments=[late_in_transit],
            actions=[
                _action(
                    types_pb2.ACTION_TYPE_DELIVERY_FEE_REFUND_ON_ARRIVAL, "FDX486159753", "5.99"
                ),
                _action(types_pb2.ACTION_TYPE_EXPEDITED_COUPON, "FDX486159753"),
            ],
        ),
        "late, out for delivery": _deliveries(
            tracking_numbers=["FDX486159753"],
            shipments=[
                _shipment(status=delivery_pb2.SHIPMENT_STATUS_OUT_FOR_DELIVERY, days_late=1)
            ],
            actions=[
                _action(
                    types_pb2.ACTION_TYPE_DELIVERY_FEE_REFUND_ON_ARRIVAL, "FDX486159753", "2.99"
                )
            ],
        ),
        "on time": _deliveries(
            tracking_numbers=["FDX486159753"],
            shipments=[
                _shipment(
                    expected_start_time=day("2026-01-29"),
                    expected_end_time=day("2026-01-31"),
                    days_late=0,
                )
            ],
        ),
        "delivered": _deliveries(
            tracking_numbers=["FDX123456789"],
            shipments=[
                _shipment(
                    tracking_number="FDX123456789",
                    order_id=1001,
                    status=delivery_pb2.SHIPMENT_STATUS_DELIVERED,
                    expected_start_time=day("2026-01-15"),
                    expected_end_time=day("2026-01-17"),
                    delivered_time=day("2026-01-16"),
                    days_late=0,
                    delivery_fee=usd("5.99"),
                    product_name="Nike Air Max",
                )
            ],
        ),
        "cancelled": _deliveries(
            tracking_numbers=["FDX123456789"],
            shipments=[
                _shipment(
                    tracking_number="FDX123456789",
                    order_id=1001,
                    status=delivery_pb2.SHIPMENT_STATUS_CANCELLED,
                    days_late=0,
                )
            ],
        ),
        "not shipped yet": _deliveries(
            order_ids=[1030, 1050],
            shipments=[
                _shipment(
                    tracking_number="",
                    order_id=1030,
                    carrier="USPS",
                    status=delivery_pb2.SHIPMENT_STATUS_PROCESSING,
                    expected_start_time=day("2026-02-04"),
                    expected_end_time=day("2026-02-06"),
                    days_late=0,
                    product_name="",
                )
            ],
            unshipped_order_ids=[1050],
        ),
        "late, not shipped yet": _deliveries(
            order_ids=[1030],
            shipments=[
                _shipment(
                    tracking_number="",
                    order_id=1030,
                    carrier="USPS",
                    status=delivery_pb2.SHIPMENT_STATUS_PROCESSING,
                    days_late=2,
                    product_name="",
                )
            ],
        ),
        "free shipping": _deliveries(
            tracking_numbers=["USPS777888999"],
            shipments=[
                _delivered_late(
                    tracking_number="USPS777888999",
                    order_id=1007,
                    carrier="USPS",
                    expected_start_time=day("2026-01-17"),
                    expected_end_time=day("2026-01-19"),
                    delivered_time=day("2026-01-22"),
                    days_late=3,
                    delivery_fee=usd("0.00"),
                    delay_reason="",
                    product_name="Asics Gel-Kayano",
                )
            ],
        ),
        "already refunded": _deliveries(
            tracking_numbers=["FDX111222333"],
            shipments=[
                _delivered_late(
                    tracking_number="FDX111222333",
                    order_id=1004,
                    expected_start_time=day("2026-01-18"),
                    expected_end_time=day("2026-01-20"),
                    delivered_time=day("2026-01-23"),
                    days_late=3,
                    delivery_fee=usd("9.99"),
                    fee_refunded=usd("5.99"),
                    fee_refunds=[
                        _refund("5.99", "completed", "2026-01-24", "2026-01-26", _FEE_REASON)
                    ],
                    delay_reason="sorting backlog at the regional hub",
                    product_name="Hoka Clifton",
                )
            ],
            actions=[_action(types_pb2.ACTION_TYPE_DELIVERY_FEE_REFUND, "FDX111222333", "1.50")],
        ),
        "already refunded in full": _deliveries(
            tracking_numbers=["FDX741852963"],
            shipments=[
                _delivered_late(
                    fee_refunded=usd("14.99"),
                    fee_refunds=[_refund("14.99", "pending", "2026-01-27", reason=_FEE_REASON)],
                )
            ],
        ),
        "already refunded twice": _deliveries(
            tracking_numbers=["FDX741852963"],
            shipments=[
                _delivered_late(
                    fee_refunded=usd("11.24"),
                    fee_refunds=[
                        _refund("7.49", "completed", "2026-01-22", "2026-01-23", _FEE_REASON),
                        _refund("3.75", "pending", "2026-01-27", reason=_FEE_REASON),
                    ],
                )
            ],
            actions=[_action(types_pb2.ACTION_TYPE_DELIVERY_FEE_REFUND, "FDX741852963", "3.75")],
        ),
        "multiple parcels": _deliveries(
            tracking_numbers=["FDX486159753", "FDX123456789"],
            shipments=[
                late_in_transit,
                _shipment(
                    tracking_number="FDX123456789",
                    order_id=1001,
                    status=delivery_pb2.SHIPMENT_STATUS_DELIVERED,
                    expected_start_time=day("2026-01-15"),
                    expected_end_time=day("2026-01-17"),
                    delivered_time=day("2026-01-16"),
                    days_late=0,
                    product_name="Nike Air Max",
                ),
            ],
            actions=[
                _action(
                    types_pb2.ACTION_TYPE_DELIVERY_FEE_REFUND_ON_ARRIVAL, "FDX486159753", "5.99"
                )
            ],
        ),
        "found by order": _deliveries(
            order_ids=[1036],
            shipments=[
                _shipment(
                    tracking_number="USPS753486159",
                    order_id=1036,
                    carrier="USPS",
                    status=delivery_pb2.SHIPMENT_STATUS_EXCEPTION,
                    expected_start_time=day("2026-01-26"),
                    expected_end_time=day("2026-01-28"),
                    days_late=1,
                    delivery_fee=usd("4.99"),
                    delay_reason="the parcel was missorted and sent to the wrong hub",
                    product_name="Saucony Ride",
                )
            ],
            actions=[
                _action(
                    types_pb2.ACTION_TYPE_DELIVERY_FEE_REFUND_ON_ARRIVAL, "USPS753486159", "1.25"
                )
            ],
        ),
        "unmatched numbers": _deliveries(
            tracking_numbers=["UPS159753486"],
            order_ids=[1999],
            unmatched_tracking_numbers=["UPS159753486"],
            unmatched_order_ids=[1999],
        ),
        "address problem": _deliveries(
            tracking_numbers=["FDX486159753"],
            shipments=[
                _shipment(
                    status=delivery_pb2.SHIPMENT_STATUS_EXCEPTION,
                    days_late=5,
                    delay_reason="the delivery address could not be verified",
                    address_to_confirm=True,
                )
            ],
            actions=[
                _action(
                    types_pb2.ACTION_TYPE_DELIVERY_FEE_REFUND_ON_ARRIVAL, "FDX486159753", "11.99"
                ),
                _action(types_pb2.ACTION_TYPE_CARRIER_UPDATE_REQUEST, "FDX486159753"),
            ],
        ),
        "no number": _deliveries(),
    }


def _order(order_id: int, **fields: object) -> delivery_pb2.OrderBilling:
    return delivery_pb2.OrderBilling(order_id=order_id, **fields)  # type: ignore[arg-type]


def billing_cases() -> dict[str, delivery_pb2.AssessBillingResponse]:
    return {
        "overcharge": delivery_pb2.AssessBillingResponse(
            order_ids=[1003],
            orders=[
                _order(
                    1003,
                    owed=usd("117.99"),
                    charged=usd("235.98"),
                    refunded=usd("0.00"),
                    overcharge=usd("117.99"),
                    claim_supported=True,
                )
            ],
            actions=[_action(types_pb2.ACTION_TYPE_CHARGE_REFUND, "1003", "117.99")],
        ),
        "overcharge, partly refunded": delivery_pb2.AssessBillingResponse(
            order_ids=[1019, 1999],
            orders=[
                _order(
                    1019,
                    owed=usd("96.98"),
                    charged=usd("193.96"),
                    refunded=usd("50.00"),
                    overcharge=usd("46.98"),
                    claim_supported=True,
                )
            ],
            unmatched_order_ids=[1999],
            actions=[_action(types_pb2.ACTION_TYPE_CHARGE_REFUND, "1019", "46.98")],
        ),
        "unmatched order": delivery_pb2.AssessBillingResponse(
            order_ids=[1999], unmatched_order_ids=[1999]
        ),
        "no number": delivery_pb2.AssessBillingResponse(),
    }


def transaction_cases() -> dict[str, delivery_pb2.AssessBillingResponse]:
    return {
        "charges and refunds": delivery_pb2.AssessBillingResponse(
            order_ids=[1004, 1011],
            orders=[
                _order(
                    1004,
                    owed=usd("139.98"),
                    charged=usd("139.98"),
                    refunded=usd("5.99"),
                    charges=[
                        delivery_pb2.ChargeRecord(
                            amount=usd("139.98"), charge_time=day("2026-01-16"), captured=True
                        ),
                        delivery_pb2.ChargeRecord(
                            amount=usd("139.98"), charge_time=day("2026-01-16"), captured=False
                        ),
                    ],
                    refunds=[
                        _refund("5.99", "completed", "2026-01-24", "2026-01-26", _FEE_REASON),
                        _refund("20.00", "failed", "2026-01-25", reason=""),
                    ],
                ),
                _order(
                    1011,
                    owed=usd("164.98"),
                    charged=usd("164.98"),
                    refunded=usd("4.99"),
                    charges=[
                        delivery_pb2.ChargeRecord(
                            amount=usd("164.98"), charge_time=day("2026-01-16"), captured=True
                        )
                    ],
                    refunds=[
                        _refund(
                            "4.99",
                            "pending",
                            "2026-01-27",
                            reason="delivery fee refund for a late delivery, credited when it"
                            " arrives",
                        ),
                        _refund("30.00", "pending", "2026-01-28", reason="refund of an overcharge"),
                    ],
                ),
            ],
        ),
        "no refund, unmatched order": delivery_pb2.AssessBillingResponse(
            order_ids=[1003, 1999],
            orders=[
                _order(
                    1003,
                    owed=usd("117.99"),
                    charged=usd("117.99"),
                    refunded=usd("0.00"),
                    charges=[
                        delivery_pb2.ChargeRecord(
                            amount=usd("117.99"), charge_time=day("2026-01-14"), captured=True
                        )
                    ],
                )
            ],
            unmatched_order_ids=[1999],
        ),
        "no number": delivery_pb2.AssessBillingResponse(),
    }


def _item(order_id: int, product: str, delivered: str, total: str) -> delivery_pb2.ComplaintItem:
    return delivery_pb2.ComplaintItem(
        order_id=order_id,
        product_name=product,
        tracking_number=f"FDX{order_id:09d}",
        status=delivery_pb2.SHIPMENT_STATUS_DELIVERED,
        delivered_time=day(delivered),
        days_since_delivery=5,
        within_return_window=True,
        item_total=usd(total),
    )


def complaint_cases() -> dict[str, delivery_pb2.AssessComplaintResponse]:
    cases = {
        "refund": delivery_pb2.AssessComplaintResponse(
            items=[_item(1032, "Nike Pegasus", "2026-01-24", "129.99")],
            problem="defective",
            actions=[
                _action(
                    types_pb2.ACTION_TYPE_RETURN_AUTHORISATION,
                    "1032",
                    "129.99",
                    resolution="refund",
                )
            ],
        ),
        "replacement": delivery_pb2.AssessComplaintResponse(
            items=[_item(1032, "Nike Pegasus", "2026-01-24", "129.99")],
            problem="damaged",
            actions=[
                _action(
                    types_pb2.ACTION_TYPE_RETURN_AUTHORISATION, "1032", resolution="replacement"
                )
            ],
        ),
        "two items, unmatched numbers": delivery_pb2.AssessComplaintResponse(
            items=[
                _item(1032, "Nike Pegasus", "2026-01-24", "129.99"),
                _item(1040, "Adidas Ultraboost", "2026-01-25", "180.00"),
            ],
            unmatched_order_ids=[1999],
            unmatched_tracking_numbers=["UPS159753486"],
            problem="wrong_item",
            actions=[
                _action(
                    types_pb2.ACTION_TYPE_RETURN_AUTHORISATION, "1032", resolution="replacement"
                ),
                _action(
                    types_pb2.ACTION_TYPE_RETURN_AUTHORISATION,
                    "1040",
                    "180.00",
                    resolution="refund",
                ),
            ],
        ),
        "not as described": delivery_pb2.AssessComplaintResponse(
            items=[_item(1040, "Adidas Ultraboost", "2026-01-25", "180.00")],
            problem="not_as_described",
            actions=[
                _action(
                    types_pb2.ACTION_TYPE_RETURN_AUTHORISATION, "1040", resolution="replacement"
                )
            ],
        ),
        "no number": delivery_pb2.AssessComplaintResponse(problem="defective"),
        "no number, other problem": delivery_pb2.AssessComplaintResponse(problem="other"),
    }
    return cases


def _product(
    pid: int,
    name: str,
    brand: str,
    size: float,
    color: str,
    material: str,
    price: str,
    status: product_pb2.AvailabilityStatus.ValueType,
    incoming: str = "",
) -> product_pb2.ProductAvailability:
    available = product_pb2.ProductAvailability(
        product=product_pb2.Product(
            product_id=pid,
            name=name,
            brand=brand,
            size_us=size,
            color=color,
            material=material,
            price=price,
        ),
        quantity_on_hand=5 if status == product_pb2.AVAILABILITY_STATUS_IN_STOCK else 0,
        status=status,
    )
    if incoming:
        available.incoming.append(
            product_pb2.IncomingDelivery(quantity=30, expected_time=day(incoming))
        )
    return available


_IN_STOCK = product_pb2.AVAILABILITY_STATUS_IN_STOCK
_ULTRABOOST = _product(
    5, "Adidas Ultraboost", "Adidas", 10, "Black", "Mesh", "180.00",
    product_pb2.AVAILABILITY_STATUS_INCOMING, incoming="2026-02-10",
)  # fmt: skip
_PEGASUS = _product(11, "Nike Pegasus", "Nike", 9.5, "Red/Black", "Mesh", "129.99", _IN_STOCK)
_GHOST = _product(
    14, "Brooks Ghost", "Brooks", 9.5, "Blue/White", "Knit", "139.99",
    product_pb2.AVAILABILITY_STATUS_INCOMING_DELAYED,
)  # fmt: skip
_MOAB = _product(
    30, "Merrell Moab 2", "Merrell", 11, "Earth", "Leather/Mesh", "119.99",
    product_pb2.AVAILABILITY_STATUS_UNAVAILABLE,
)  # fmt: skip


def _match(**fields: object) -> product_pb2.MatchProductsResponse:
    return product_pb2.MatchProductsResponse(answerable=True, **fields)  # type: ignore[arg-type]


def product_cases() -> dict[str, product_pb2.MatchProductsResponse]:
    running = product_pb2.SearchConstraints(
        colors=["Black", "Red/Black"], size_min=9.5, size_max=9.5, price_max="150.00",
        price_max_exclusive=True,
    )  # fmt: skip
    cases = {
        "matches": _match(
            constraints=running,
            needs=["running"],
            matches=[_PEGASUS, _ULTRABOOST, _GHOST, _MOAB],
        ),
        "one match": _match(
            constraints=product_pb2.SearchConstraints(
                product_names=["Adidas Ultraboost"], brands=["Adidas"], size_min=10, size_max=10
            ),
            matches=[_ULTRABOOST],
            alternatives=[_PEGASUS],
        ),
        "many matches": _match(
            constraints=product_pb2.SearchConstraints(brands=["Nike"], price_min="100.00"),
            matches=[_PEGASUS] * 12,
        ),
        "alternatives": _match(
            constraints=product_pb2.SearchConstraints(
                colors=["Black"],
                materials=["Leather", "Leather/Mesh"],
                size_min=11,
                price_max="200.00",
                price_max_exclusive=True,
                weight_max_kg=0.9,
            ),
            needs=["boot", "waterproof", "cushioning+maximum"],
            no_match_reason=product_pb2.NO_MATCH_REASON_CONSTRAINTS_EXCLUDE,
            alternatives=[_MOAB, _GHOST],
        ),
        "no match": _match(
            constraints=product_pb2.SearchConstraints(
                size_min=8,
                size_max=9,
                colors=["Cherry Red"],
                plain_colors=True,
                price_min="50.00",
                price_min_exclusive=True,
                weight_min_kg=0.2,
            ),
            needs=["all day", "comfort", "walking", "~cork"],
            no_match_reason=product_pb2.NO_MATCH_REASON_CONSTRAINTS_EXCLUDE,
        ),
        "need not understood": _match(
            constraints=product_pb2.SearchConstraints(brands=["Nike", "Adidas"], size_max=12),
            no_match_reason=product_pb2.NO_MATCH_REASON_NEED_NOT_UNDERSTOOD,
            alternatives=[_PEGASUS],
        ),
        "better fit elsewhere": _match(
            constraints=product_pb2.SearchConstraints(product_names=["Merrell Moab 2"]),
            needs=["trail", "hiking/walking", "lightweight"],
            no_match_reason=product_pb2.NO_MATCH_REASON_BETTER_FIT_ELSEWHERE,
            alternatives=[_GHOST],
        ),
    }
    for name, reason in (
        ("decline: nothing specific", declines.DECLINE_NOTHING_SPECIFIC),
        ("decline: whole catalog", declines.DECLINE_WHOLE_CATALOG),
        ("decline: beyond the catalog", declines.DECLINE_BEYOND_CATALOG),
        ("decline: injection", declines.DECLINE_INJECTION),
    ):
        cases[name] = product_pb2.MatchProductsResponse(answerable=False, decline_reason=reason)
    return cases


@dataclass(frozen=True)
class Case:
    """One fact shape: the reply it renders and the service's answer."""

    reply: str  # the name of the reply function in services.orchestrator.replies
    name: str
    answer: Message


def cases() -> list[Case]:
    """Every fact shape of every reply."""
    groups: list[tuple[str, Callable[[], dict[str, Message]]]] = [
        ("delivery_reply", delivery_cases),  # type: ignore[list-item]
        ("billing_reply", billing_cases),  # type: ignore[list-item]
        ("transaction_reply", transaction_cases),  # type: ignore[list-item]
        ("complaint_reply", complaint_cases),  # type: ignore[list-item]
        ("product_reply", product_cases),  # type: ignore[list-item]
    ]
    return [
        Case(reply, name, answer) for reply, group in groups for name, answer in group().items()
    ]
