"""Tier-0 replies rendered from the structured facts with Jinja2 templates, in a reply
language.

Every number, date and tracking number in a reply comes from the facts the services
returned; nothing is invented here. Each reply is worded by the `Wording` it is given
(`reply_language.wording(language)`): every sentence the customer reads is marked for
translation (`_ = words.gettext`, `words.ngettext` where a count varies, `N_` where a
message is defined apart from where it is used; `make messages` extracts them), dates and
amounts are written the language's way (`words.day`, `words.money`), and the reply's
structure and facts are the same in every language. The one-line summary is for
reviewers and case memory: it is English whatever the wording (the pipeline keeps the
English rendering's), so it is not marked.

Wording that comes with the facts is translated when the shop knows it (the carriers'
delay reasons, refund reasons, the product service's decline reasons, the catalog's
colours and materials, the product service's needs) and is otherwise quoted as given.
Product, brand and carrier names are never translated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from crm.v1 import delivery_pb2, product_pb2, types_pb2
from services.orchestrator.reply_language import ENGLISH, Wording, format_money

MAX_PRODUCTS_LISTED = 10


def N_(message: str) -> str:
    """Marks a message for translation where it is defined (extracted by `make
    messages`); it is translated where it is used, with the reply's `Wording`."""
    return message


@dataclass(frozen=True)
class Reply:
    """A reply and the one-line summary shown in the queue and kept in case memory."""

    text: str
    summary: str


def _amount(m: types_pb2.Money) -> Decimal:
    return Decimal(m.amount or "0")


def _summary_money(m: types_pb2.Money) -> str:
    """An amount in the summary: English, as the English reply writes it."""
    return format_money(m, ENGLISH)


def _summary_days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _usd(amount: str) -> types_pb2.Money:
    """A catalog price or a price constraint (catalog prices are in US dollars)."""
    return types_pb2.Money(amount=amount, currency_code="USD")


# --- delivery --------------------------------------------------------------------------


def _on_its_way(status: int, days_late: int, words: Wording) -> str:
    """Where a parcel that has not arrived is, as a whole sentence: on time, or late by
    `days_late` days (placeholders: start, end and num, the days late)."""
    late = days_late > 0
    n = days_late
    if status == delivery_pb2.SHIPMENT_STATUS_PROCESSING:
        if late:
            return words.ngettext(
                "It has not shipped yet, and it is now %(num)d day past the promised delivery"
                " window (%(start)s to %(end)s).",
                "It has not shipped yet, and it is now %(num)d days past the promised delivery"
                " window (%(start)s to %(end)s).",
                n,
            )
        return words.gettext(
            "It has not shipped yet; it is expected between %(start)s and %(end)s."
        )
    if status == delivery_pb2.SHIPMENT_STATUS_IN_TRANSIT:
        if late:
            return words.ngettext(
                "It is in transit with the carrier, and it is now %(num)d day past the promised"
                " delivery window (%(start)s to %(end)s).",
                "It is in transit with the carrier, and it is now %(num)d days past the promised"
                " delivery window (%(start)s to %(end)s).",
                n,
            )
        return words.gettext(
            "It is in transit with the carrier; it is expected between %(start)s and %(end)s."
        )
    if status == delivery_pb2.SHIPMENT_STATUS_OUT_FOR_DELIVERY:
        if late:
            return words.ngettext(
                "It is out for delivery, and it is now %(num)d day past the promised delivery"
                " window (%(start)s to %(end)s).",
                "It is out for delivery, and it is now %(num)d days past the promised delivery"
                " window (%(start)s to %(end)s).",
                n,
            )
        return words.gettext(
            "It is out for delivery; it is expected between %(start)s and %(end)s."
        )
    if status == delivery_pb2.SHIPMENT_STATUS_EXCEPTION:
        if late:
            return words.ngettext(
                "The carrier has reported a delivery problem, and the parcel is now %(num)d day"
                " past the promised delivery window (%(start)s to %(end)s).",
                "The carrier has reported a delivery problem, and the parcel is now %(num)d days"
                " past the promised delivery window (%(start)s to %(end)s).",
                n,
            )
        return words.gettext(
            "The carrier has reported a delivery problem; the parcel is expected between"
            " %(start)s and %(end)s."
        )
    if late:
        return words.ngettext(
            "It is on its way, and it is now %(num)d day past the promised delivery window"
            " (%(start)s to %(end)s).",
            "It is on its way, and it is now %(num)d days past the promised delivery window"
            " (%(start)s to %(end)s).",
            n,
        )
    return words.gettext("It is on its way; it is expected between %(start)s and %(end)s.")


