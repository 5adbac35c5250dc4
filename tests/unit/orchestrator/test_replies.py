"""Replies are rendered from facts: every number and date in them comes from the facts."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from crm.v1 import delivery_pb2, product_pb2, types_pb2
from services.orchestrator.replies import delivery_reply, product_reply


def day(text: str) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(datetime.fromisoformat(text).replace(tzinfo=UTC))
    return ts


def shipment(**fields: object) -> delivery_pb2.ShipmentAssessment:
    base: dict[str, object] = {
        "tracking_number": "FDX486159753",
        "order_id": 1035,
        "carrier": "FedEx",
        "status": delivery_pb2.SHIPMENT_STATUS_IN_TRANSIT,
        "expected_start_time": day("2026-01-25"),
        "expected_end_time": day("2026-01-27"),
        "days_late": 2,
        "delivery_fee": types_pb2.Money(currency_code="USD", amount="7.99"),
        "product_name": "Nike Pegasus",
    }
    base.update(fields)
    return delivery_pb2.ShipmentAssessment(**base)  # type: ignore[arg-type]


def test_late_shipment_reply_states_days_late_and_the_refund_on_arrival() -> None:
    assessment = delivery_pb2.AssessDeliveriesResponse(
        tracking_numbers=["FDX486159753"],
        shipments=[shipment()],
        actions=[
            types_pb2.ProposedAction(
                type=types_pb2.ACTION_TYPE_DELIVERY_FEE_REFUND_ON_ARRIVAL,
                target="FDX486159753",
                amount=types_pb2.Money(currency_code="USD", amount="4.00"),
            )
        ],
    )
    reply = delivery_reply(assessment)
    assert "FDX486159753" in reply.text
    assert "2 days past the promised delivery window" in reply.text
    assert "$4.00" in reply.text
    assert "27 January 2026" in reply.text
    assert "FDX486159753: 2 days late" in reply.summary


def test_reply_without_tracking_number_asks_for_it() -> None:
    reply = delivery_reply(delivery_pb2.AssessDeliveriesResponse())
    assert "tracking number" in reply.text
    assert reply.summary == "Asked the customer for the tracking number."


def test_unknown_number_gets_the_not_on_your_account_answer() -> None:
    reply = delivery_reply(
        delivery_pb2.AssessDeliveriesResponse(unmatched_tracking_numbers=["UPS000"])
    )
    assert "UPS000: we could not find a delivery with this number on your account" in reply.text


def test_delivered_on_time_says_so_and_proposes_nothing() -> None:
    s = shipment(
        status=delivery_pb2.SHIPMENT_STATUS_DELIVERED, days_late=0, delivered_time=day("2026-01-26")
    )
    reply = delivery_reply(delivery_pb2.AssessDeliveriesResponse(shipments=[s]))
    assert "delivered on 26 January 2026, within the promised window" in reply.text
    assert "refund" not in reply.text.lower()


def product(
    pid: int, quantity: int, status: product_pb2.AvailabilityStatus.ValueType, **extra: object
) -> product_pb2.ProductAvailability:
    return product_pb2.ProductAvailability(
        product=product_pb2.Product(
            product_id=pid,
            name="Adidas Ultraboost",
            brand="Adidas",
            size_us=10.0,
            color="Black",
            material="Mesh",
            price="180.00",
        ),
        quantity_on_hand=quantity,
        status=status,
        **extra,  # type: ignore[arg-type]
    )


def test_product_reply_lists_each_product_with_its_availability() -> None:
    search = product_pb2.SearchProductsResponse(
        answerable=True,
        constraints=product_pb2.SearchConstraints(
            product_names=["Adidas Ultraboost"], size_min=10, size_max=10
        ),
        matches=[
            product(
                3,
                0,
                product_pb2.AVAILABILITY_STATUS_INCOMING,
                incoming=[
                    product_pb2.IncomingDelivery(quantity=30, expected_time=day("2026-02-10"))
                ],
            ),
            product(4, 5, product_pb2.AVAILABILITY_STATUS_IN_STOCK),
        ],
    )
    reply = product_reply(search)
    assert "out of stock; a delivery is expected on 10 February 2026" in reply.text
    assert "in stock" in reply.text
    assert reply.text.count("Adidas Ultraboost, US size 10, Black") == 2
    assert "Adidas Adidas" not in reply.text
    assert reply.summary == "Listed 2 matching product(s), 1 in stock."


def test_overdue_restock_is_reported_as_delayed_not_promised() -> None:
    search = product_pb2.SearchProductsResponse(
        answerable=True, matches=[product(3, 0, product_pb2.AVAILABILITY_STATUS_INCOMING_DELAYED)]
    )
    assert "delayed, so we cannot promise a date" in product_reply(search).text


def test_declined_request_asks_for_specifics_instead_of_listing() -> None:
    search = product_pb2.SearchProductsResponse(
        answerable=False, decline_reason="We cannot send the whole catalogue."
    )
    reply = product_reply(search)
    assert "We cannot send the whole catalogue." in reply.text
    assert "which model, brand, US size and colour" in reply.text


def test_no_match_for_a_need_not_understood_asks_what_the_shoes_are_for() -> None:
    match = product_pb2.MatchProductsResponse(
        answerable=True,
        alternatives=[product(3, 5, product_pb2.AVAILABILITY_STATUS_IN_STOCK)],
        no_match_reason=product_pb2.NO_MATCH_REASON_NEED_NOT_UNDERSTOOD,
    )
    reply = product_reply(match)
    assert "what you will mainly use the shoes for" in reply.text
    assert "offered as alternatives" in reply.text
    assert "Adidas Ultraboost, US size 10, Black" in reply.text
    assert reply.summary == "No catalog product matches; offered 1 alternative(s)."


def test_no_match_within_the_named_brand_offers_the_better_fit_as_an_alternative() -> None:
    match = product_pb2.MatchProductsResponse(
        answerable=True,
        alternatives=[product(3, 5, product_pb2.AVAILABILITY_STATUS_IN_STOCK)],
        no_match_reason=product_pb2.NO_MATCH_REASON_BETTER_FIT_ELSEWHERE,
    )
    text = product_reply(match).text
    assert "None of the products you named fits" in text
    assert "These fit what you describe, offered as alternatives" in text
