"""Tier-0 replies rendered from the structured facts with Jinja2 templates.

Every number, date and tracking number in a reply comes from the facts the services
returned; nothing is invented here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date
from decimal import Decimal

from google.protobuf.timestamp_pb2 import Timestamp
from jinja2 import Environment, PackageLoader, StrictUndefined

from crm.v1 import delivery_pb2, product_pb2, types_pb2

MAX_PRODUCTS_LISTED = 10

_env = Environment(
    loader=PackageLoader("services.orchestrator", "templates"),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=False,
    autoescape=False,  # plain-text e-mail, not HTML
)


@dataclass(frozen=True)
class Reply:
    """A reply and the one-line summary shown in the queue and kept in case memory."""

    text: str
    summary: str


def _day(ts: Timestamp) -> date:
    return ts.ToDatetime(UTC).date()


def _fmt_day(ts: Timestamp) -> str:
    return _day(ts).strftime("%d %B %Y").lstrip("0")


def _money(m: types_pb2.Money) -> str:
    amount = Decimal(m.amount or "0").quantize(Decimal("0.01"))
    return f"${amount}" if m.currency_code in ("", "USD") else f"{amount} {m.currency_code}"


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


_STATUS_WORDS = {
    delivery_pb2.SHIPMENT_STATUS_PROCESSING: "it has not shipped yet",
    delivery_pb2.SHIPMENT_STATUS_IN_TRANSIT: "it is in transit with the carrier",
    delivery_pb2.SHIPMENT_STATUS_OUT_FOR_DELIVERY: "it is out for delivery",
    delivery_pb2.SHIPMENT_STATUS_EXCEPTION: "the carrier has reported a delivery problem",
}


def shipment_sentence(s: delivery_pb2.ShipmentAssessment) -> str:
    """One sentence on where a shipment is and how late it is."""
    window = f"{_fmt_day(s.expected_start_time)} to {_fmt_day(s.expected_end_time)}"
    if s.status == delivery_pb2.SHIPMENT_STATUS_CANCELLED:
        return "this delivery was cancelled."
    if s.status == delivery_pb2.SHIPMENT_STATUS_DELIVERED:
        when = _fmt_day(s.delivered_time) if s.HasField("delivered_time") else "an earlier date"
        if s.days_late > 0:
            reason = f" The carrier reported: {s.delay_reason}." if s.delay_reason else ""
            return (
                f"delivered on {when}, {_days(s.days_late)} after the promised window"
                f" ({window}). We are sorry for the delay.{reason}"
            )
        return f"delivered on {when}, within the promised window ({window})."
    where = _STATUS_WORDS.get(s.status, "it is on its way")
    if s.days_late > 0:
        reason = f" The carrier reports: {s.delay_reason}." if s.delay_reason else ""
        return (
            f"{where}, and it is now {_days(s.days_late)} past the promised delivery window"
            f" ({window}). We are sorry for the delay.{reason}"
        )
    return f"{where}; it is expected between {window}."


def action_sentence(a: types_pb2.ProposedAction) -> str:
    """What the customer is told about one proposed action (sent only once approved)."""
    if a.type == types_pb2.ACTION_TYPE_DELIVERY_FEE_REFUND:
        return f"We are refunding {_money(a.amount)} of your delivery fee for the delay."
    if a.type == types_pb2.ACTION_TYPE_DELIVERY_FEE_REFUND_ON_ARRIVAL:
        return (
            f"When it arrives, we will refund part of your delivery fee for the delay"
            f" ({_money(a.amount)} as of today)."
        )
    if a.type == types_pb2.ACTION_TYPE_EXPEDITED_COUPON:
        return (
            "As this is not the first delay you have had with us, we are adding a coupon for"
            " free expedited delivery on your next order; its code follows in a separate e-mail."
        )
    if a.type == types_pb2.ACTION_TYPE_CHARGE_REFUND:
        return f"We are refunding {_money(a.amount)} for order {a.target}."
    if a.type == types_pb2.ACTION_TYPE_CARRIER_UPDATE_REQUEST:
        return "We have asked the carrier for an update and will let you know what they say."
    return ""


def delivery_reply(assessment: delivery_pb2.AssessDeliveriesResponse) -> Reply:
    """The late-delivery reply: each tracking number's status and the action proposed for it."""
    shipments = []
    for s in assessment.shipments:
        sentences = [
            action_sentence(a) for a in assessment.actions if a.target == s.tracking_number
        ]
        if (
            s.days_late > 0
            and s.HasField("fee_refunded")
            and not any(
                a.target == s.tracking_number and a.amount.amount for a in assessment.actions
            )
        ):
            sentences.append(
                f"We have already refunded {_money(s.fee_refunded)} of the delivery fee"
                f" for this order, which is what our policy gives for this delay."
            )
        shipments.append(
            {
                "tracking_number": s.tracking_number,
                "carrier": s.carrier,
                "product_name": s.product_name,
                "status_sentence": shipment_sentence(s),
                "action_sentences": [x for x in sentences if x],
            }
        )
    unmatched = list(assessment.unmatched_tracking_numbers)
    text = _env.get_template("delivery_reply.txt.j2").render(
        shipments=shipments, unmatched=unmatched
    )
    if not shipments and not unmatched:
        summary = "Asked the customer for the tracking number"
    else:
        parts = [
            f"{s.tracking_number}: {'on time' if s.days_late <= 0 else _days(s.days_late) + ' late'}"
            for s in assessment.shipments
        ]
        parts += [f"{t}: not on this account" for t in unmatched]
        refunds = [
            _money(a.amount)
            for a in assessment.actions
            if a.type
            in (
                types_pb2.ACTION_TYPE_DELIVERY_FEE_REFUND,
                types_pb2.ACTION_TYPE_DELIVERY_FEE_REFUND_ON_ARRIVAL,
            )
        ]
        summary = "Delivery status " + "; ".join(parts)
        if refunds:
            summary += f"; proposed fee refund {', '.join(refunds)}"
    return Reply(text=text, summary=summary + ".")