def shipment_sentence(s: delivery_pb2.ShipmentAssessment, words: Wording) -> str:
    """Where a shipment is and how late it is, in whole sentences, with the carrier's
    reason for a delay or a parcel not yet arrived, when it gave one."""
    _ = words.gettext
    window = {
        "start": words.day(s.expected_start_time),
        "end": words.day(s.expected_end_time),
        "num": s.days_late,
    }
    # The carrier's own words, quoted as its feed gives them (not translated).
    reason = s.delay_reason
    sorry = _("We are sorry for the delay.")
    if s.status == delivery_pb2.SHIPMENT_STATUS_CANCELLED:
        return _("This delivery was cancelled.")
    if s.status == delivery_pb2.SHIPMENT_STATUS_DELIVERED:
        if not s.HasField("delivered_time"):
            if s.days_late > 0:
                late = words.ngettext(
                    "It has been delivered, %(num)d day after the promised window"
                    " (%(start)s to %(end)s).",
                    "It has been delivered, %(num)d days after the promised window"
                    " (%(start)s to %(end)s).",
                    s.days_late,
                )
                sentences = [late % window, sorry]
            else:
                sentences = [_("It has been delivered.")]
        elif s.days_late > 0:
            late = words.ngettext(
                "It was delivered on %(day)s, %(num)d day after the promised window"
                " (%(start)s to %(end)s).",
                "It was delivered on %(day)s, %(num)d days after the promised window"
                " (%(start)s to %(end)s).",
                s.days_late,
            )
            sentences = [late % {**window, "day": words.day(s.delivered_time)}, sorry]
        else:
            on_time = _(
                "It was delivered on %(day)s, within the promised window (%(start)s to %(end)s)."
            )
            sentences = [on_time % {**window, "day": words.day(s.delivered_time)}]
        if s.days_late > 0 and s.delay_reason:
            sentences.append(_("The carrier reported: %(reason)s.") % {"reason": reason})
        return " ".join(sentences)
    sentences = [_on_its_way(s.status, s.days_late, words) % window]
    if s.days_late > 0:
        sentences.append(sorry)
    if s.delay_reason:
        sentences.append(_("The carrier reports: %(reason)s.") % {"reason": reason})
    return " ".join(sentences)


_FEE_REFUNDS = (
    types_pb2.ACTION_TYPE_DELIVERY_FEE_REFUND,
    types_pb2.ACTION_TYPE_DELIVERY_FEE_REFUND_ON_ARRIVAL,
)


def action_sentence(a: types_pb2.ProposedAction, words: Wording, *, further: bool = False) -> str:
    """What the customer is told about one proposed action (sent only once approved).
    `further`: part of the delivery fee was already refunded, and this refund adds to it."""
    _ = words.gettext
    amount = {"amount": words.money(a.amount)}
    if a.type == types_pb2.ACTION_TYPE_DELIVERY_FEE_REFUND:
        if further:
            return _(
                "We are refunding a further %(amount)s of your delivery fee for the delay."
            ) % (amount)
        return _("We are refunding %(amount)s of your delivery fee for the delay.") % amount
    if a.type == types_pb2.ACTION_TYPE_DELIVERY_FEE_REFUND_ON_ARRIVAL:
        if further:
            return (
                _(
                    "When it arrives, we will refund a further part of your delivery fee for the"
                    " delay (%(amount)s as of today)."
                )
                % amount
            )
        return (
            _(
                "When it arrives, we will refund part of your delivery fee for the delay"
                " (%(amount)s as of today)."
            )
            % amount
        )
    if a.type == types_pb2.ACTION_TYPE_EXPEDITED_COUPON:
        return _(
            "As this is not the first delay you have had with us, we are adding a coupon for"
            " free expedited delivery on your next order; its code follows in a separate e-mail."
        )
    if a.type == types_pb2.ACTION_TYPE_CHARGE_REFUND:
        return _("We are refunding %(amount)s for order %(order)s.") % {
            **amount,
            "order": a.target,
        }
    if a.type == types_pb2.ACTION_TYPE_CARRIER_UPDATE_REQUEST:
        return _("We have asked the carrier for an update and will let you know what they say.")
    return ""


