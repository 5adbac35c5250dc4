"""Replies are rendered from facts: every number and date in them comes from the facts."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from crm.v1 import delivery_pb2, product_pb2, types_pb2
from crmctl.demo import product as demo
from services.common.identifiers import find_order_numbers, find_tracking_numbers
from services.orchestrator import replies
from services.orchestrator.replies import (
    _wanted,
    billing_reply,
    complaint_reply,
    delivery_reply,
    product_reply,
    transaction_reply,
)
from services.orchestrator.reply_language import wording
from services.product.handler import constraints_to_proto
from services.product.understanding import understand

VOCABULARY = demo.vocabulary()
# The English wording: these tests pin the English replies.
EN = wording("en")


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
    reply = delivery_reply(assessment, EN)
    assert "FDX486159753" in reply.text
    assert "2 days past the promised delivery window" in reply.text
    assert "$4.00" in reply.text
    assert "January 27, 2026" in reply.text
    assert "FDX486159753: 2 days late" in reply.summary


def test_reply_without_tracking_number_asks_for_it() -> None:
    reply = delivery_reply(delivery_pb2.AssessDeliveriesResponse(), EN)
    assert "tracking number" in reply.text
    assert reply.summary == "Asked the customer for the tracking number."


def test_unknown_number_gets_the_not_on_your_account_answer() -> None:
    reply = delivery_reply(
        delivery_pb2.AssessDeliveriesResponse(unmatched_tracking_numbers=["UPS000"]), EN
    )
    assert "UPS000: we could not find a delivery with this number on your account" in reply.text


def test_delivered_on_time_says_so_and_proposes_nothing() -> None:
    s = shipment(
        status=delivery_pb2.SHIPMENT_STATUS_DELIVERED, days_late=0, delivered_time=day("2026-01-26")
    )
    reply = delivery_reply(delivery_pb2.AssessDeliveriesResponse(shipments=[s]), EN)
    assert "delivered on January 26, 2026, within the promised window" in reply.text
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
    reply = product_reply(search, EN)
    assert "out of stock; a delivery is expected on February 10, 2026" in reply.text
    assert "in stock" in reply.text
    assert reply.text.count("Adidas Ultraboost, US size 10, Black") == 2
    assert "Adidas Adidas" not in reply.text
    assert reply.summary == "Listed 2 matching product(s), 1 in stock."


def test_overdue_restock_is_reported_as_delayed_not_promised() -> None:
    search = product_pb2.SearchProductsResponse(
        answerable=True, matches=[product(3, 0, product_pb2.AVAILABILITY_STATUS_INCOMING_DELAYED)]
    )
    assert "delayed, so we cannot promise a date" in product_reply(search, EN).text


def test_declined_request_asks_for_specifics_instead_of_listing() -> None:
    search = product_pb2.SearchProductsResponse(
        answerable=False, decline_reason="We cannot send the whole catalogue."
    )
    reply = product_reply(search, EN)
    assert "We cannot send the whole catalogue." in reply.text
    assert "which model, brand, US size and colour" in reply.text


def test_no_match_for_a_need_not_understood_asks_what_the_shoes_are_for() -> None:
    match = product_pb2.MatchProductsResponse(
        answerable=True,
        alternatives=[product(3, 5, product_pb2.AVAILABILITY_STATUS_IN_STOCK)],
        no_match_reason=product_pb2.NO_MATCH_REASON_NEED_NOT_UNDERSTOOD,
    )
    reply = product_reply(match, EN)
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
    text = product_reply(match, EN).text
    assert "None of the products you named fits" in text
    assert "These fit what you describe, offered as alternatives" in text


# --- Replies answer what was asked (issue 19) ---------------------------------------------


def money(amount: str) -> types_pb2.Money:
    return types_pb2.Money(currency_code="USD", amount=amount)


def fee_refund(target: str, amount: str, *, on_arrival: bool = False) -> types_pb2.ProposedAction:
    kind = (
        types_pb2.ACTION_TYPE_DELIVERY_FEE_REFUND_ON_ARRIVAL
        if on_arrival
        else types_pb2.ACTION_TYPE_DELIVERY_FEE_REFUND
    )
    return types_pb2.ProposedAction(type=kind, target=target, amount=money(amount))


def delivered_late(**fields: object) -> delivery_pb2.ShipmentAssessment:
    # Customer 2's USPS777888999 (order 1007, free delivery): window ended 19 January,
    # delivered on the 22nd.
    base: dict[str, object] = {
        "tracking_number": "USPS777888999",
        "order_id": 1007,
        "carrier": "USPS",
        "status": delivery_pb2.SHIPMENT_STATUS_DELIVERED,
        "expected_start_time": day("2026-01-17"),
        "expected_end_time": day("2026-01-19"),
        "delivered_time": day("2026-01-22"),
        "days_late": 3,
        "delivery_fee": money("0.00"),
    }
    base.update(fields)
    return shipment(**base)


def test_a_late_order_with_free_delivery_says_no_fee_was_charged() -> None:
    # The customer asks for the delivery fee back; there was none, so nothing is proposed.
    reply = delivery_reply(delivery_pb2.AssessDeliveriesResponse(shipments=[delivered_late()]), EN)
    assert "No delivery fee was charged on this order" in reply.text
    assert "We are refunding" not in reply.text
    assert "no delivery fee charged" in reply.summary


def test_free_delivery_is_not_mentioned_for_an_unknown_fee_or_an_on_time_parcel() -> None:
    unknown = delivered_late()
    unknown.ClearField("delivery_fee")
    on_time = delivered_late(days_late=0, delivered_time=day("2026-01-18"))
    for s in (unknown, on_time):
        text = delivery_reply(delivery_pb2.AssessDeliveriesResponse(shipments=[s]), EN).text
        assert "No delivery fee was charged" not in text


def test_a_fee_already_refunded_as_far_as_the_policy_goes_is_said_with_its_amount() -> None:
    s = delivered_late(
        tracking_number="FDX111222333", delivery_fee=money("9.99"), fee_refunded=money("7.49")
    )
    reply = delivery_reply(delivery_pb2.AssessDeliveriesResponse(shipments=[s]), EN)
    assert (
        "We have already refunded $7.49 of the delivery fee for this order, which is what our"
        " policy gives for this delay." in reply.text
    )
    assert "No delivery fee was charged" not in reply.text
    assert "$7.49 of the fee already refunded" in reply.summary


def test_a_further_refund_says_what_was_already_refunded_first() -> None:
    # Customer 1's FDX111222333 (order 1004): $5.99 of the $9.99 fee already refunded.
    s = delivered_late(
        tracking_number="FDX111222333", delivery_fee=money("9.99"), fee_refunded=money("5.99")
    )
    reply = delivery_reply(
        delivery_pb2.AssessDeliveriesResponse(
            shipments=[s], actions=[fee_refund("FDX111222333", "1.50")]
        ),
        EN,
    )
    already = reply.text.index("We have already refunded $5.99 of the delivery fee")
    further = reply.text.index("We are refunding a further $1.50 of your delivery fee")
    assert already < further


def test_a_fee_refund_already_made_is_said_with_its_day() -> None:
    # Order 1004: $5.99 refunded on 26 January (requested the 24th), $1.50 more proposed.
    done = delivery_pb2.RefundRecord(
        amount=money("5.99"),
        status="completed",
        request_time=day("2026-01-24"),
        complete_time=day("2026-01-26"),
    )
    s = delivered_late(
        tracking_number="FDX111222333",
        delivery_fee=money("9.99"),
        fee_refunded=money("5.99"),
        fee_refunds=[done],
    )
    reply = delivery_reply(
        delivery_pb2.AssessDeliveriesResponse(
            shipments=[s], actions=[fee_refund("FDX111222333", "1.50")]
        ),
        EN,
    )
    already = reply.text.index(
        "We already refunded $5.99 of the delivery fee for this order on January 26, 2026."
    )
    assert already < reply.text.index("We are refunding a further $1.50 of your delivery fee")
    assert "$5.99 of the fee already refunded" in reply.summary


def test_a_fee_refund_on_its_way_is_said_with_the_day_it_was_requested() -> None:
    on_its_way = delivery_pb2.RefundRecord(
        amount=money("7.49"), status="pending", request_time=day("2026-01-27")
    )
    s = delivered_late(
        tracking_number="FDX111222333",
        delivery_fee=money("9.99"),
        fee_refunded=money("7.49"),
        fee_refunds=[on_its_way],
    )
    text = delivery_reply(delivery_pb2.AssessDeliveriesResponse(shipments=[s]), EN).text
    assert (
        "We have already arranged a refund of $7.49 of the delivery fee for this order: it was"
        " requested on January 27, 2026 and is on its way to your payment method.\n"
        "That is what our policy gives for this delay." in text
    )


def test_an_address_problem_asks_the_customer_to_confirm_the_delivery_address() -> None:
    s = shipment(
        status=delivery_pb2.SHIPMENT_STATUS_EXCEPTION,
        delay_reason="the delivery address could not be verified",
        address_to_confirm=True,
    )
    reply = delivery_reply(delivery_pb2.AssessDeliveriesResponse(shipments=[s]), EN)
    assert "The carrier reports: the delivery address could not be verified." in reply.text
    assert "confirm your full delivery address" in reply.text
    assert "asked to confirm the delivery address" in reply.summary


def _repeated_adjacent_words(text: str) -> list[str]:
    """Words said twice in a row, punctuation between them ignored ("running, running");
    a colour of several ("red/black") is one word."""
    words = [w.strip(',.;:!?()"') for w in text.lower().split()]
    return [a for a, b in itertools.pairwise(words) if a and a == b]


def test_the_check_finds_the_repeats_of_the_old_restatement() -> None:
    assert _repeated_adjacent_words("running running Black Red/Black in US size 9.5") == ["running"]
    assert _repeated_adjacent_words("hiking trail, trail waterproof") == ["trail"]


@pytest.mark.parametrize(
    ("constraints", "needs", "expected"),
    [
        (
            product_pb2.SearchConstraints(
                colors=["Black", "Red/Black"], size_min=9.5, size_max=9.5, price_max="150.00",
                price_max_exclusive=True,
            ),
            ["running", "running"],
            "your request for running shoes in black or red/black, in US size 9.5,"
            " priced under $150.00",
        ),
        (
            product_pb2.SearchConstraints(size_min=11, size_max=11),
            ["hiking", "hiking", "trail", "trail", "waterproof"],
            "your request for hiking, trail and waterproof shoes in US size 11",
        ),
        (
            product_pb2.SearchConstraints(
                brands=["Adidas"], product_names=["Adidas Ultraboost"], size_min=10, size_max=10
            ),
            [],
            "your request for the Adidas Ultraboost in US size 10",
        ),
        (
            product_pb2.SearchConstraints(
                colors=["Black", "Red/Black"], materials=["Leather", "Leather/Mesh"],
                size_min=11, price_max="200.00", price_max_exclusive=True,
            ),
            ["boot", "~bigger"],
            "your request for boots in black or red/black, made of leather or leather/mesh,"
            " in US size 11 or larger, priced under $200.00",
        ),
        (
            product_pb2.SearchConstraints(),
            ["cushioning+maximum", "lightweight"],
            "your request for maximum cushioning and lightweight shoes",
        ),
        (
            product_pb2.SearchConstraints(product_names=["Merrell Moab 2"], size_min=10, size_max=10),
            ["waterproof"],
            "your request for the Merrell Moab 2 as waterproof shoes in US size 10",
        ),
        (
            product_pb2.SearchConstraints(brands=["Nike"], colors=["Blue", "Blue/White"]),
            ["running"],
            "your request for Nike running shoes in blue or blue/white",
        ),
        (
            product_pb2.SearchConstraints(size_min=8, size_max=9),
            ["all day", "all day", "comfort", "walking"],
            "your request for all-day, comfort and walking shoes in US sizes 8 to 9",
        ),
        (
            product_pb2.SearchConstraints(
                colors=["Red", "Cherry Red", "Red/Black"], weight_max_kg=0.3,
                weight_max_exclusive=True,
            ),
            ["~everi", "~weekend"],
            "your request for shoes in red, red/black or cherry red, weighing under 0.3 kg",
        ),
        (product_pb2.SearchConstraints(), [], "your request for shoes"),
    ],
)  # fmt: skip
def test_the_product_request_is_restated_once_in_words(
    constraints: product_pb2.SearchConstraints, needs: list[str], expected: str
) -> None:
    restated = _wanted(constraints, EN, needs)
    assert restated == expected
    assert _repeated_adjacent_words(restated) == []


@pytest.mark.parametrize(
    "text",
    [
        "Looking for running shoes\nHi! Could you recommend some black running shoes in US 9.5,"
        " under $150?",
        "Hiking trail shoes\nwaterproof hiking trail shoes in size 11",
        "trail running shoes, red or black, size 9.5",
        "black leather boots size 11 or bigger under 200",
        "comfortable walking shoes for all-day standing, leather, size 8 to 9",
    ],
)
def test_the_product_reply_repeats_no_word_of_the_demo_catalogs_readings(text: str) -> None:
    understood = understand(text, VOCABULARY, by_need=True)
    match = product_pb2.MatchProductsResponse(
        answerable=True,
        constraints=constraints_to_proto(understood.constraints),
        needs=understood.needs.describe(),
        no_match_reason=product_pb2.NO_MATCH_REASON_CONSTRAINTS_EXCLUDE,
    )
    reply = product_reply(match, EN)
    assert _repeated_adjacent_words(reply.text) == [], reply.text


def _asking_replies() -> dict[str, str]:
    """Every reply that asks the customer for a number, as rendered."""
    return {
        "delivery": delivery_reply(delivery_pb2.AssessDeliveriesResponse(), EN).text,
        "billing": billing_reply(delivery_pb2.AssessBillingResponse(), EN).text,
        "transaction": transaction_reply(delivery_pb2.AssessBillingResponse(), EN).text,
        "complaint": complaint_reply(
            delivery_pb2.AssessComplaintResponse(problem="defective"), EN
        ).text,
    }


@pytest.mark.parametrize("name", ["delivery", "billing", "transaction", "complaint"])
def test_a_reply_asking_for_a_number_shows_no_example_number(name: str) -> None:
    text = _asking_replies()[name]
    assert "number" in text and "confirmation e-mail" in text
    assert find_tracking_numbers(text) == []
    assert find_order_numbers(text) == []
    assert not re.search(r"\d{3,}", text), text


def test_no_template_contains_an_identifier() -> None:
    templates = Path(replies.__file__).parent / "templates"
    sources = [p.read_text(encoding="utf-8") for p in sorted(templates.glob("*.txt.j2"))]
    assert len(sources) >= 5
    for source in sources:
        assert find_tracking_numbers(source) == []
        assert find_order_numbers(source) == []