def billing_reply(assessment: delivery_pb2.AssessBillingResponse) -> Reply:
    """The billing-dispute reply: per order what it owes, what was charged, and the refund
    of the difference (only orders whose records show an overcharge reach the reply)."""
    orders = [
        {
            "order_id": o.order_id,
            "owed": _money(o.owed),
            "charged": _money(o.charged),
            "refunded": o.refunded.amount,
            "sentence": (
                f"That is {_money(o.overcharge)} more than it should be, and we are refunding"
                f" the difference of {_money(o.overcharge)} to your original payment method."
                " We are sorry for the mistake."
            ),
        }
        for o in assessment.orders
    ]
    unmatched = list(assessment.unmatched_order_ids)
    text = _env.get_template("billing_reply.txt.j2").render(orders=orders, unmatched=unmatched)
    if not orders and not unmatched:
        summary = "Asked the customer for the order number"
    else:
        parts = [
            f"order {o.order_id}: overcharged {_money(o.overcharge)}" for o in assessment.orders
        ]
        parts += [f"order {n}: not on this account" for n in unmatched]
        summary = "Billing " + "; ".join(parts)
    return Reply(text=text, summary=summary + ".")


def _refund_status(r: delivery_pb2.RefundRecord) -> str:
    if r.status == "completed" and r.HasField("complete_time"):
        return (
            f"completed on {_fmt_day(r.complete_time)}; it can take a few business days to"
            " show on your statement."
        )
    if r.status == "pending":
        return f"requested on {_fmt_day(r.request_time)} and on its way to your payment method."
    return "it could not be completed; our team will contact you about it."


def transaction_reply(assessment: delivery_pb2.AssessBillingResponse) -> Reply:
    """The answer to a payment, refund or return status question, from the records."""
    orders = [
        {
            "order_id": o.order_id,
            "charges": [
                {"amount": _money(c.amount), "day": _fmt_day(c.charge_time), "captured": c.captured}
                for c in o.charges
            ],
            "refunds": [
                {
                    "amount": _money(r.amount),
                    "reason": r.reason,
                    "status_sentence": _refund_status(r),
                }
                for r in o.refunds
            ],
        }
        for o in assessment.orders
    ]
    unmatched = list(assessment.unmatched_order_ids)
    text = _env.get_template("transaction_reply.txt.j2").render(orders=orders, unmatched=unmatched)
    if not orders and not unmatched:
        summary = "Asked the customer for the order number"
    else:
        parts = [
            f"order {o.order_id}: {len(o.charges)} payment(s), {len(o.refunds)} refund(s)"
            for o in assessment.orders
        ]
        parts += [f"order {n}: not on this account" for n in unmatched]
        summary = "Transaction status " + "; ".join(parts)
    return Reply(text=text, summary=summary + ".")


_PROBLEM_SENTENCES = {
    "wrong_item": "is not what you ordered",
    "damaged": "arrived damaged",
    "not_as_described": "is not as described",
    "defective": "is faulty",
}


def complaint_reply(assessment: delivery_pb2.AssessComplaintResponse) -> Reply:
    """The complaint reply: the return arranged for each item within the return window
    (items outside it are escalated before a reply is drafted)."""
    actions = {a.target: a for a in assessment.actions}
    items = []
    for i in assessment.items:
        action = actions.get(str(i.order_id))
        if action is not None and action.resolution == "refund":
            sentence = (
                "we will send you a prepaid return label, and refund "
                f"{_money(action.amount)} to your original payment method once the pair is back."
            )
        else:
            sentence = (
                "we will send you a prepaid return label and ship a replacement pair as soon"
                " as the return is on its way."
            )
        items.append(
            {
                "order_id": i.order_id,
                "product_name": i.product_name,
                "delivered": _fmt_day(i.delivered_time) if i.HasField("delivered_time") else "",
                "sentence": sentence,
            }
        )
    unmatched = [f"Order {n}" for n in assessment.unmatched_order_ids]
    unmatched += [f"Tracking number {t}" for t in assessment.unmatched_tracking_numbers]
    text = _env.get_template("complaint_reply.txt.j2").render(
        items=items,
        unmatched=unmatched,
        problem_sentence=_PROBLEM_SENTENCES.get(assessment.problem, "has a problem"),
    )
    if not items:
        summary = "Asked the customer which order the complaint is about"
    else:
        summary = "Return proposed for " + ", ".join(
            f"order {a.target} ({a.resolution})" for a in assessment.actions
        )
    return Reply(text=text, summary=summary + ".")