def _fee_refunded(s: delivery_pb2.ShipmentAssessment) -> bool:
    return (s.HasField("fee_refunded") and _amount(s.fee_refunded) > 0) or any(
        _amount(r.amount) > 0 for r in s.fee_refunds
    )


def _free_delivery(s: delivery_pb2.ShipmentAssessment) -> bool:
    """The order was charged no delivery fee (a fee of zero, not an unknown fee)."""
    return s.HasField("delivery_fee") and _amount(s.delivery_fee) <= 0


def fee_refund_sentence(r: delivery_pb2.RefundRecord, words: Wording) -> str:
    """One delivery-fee refund already made (on the day it was completed) or on its way
    (with the day it was requested)."""
    _ = words.gettext
    if r.status == "completed" and r.HasField("complete_time"):
        return _(
            "We already refunded %(amount)s of the delivery fee for this order on %(day)s."
        ) % {
            "amount": words.money(r.amount),
            "day": words.day(r.complete_time),
        }
    return _(
        "We have already arranged a refund of %(amount)s of the delivery fee for this order: it"
        " was requested on %(day)s and is on its way to your payment method."
    ) % {"amount": words.money(r.amount), "day": words.day(r.request_time)}


def shipment_sentences(
    s: delivery_pb2.ShipmentAssessment,
    actions: Sequence[types_pb2.ProposedAction],
    words: Wording,
) -> list[str]:
    """What the reply says about one shipment after its status: the delivery fee of a
    late parcel (refunded now, already refunded, or none charged: a customer who asks for
    the fee back is told why it is not refunded), the other actions proposed for it, and
    a request to confirm the delivery address when the carrier holds the parcel for it.

    A delivery-fee refund already made is said with its amount and its day
    (`fee_refunds`: completed on, or requested on and on its way); facts that give only
    the total already refunded (`fee_refunded`) get the amount only."""
    _ = words.gettext
    own = [a for a in actions if a.target == s.tracking_number]
    refunds = [a for a in own if a.type in _FEE_REFUNDS and _amount(a.amount) > 0]
    sentences: list[str] = []
    if s.days_late > 0 and _fee_refunded(s):
        made = [r for r in s.fee_refunds if _amount(r.amount) > 0]
        if made:
            sentences += [fee_refund_sentence(r, words) for r in made]
            if not refunds:
                sentences.append(_("That is what our policy gives for this delay."))
        else:
            refunded = {"amount": words.money(s.fee_refunded)}
            if refunds:
                sentences.append(
                    _("We have already refunded %(amount)s of the delivery fee for this order.")
                    % refunded
                )
            else:
                sentences.append(
                    _(
                        "We have already refunded %(amount)s of the delivery fee for this order,"
                        " which is what our policy gives for this delay."
                    )
                    % refunded
                )
    elif s.days_late > 0 and not refunds and _free_delivery(s):
        sentences.append(
            _("No delivery fee was charged on this order, so there is no delivery fee to refund.")
        )
    sentences += [action_sentence(a, words, further=_fee_refunded(s)) for a in own]
    if s.address_to_confirm:
        sentences.append(
            _(
                "To get the parcel to you, could you reply to confirm your full delivery"
                " address? We will pass it on to the carrier."
            )
        )
    return [x for x in sentences if x]


def _shipment_summary(s: delivery_pb2.ShipmentAssessment) -> str:
    label = s.tracking_number or f"order {s.order_id}"
    text = f"{label}: {'on time' if s.days_late <= 0 else _summary_days(s.days_late) + ' late'}"
    if s.days_late > 0 and _fee_refunded(s):
        total = (
            s.fee_refunded
            if s.HasField("fee_refunded")
            else types_pb2.Money(
                amount=str(sum((_amount(r.amount) for r in s.fee_refunds), Decimal(0))),
                currency_code=s.fee_refunds[0].amount.currency_code,
            )
        )
        text += f", {_summary_money(total)} of the fee already refunded"
    elif s.days_late > 0 and _free_delivery(s):
        text += ", no delivery fee charged"
    if s.address_to_confirm:
        text += ", asked to confirm the delivery address"
    return text


