"""The delivery reply for questions asked by order number: the order a shipment was found
by, an order not shipped yet, and order numbers not on the customer's account."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from crm.v1 import delivery_pb2, types_pb2
from services.orchestrator.replies import delivery_reply
from services.orchestrator.reply_language import wording

EN = wording("en")


def _day(text: str) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(datetime.fromisoformat(text).replace(tzinfo=UTC))
    return ts


def test_a_shipment_found_by_its_order_names_the_order_and_its_tracking_number() -> None:
    reply = delivery_reply(
        delivery_pb2.AssessDeliveriesResponse(
            order_ids=[1036],
            shipments=[
                delivery_pb2.ShipmentAssessment(
                    tracking_number="USPS753486159",
                    order_id=1036,
                    carrier="USPS",
                    status=delivery_pb2.SHIPMENT_STATUS_IN_TRANSIT,
                    expected_start_time=_day("2026-01-26"),
                    expected_end_time=_day("2026-01-28"),
                    days_late=1,
                )
            ],
            actions=[
                types_pb2.ProposedAction(
                    type=types_pb2.ACTION_TYPE_DELIVERY_FEE_REFUND_ON_ARRIVAL,
                    target="USPS753486159",
                    amount=types_pb2.Money(currency_code="USD", amount="1.25"),
                )
            ],
        ),
        EN,
    )
    assert "Order 1036, tracking number USPS753486159 (USPS)" in reply.text
    assert "$1.25" in reply.text
    assert "Could you reply with your tracking number" not in reply.text


def test_an_order_not_shipped_yet_is_answered_with_its_status_and_window() -> None:
    reply = delivery_reply(
        delivery_pb2.AssessDeliveriesResponse(
            order_ids=[1030, 1050],
            shipments=[
                delivery_pb2.ShipmentAssessment(
                    order_id=1030,
                    carrier="USPS",
                    status=delivery_pb2.SHIPMENT_STATUS_PROCESSING,
                    expected_start_time=_day("2026-02-04"),
                    expected_end_time=_day("2026-02-06"),
                )
            ],
            unshipped_order_ids=[1050],
        ),
        EN,
    )
    assert "Order 1030 (USPS): It has not shipped yet" in reply.text
    assert "February 4, 2026" in reply.text and "February 6, 2026" in reply.text
    assert "Order 1050: it has not shipped yet." in reply.text
    assert "Tracking number" not in reply.text
    assert "tracking number?" not in reply.text  # no request for one
    assert "order 1030: on time" in reply.summary and "order 1050: not shipped yet" in reply.summary


def test_an_order_number_not_on_the_account_is_said_so() -> None:
    reply = delivery_reply(
        delivery_pb2.AssessDeliveriesResponse(order_ids=[1001], unmatched_order_ids=[1001]), EN
    )
    assert "Order 1001: we could not find an order with this number on your account" in reply.text
    assert "Could you reply with your tracking number" not in reply.text
    assert reply.summary == "Delivery status order 1001: not on this account."