_AVAILABILITY = {
    product_pb2.AVAILABILITY_STATUS_IN_STOCK: "in stock",
    product_pb2.AVAILABILITY_STATUS_UNAVAILABLE: "currently unavailable, with no restock planned yet",
}


def availability_sentence(p: product_pb2.ProductAvailability) -> str:
    """In stock, expected on a date, delayed, or unavailable: never a promise past its date."""
    if p.status == product_pb2.AVAILABILITY_STATUS_INCOMING and p.incoming:
        return f"out of stock; a delivery is expected on {_fmt_day(p.incoming[0].expected_time)}"
    if p.status == product_pb2.AVAILABILITY_STATUS_INCOMING_DELAYED:
        return "out of stock; a restock is on its way but delayed, so we cannot promise a date yet"
    return _AVAILABILITY.get(p.status, "availability unknown")


def full_name(p: product_pb2.Product) -> str:
    """Brand and model without saying the brand twice ("Adidas Ultraboost", not "Adidas Adidas")."""
    return p.name if p.name.lower().startswith(p.brand.lower()) else f"{p.brand} {p.name}"


def _describe(p: product_pb2.Product) -> str:
    return f"{full_name(p)}, US size {p.size_us:g}, {p.color}, {p.material}, ${p.price}"


def _wanted(c: product_pb2.SearchConstraints, needs: Sequence[str] = ()) -> str:
    words: list[str] = [n for n in needs if not n.startswith("~")]
    words += list(c.colors)
    # A model name already carries its brand ("Adidas Ultraboost"): name the brand once.
    words += [
        b for b in c.brands if not any(n.lower().startswith(b.lower()) for n in c.product_names)
    ]
    words += list(c.product_names)
    words += [m.lower() for m in c.materials]
    text = " ".join(words) if words else "shoes"
    if c.size_min and c.size_max and c.size_min != c.size_max:
        text += f" in US sizes {c.size_min:g} to {c.size_max:g}"
    elif c.size_min and c.size_max:
        text += f" in US size {c.size_min:g}"
    elif c.size_min:
        text += f" in US size {c.size_min:g} or larger"
    elif c.size_max:
        text += f" in US size {c.size_max:g} or smaller"
    if c.price_min:
        text += f" {'over' if c.price_min_exclusive else 'from'} ${c.price_min}"
    if c.price_max:
        text += f" {'under' if c.price_max_exclusive else 'up to'} ${c.price_max}"
    if c.weight_max_kg:
        text += f" weighing {'under' if c.weight_max_exclusive else 'at most'} "
        text += f"{c.weight_max_kg:g} kg"
    return "your request for " + text


def product_reply(
    search: product_pb2.SearchProductsResponse | product_pb2.MatchProductsResponse,
) -> Reply:
    """The product reply: each matching product with its availability, or a request for specifics."""
    listed = list(search.matches)[:MAX_PRODUCTS_LISTED]
    products = [
        {"description": _describe(p.product), "availability": availability_sentence(p)}
        for p in listed
    ]
    alternatives = [
        {"description": _describe(p.product), "availability": availability_sentence(p)}
        for p in list(search.alternatives)[:3]
    ]
    no_match_reason = (
        product_pb2.NoMatchReason.Name(search.no_match_reason)
        if isinstance(search, product_pb2.MatchProductsResponse)
        else ""
    )
    text = _env.get_template("product_reply.txt.j2").render(
        answerable=search.answerable,
        need_not_understood=no_match_reason == "NO_MATCH_REASON_NEED_NOT_UNDERSTOOD",
        better_fit_elsewhere=no_match_reason == "NO_MATCH_REASON_BETTER_FIT_ELSEWHERE",
        decline_reason=search.decline_reason,
        products=products,
        alternatives=alternatives,
        more=max(0, len(search.matches) - len(listed)),
        wanted=_wanted(
            search.constraints,
            search.needs if isinstance(search, product_pb2.MatchProductsResponse) else (),
        ),
    )
    if not search.answerable:
        summary = f"Declined the product question ({search.decline_reason}); asked for specifics."
    elif not search.matches and search.alternatives:
        summary = f"No catalog product matches; offered {len(search.alternatives)} alternative(s)."
    elif not search.matches:
        summary = "No catalog product matches; asked for alternatives."
    else:
        in_stock = sum(
            1 for p in search.matches if p.status == product_pb2.AVAILABILITY_STATUS_IN_STOCK
        )
        summary = f"Listed {len(search.matches)} matching product(s), {in_stock} in stock."
    return Reply(text=text, summary=summary)