def _shipment_label(s: delivery_pb2.ShipmentAssessment, by_order: bool, words: Wording) -> str:
    """How a shipment is named: by its tracking number, with its order when it was looked
    up by the order (a shipment not yet handed to a carrier has only its order)."""
    _ = words.gettext
    if s.tracking_number and by_order:
        return _("Order %(order)s, tracking number %(tracking)s") % {
            "order": s.order_id,
            "tracking": s.tracking_number,
        }
    if s.tracking_number:
        return _("Tracking number %(tracking)s") % {"tracking": s.tracking_number}
    return _("Order %(order)s") % {"order": s.order_id}


def delivery_reply(assessment: delivery_pb2.AssessDeliveriesResponse, words: Wording) -> Reply:
    """The late-delivery reply: each tracking number's status and the action proposed for it."""
    shipments = [
        {
            # Looked up by its order number: the reply names the order.
            "label": _shipment_label(s, s.order_id in assessment.order_ids, words),
            "carrier": s.carrier,
            "product_name": s.product_name,
            "status_sentence": shipment_sentence(s, words),
            "action_sentences": shipment_sentences(s, assessment.actions, words),
        }
        for s in assessment.shipments
    ]
    unmatched = list(assessment.unmatched_tracking_numbers)
    unmatched_orders = list(assessment.unmatched_order_ids)
    unshipped_orders = list(assessment.unshipped_order_ids)
    text = words.template("delivery_reply.txt.j2").render(
        shipments=shipments,
        unmatched=unmatched,
        unmatched_orders=unmatched_orders,
        unshipped_orders=unshipped_orders,
        several=len(shipments) + len(unmatched) + len(unmatched_orders) + len(unshipped_orders) > 1,
    )
    if not (shipments or unmatched or unmatched_orders or unshipped_orders):
        summary = "Asked the customer for the tracking number"
    else:
        parts = [_shipment_summary(s) for s in assessment.shipments]
        parts += [f"order {n}: not shipped yet" for n in unshipped_orders]
        parts += [f"{t}: not on this account" for t in unmatched]
        parts += [f"order {n}: not on this account" for n in unmatched_orders]
        refunds = [_summary_money(a.amount) for a in assessment.actions if a.type in _FEE_REFUNDS]
        summary = "Delivery status " + "; ".join(parts)
        if refunds:
            summary += f"; proposed fee refund {', '.join(refunds)}"
    return Reply(text=text, summary=summary + ".")


# --- billing and transactions ----------------------------------------------------------


def billing_reply(assessment: delivery_pb2.AssessBillingResponse, words: Wording) -> Reply:
    """The billing-dispute reply: per order what it owes, what was charged, and the refund
    of the difference (only orders whose records show an overcharge reach the reply)."""
    orders = [
        {
            "order_id": o.order_id,
            "owed": words.money(o.owed),
            "charged": words.money(o.charged),
            "refunded": words.money(o.refunded) if _amount(o.refunded) > 0 else "",
            "overcharge": words.money(o.overcharge),
        }
        for o in assessment.orders
    ]
    unmatched = list(assessment.unmatched_order_ids)
    text = words.template("billing_reply.txt.j2").render(orders=orders, unmatched=unmatched)
    if not orders and not unmatched:
        summary = "Asked the customer for the order number"
    else:
        parts = [
            f"order {o.order_id}: overcharged {_summary_money(o.overcharge)}"
            for o in assessment.orders
        ]
        parts += [f"order {n}: not on this account" for n in unmatched]
        summary = "Billing " + "; ".join(parts)
    return Reply(text=text, summary=summary + ".")


def _refund_status(r: delivery_pb2.RefundRecord, words: Wording) -> str:
    _ = words.gettext
    if r.status == "completed" and r.HasField("complete_time"):
        return _(
            "completed on %(day)s; it can take a few business days to show on your statement."
        ) % {"day": words.day(r.complete_time)}
    if r.status == "pending":
        return _("requested on %(day)s and on its way to your payment method.") % {
            "day": words.day(r.request_time)
        }
    return _("it could not be completed; our team will contact you about it.")


def transaction_reply(assessment: delivery_pb2.AssessBillingResponse, words: Wording) -> Reply:
    """The answer to a payment, refund or return status question, from the records."""
    _ = words.gettext
    orders = [
        {
            "order_id": o.order_id,
            "charges": [
                {
                    "amount": words.money(c.amount),
                    "day": words.day(c.charge_time),
                    "captured": c.captured,
                }
                for c in o.charges
            ],
            "refunds": [
                {
                    "amount": words.money(r.amount),
                    "reason": r.reason or _("refund"),
                    "status_sentence": _refund_status(r, words),
                }
                for r in o.refunds
            ],
        }
        for o in assessment.orders
    ]
    unmatched = list(assessment.unmatched_order_ids)
    text = words.template("transaction_reply.txt.j2").render(orders=orders, unmatched=unmatched)
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


# --- complaints ------------------------------------------------------------------------

# The apology for each problem the delivery service reads, about the one item
# complained about (by its product name) or about the order.
_PROBLEM_SENTENCES = {
    "wrong_item": (
        N_("We are very sorry that your %(product)s is not what you ordered."),
        N_("We are very sorry that your order is not what you ordered."),
    ),
    "damaged": (
        N_("We are very sorry that your %(product)s arrived damaged."),
        N_("We are very sorry that your order arrived damaged."),
    ),
    "not_as_described": (
        N_("We are very sorry that your %(product)s is not as described."),
        N_("We are very sorry that your order is not as described."),
    ),
    "defective": (
        N_("We are very sorry that your %(product)s is faulty."),
        N_("We are very sorry that your order is faulty."),
    ),
}
_PROBLEM_OTHERWISE = (
    N_("We are very sorry that your %(product)s has a problem."),
    N_("We are very sorry that your order has a problem."),
)


def complaint_reply(assessment: delivery_pb2.AssessComplaintResponse, words: Wording) -> Reply:
    """The complaint reply: the return arranged for each item within the return window
    (items outside it are escalated before a reply is drafted)."""
    _ = words.gettext
    actions = {a.target: a for a in assessment.actions}
    items = []
    for i in assessment.items:
        action = actions.get(str(i.order_id))
        if action is not None and action.resolution == "refund":
            sentence = _(
                "we will send you a prepaid return label, and refund %(amount)s to your original"
                " payment method once the pair is back."
            ) % {"amount": words.money(action.amount)}
        else:
            sentence = _(
                "we will send you a prepaid return label and ship a replacement pair as soon as"
                " the return is on its way."
            )
        items.append(
            {
                "order_id": i.order_id,
                "product_name": i.product_name,
                "delivered": words.day(i.delivered_time) if i.HasField("delivered_time") else "",
                "sentence": sentence,
            }
        )
    about_item, about_order = _PROBLEM_SENTENCES.get(assessment.problem, _PROBLEM_OTHERWISE)
    apology = (
        _(about_item) % {"product": items[0]["product_name"]} if len(items) == 1 else _(about_order)
    )
    text = words.template("complaint_reply.txt.j2").render(
        items=items,
        unmatched_orders=list(assessment.unmatched_order_ids),
        unmatched_tracking=list(assessment.unmatched_tracking_numbers),
        apology=apology,
    )
    if not items:
        summary = "Asked the customer which order the complaint is about"
    else:
        summary = "Return proposed for " + ", ".join(
            f"order {a.target} ({a.resolution})" for a in assessment.actions
        )
    return Reply(text=text, summary=summary + ".")


# --- products --------------------------------------------------------------------------


def availability_sentence(p: product_pb2.ProductAvailability, words: Wording) -> str:
    """In stock, expected on a date, delayed, or unavailable: never a promise past its date."""
    _ = words.gettext
    if p.status == product_pb2.AVAILABILITY_STATUS_INCOMING and p.incoming:
        return _("out of stock; a delivery is expected on %(day)s") % {
            "day": words.day(p.incoming[0].expected_time)
        }
    if p.status == product_pb2.AVAILABILITY_STATUS_INCOMING_DELAYED:
        return _(
            "out of stock; a restock is on its way but delayed, so we cannot promise a date yet"
        )
    if p.status == product_pb2.AVAILABILITY_STATUS_IN_STOCK:
        return _("in stock")
    if p.status == product_pb2.AVAILABILITY_STATUS_UNAVAILABLE:
        return _("currently unavailable, with no restock planned yet")
    return _("availability unknown")


def full_name(p: product_pb2.Product) -> str:
    """Brand and model without saying the brand twice ("Adidas Ultraboost", not "Adidas Adidas")."""
    return p.name if p.name.lower().startswith(p.brand.lower()) else f"{p.brand} {p.name}"


def _describe(p: product_pb2.Product, words: Wording) -> str:
    return words.gettext("%(name)s, US size %(size)s, %(colour)s, %(material)s, %(price)s") % {
        "name": full_name(p),
        "size": words.number(p.size_us),
        # The catalog's own words, as it writes them (like the product's name).
        "colour": p.color,
        "material": p.material,
        "price": words.money(_usd(p.price)),
    }


# How the restatement of a product request reads: each phrase whole, with its values as
# placeholders. A list of values reads "a, b or c" ("in black or red/black").
_WANTED = {
    "request": N_("your request for %(what)s"),
    "name": N_("the %(name)s"),
    "names_as": N_("%(names)s as %(needs)s %(kind)s"),
    "brands_kind": N_("%(brands)s %(kind)s"),
    "needs_kind": N_("%(needs)s %(kind)s"),
    "brands_needs_kind": N_("%(brands)s %(needs)s %(kind)s"),
    "colours": N_("in %(colours)s"),
    "plain_colours": N_("in plain %(colours)s"),
    "materials": N_("made of %(materials)s"),
    "size": N_("in US size %(size)s"),
    "sizes": N_("in US sizes %(low)s to %(high)s"),
    "size_min": N_("in US size %(size)s or larger"),
    "size_max": N_("in US size %(size)s or smaller"),
    "price_over": N_("priced over %(price)s"),
    "price_from": N_("priced from %(price)s"),
    "price_under": N_("priced under %(price)s"),
    "price_up_to": N_("priced up to %(price)s"),
    "weight_under": N_("weighing under %(weight)s kg"),
    "weight_at_most": N_("weighing at most %(weight)s kg"),
    "weight_over": N_("weighing over %(weight)s kg"),
    "weight_at_least": N_("weighing at least %(weight)s kg"),
}
_LISTED = {"or": N_("%(items)s or %(last)s"), "and": N_("%(items)s and %(last)s")}
_SHOES = N_("shoes")
# The product service's needs (`MatchProductsResponse.needs`, its thesaurus concepts) that
# name a kind of footwear: the noun of the restatement ("waterproof boots"), not one more
# modifier of "shoes" ("boot shoes").
_FOOTWEAR_KINDS = {"boot": N_("boots"), "sandal": N_("sandals"), "clog": N_("clogs")}
# A degree joins the need it qualifies (the service writes "cushioning+maximum") and is
# said first: "maximum cushioning".
_DEGREES = {"maximum": N_("maximum %(need)s")}
# The needs of the product service's thesaurus (services/product/needs.py, concepts
# with "_" read as a space) as the restatement says them: in English a modifier of the
# noun ("all-day shoes"); a translation says it the way its language qualifies the noun.
# A need not here is said as the service wrote it (a concept of several words hyphenated).
_NEEDS = {
    "all day": N_("all-day"),
    "bold": N_("bold"),
    "breathable": N_("breathable"),
    "chunky": N_("chunky"),
    "classic": N_("classic"),
    "comfort": N_("comfort"),
    "cushioning": N_("cushioning"),
    "durable": N_("durable"),
    "energy return": N_("energy-return"),
    "everyday": N_("everyday"),
    "footbed": N_("footbed"),
    "gym": N_("gym"),
    "high top": N_("high-top"),
    "hiking": N_("hiking"),
    "lightweight": N_("lightweight"),
    "neutral": N_("neutral"),
    "performance": N_("performance"),
    "premium": N_("premium"),
    "responsive": N_("responsive"),
    "retro": N_("retro"),
    "running": N_("running"),
    "skate": N_("skate"),
    "smooth ride": N_("smooth-ride"),
    "stability": N_("stability"),
    "steady": N_("steady"),
    "style": N_("style"),
    "support": N_("support"),
    "tennis": N_("tennis"),
    "trail": N_("trail"),
    "versatile": N_("versatile"),
    "walking": N_("walking"),
    "water": N_("water"),
    "waterproof": N_("waterproof"),
    "work": N_("work"),
}


def _listed(items: Sequence[str], last: str, words: Wording) -> str:
    """ "a", "a or b", "a, b or c" (`last` the joining word: "or" or "and")."""
    if len(items) <= 1:
        return "".join(items)
    return words.gettext(_LISTED[last]) % {"items": ", ".join(items[:-1]), "last": items[-1]}


def _unique(items: Sequence[str]) -> list[str]:
    """The items without repeats (compared in lower case), in their first order."""
    seen: dict[str, str] = {}
    for item in items:
        seen.setdefault(item.lower(), item)
    return list(seen.values())


def _need_word(need: str, words: Wording) -> str:
    need = need.strip()
    known = _NEEDS.get(need)
    return words.gettext(known) if known else need.replace(" ", "-")


def _need_words(needs: Sequence[str], words: Wording) -> tuple[list[str], list[str]]:
    """The needs as modifiers of the noun ("running", "all-day", "maximum cushioning")
    and the kinds of footwear named ("boots"), each once. A need the service read only as
    a word stem ("~cork") is left out: a stem is not a word to say back. The service writes
    one need's parts joined with "+" and alternatives with "/"; a concept of several words
    is hyphenated before the noun ("all-day shoes")."""
    modifiers: list[str] = []
    kinds: list[str] = []
    for need in needs:
        if "~" in need or not need.strip():
            continue
        parts = need.split("+")
        if len(parts) == 1 and all(a in _FOOTWEAR_KINDS for a in parts[0].split("/")):
            kinds += [words.gettext(_FOOTWEAR_KINDS[a]) for a in parts[0].split("/")]
            continue
        degrees = [_DEGREES[p] for p in parts if p in _DEGREES]
        qualities = [
            _listed([_need_word(a, words) for a in part.split("/")], "or", words)
            for part in parts
            if part not in _DEGREES
        ]
        modifier = " ".join(qualities)
        for degree in degrees:
            modifier = words.gettext(degree) % {"need": modifier}
        modifiers.append(modifier)
    return _unique(modifiers), _unique(kinds)


def _wanted(c: product_pb2.SearchConstraints, words: Wording, needs: Sequence[str] = ()) -> str:
    """The customer's request restated from the constraints and needs the product service
    read, each said once: "your request for running shoes in black or red/black, in US
    size 9.5, priced under $150.00"."""
    _ = words.gettext
    modifiers, kinds = _need_words(needs, words)
    kind = _listed(kinds, "or", words) or _(_SHOES)
    names = _unique(list(c.product_names))
    # A model name already carries its brand ("Adidas Ultraboost"): name the brand once.
    brands = [
        b
        for b in _unique(list(c.brands))
        if not any(n.lower().startswith(b.lower()) for n in names)
    ]
    needs_said = _listed(modifiers, "and", words)
    if names:
        named = _listed(
            [_(_WANTED["name"]) % {"name": n} for n in names]
            + [_(_WANTED["brands_kind"]) % {"brands": b, "kind": kind} for b in brands],
            "or",
            words,
        )
        what = (
            _(_WANTED["names_as"]) % {"names": named, "needs": needs_said, "kind": kind}
            if modifiers
            else named
        )
    elif brands and modifiers:
        what = _(_WANTED["brands_needs_kind"]) % {
            "brands": _listed(brands, "or", words),
            "needs": needs_said,
            "kind": kind,
        }
    elif brands:
        what = _(_WANTED["brands_kind"]) % {"brands": _listed(brands, "or", words), "kind": kind}
    elif modifiers:
        what = _(_WANTED["needs_kind"]) % {"needs": needs_said, "kind": kind}
    else:
        what = kind
    details: list[str] = []
    # Colours and materials as written in the catalog, read as words: "in black or red/black".
    colours = _unique([x.lower() for x in c.colors])
    if colours:
        # Single-word colours first, so that "red" and "cherry red" never stand side by side.
        colours.sort(key=lambda x: len(x.split()))
        key = "plain_colours" if c.plain_colors else "colours"
        details.append(_(_WANTED[key]) % {"colours": _listed(colours, "or", words)})
    materials = _unique([x.lower() for x in c.materials])
    if materials:
        details.append(_(_WANTED["materials"]) % {"materials": _listed(materials, "or", words)})
    if c.size_min and c.size_max and c.size_min != c.size_max:
        details.append(
            _(_WANTED["sizes"])
            % {"low": words.number(c.size_min), "high": words.number(c.size_max)}
        )
    elif c.size_min and c.size_max:
        details.append(_(_WANTED["size"]) % {"size": words.number(c.size_min)})
    elif c.size_min:
        details.append(_(_WANTED["size_min"]) % {"size": words.number(c.size_min)})
    elif c.size_max:
        details.append(_(_WANTED["size_max"]) % {"size": words.number(c.size_max)})
    if c.price_min:
        key = "price_over" if c.price_min_exclusive else "price_from"
        details.append(_(_WANTED[key]) % {"price": words.money(_usd(c.price_min))})
    if c.price_max:
        key = "price_under" if c.price_max_exclusive else "price_up_to"
        details.append(_(_WANTED[key]) % {"price": words.money(_usd(c.price_max))})
    if c.weight_min_kg:
        key = "weight_over" if c.weight_min_exclusive else "weight_at_least"
        details.append(_(_WANTED[key]) % {"weight": words.number(c.weight_min_kg)})
    if c.weight_max_kg:
        key = "weight_under" if c.weight_max_exclusive else "weight_at_most"
        details.append(_(_WANTED[key]) % {"weight": words.number(c.weight_max_kg)})
    text = f"{what} {', '.join(details)}" if details else what
    return _(_WANTED["request"]) % {"what": text}


# The product service's decline reasons (services/product/declines.py, word for word),
# translated in a reply in another language. A reason not here (the LLM tier's own) is
# given as the service wrote it in English, and replaced by `_DECLINED` in another
# language.
_DECLINES = frozenset(
    {
        N_(
            "No brand, model, colour, material, US size, price, weight or use the catalog"
            " describes could be read from the message, so there is nothing specific to look up."
        ),
        N_(
            "The message asks for the whole catalog or an export of it; a product search answers"
            " questions about specific products (a brand, model, colour, material, size or price)."
        ),
        N_(
            "The message asks for a promise the catalog does not record (how many years a shoe"
            " lasts, a medical or fitness outcome, a guarantee or a prediction); the catalog"
            " describes brand, model, colour, material, size, price, weight and use."
        ),
        N_(
            "The message contains SQL or instructions aimed at the system rather than a question"
            " about products; nothing was looked up."
        ),
    }
)
_DECLINED = N_("We could not answer this question from our catalog.")


def _decline_reason(reason: str, words: Wording) -> str:
    if reason in _DECLINES or words.language == ENGLISH:
        return words.gettext(reason) if reason in _DECLINES else reason
    return words.gettext(_DECLINED)


def product_reply(
    search: product_pb2.SearchProductsResponse | product_pb2.MatchProductsResponse,
    words: Wording,
) -> Reply:
    """The product reply: each matching product with its availability, or a request for specifics."""
    listed = list(search.matches)[:MAX_PRODUCTS_LISTED]
    products = [
        {
            "description": _describe(p.product, words),
            "availability": availability_sentence(p, words),
        }
        for p in listed
    ]
    alternatives = [
        {
            "description": _describe(p.product, words),
            "availability": availability_sentence(p, words),
        }
        for p in list(search.alternatives)[:3]
    ]
    no_match_reason = (
        product_pb2.NoMatchReason.Name(search.no_match_reason)
        if isinstance(search, product_pb2.MatchProductsResponse)
        else ""
    )
    text = words.template("product_reply.txt.j2").render(
        answerable=search.answerable,
        need_not_understood=no_match_reason == "NO_MATCH_REASON_NEED_NOT_UNDERSTOOD",
        better_fit_elsewhere=no_match_reason == "NO_MATCH_REASON_BETTER_FIT_ELSEWHERE",
        decline_reason=_decline_reason(search.decline_reason, words),
        products=products,
        alternatives=alternatives,
        more=max(0, len(search.matches) - len(listed)),
        wanted=_wanted(
            search.constraints,
            words,
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
