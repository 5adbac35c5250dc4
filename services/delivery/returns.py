"""The product-complaint rule: which delivered item, what is wrong with it, and whether a
return (with replacement or refund) is still possible.

Pure: data in, data out, `today` always a parameter. A defective, damaged, wrong or
not-as-described item delivered within RETURN_WINDOW_DAYS gets a return authorisation;
the customer's wish decides replacement or refund (replacement when they do not say);
one authorisation per order. Outside the window, or for an item not delivered, a person
decides (`review_reason`). Injury or safety
is escalated as urgent before this rule runs (the classifier's urgency).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from services.common import wordlists
from services.delivery.actions import ActionKind, ProposedAction, idempotency_key

# Days after delivery during which a faulty item can be returned.
RETURN_WINDOW_DAYS = 30
REPLACEMENT = "replacement"
REFUND = "refund"

# The words of complaints, one section per language: data/returns.toml.
_WORDS = wordlists.load("services.delivery", "returns")
# What the customer reports, most specific first.
_PROBLEMS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, _WORDS.pattern(name))
    for name in ("wrong_item", "damaged", "not_as_described", "defective")
)
_REFUND_WISH = _WORDS.pattern("refund_wish")
_REPLACEMENT_WISH = _WORDS.pattern("replacement_wish")


@dataclass(frozen=True)
class DeliveredItem:
    """An item of the customer's, as shipped."""

    order_id: int
    product_name: str
    tracking_number: str
    delivered_on: date | None
    item_total: Decimal
    currency: str
    status: str = "delivered"


@dataclass(frozen=True)
class ReturnDecision:
    """Where an item stands against the return window."""

    item: DeliveredItem
    days_since_delivery: int
    within_window: bool
    reason: str


def problem_of(text: str) -> str:
    """What the customer reports about the item; "defective" when only the topic says so."""
    lowered = text.lower()
    for name, pattern in _PROBLEMS:
        if pattern.search(lowered):
            return name
    return "defective"


# A wish the customer turns down or puts second: "rather than a replacement", "not a
# refund", "I don't want another pair".
_SET_ASIDE = _WORDS.pattern("set_aside")
# One word may stand between: "not a FULL refund".
_ONE_WORD = re.compile(r"\w+\s+")


def _wishes(text: str) -> str:
    """`text` with the wishes the customer sets aside blanked out."""
    out = text
    for match in _SET_ASIDE.finditer(text):
        at = match.end()
        wish = _REFUND_WISH.match(text, at) or _REPLACEMENT_WISH.match(text, at)
        skipped = _ONE_WORD.match(text, at)
        if wish is None and skipped is not None:
            at = skipped.end()
            wish = _REFUND_WISH.match(text, at) or _REPLACEMENT_WISH.match(text, at)
        if wish:
            start, end = wish.start(), wish.end()
            out = out[:start] + " " * (end - start) + out[end:]
    return out


def resolution_wished(text: str) -> str:
    """What the customer asks for: a refund when they ask for their money back, a
    replacement otherwise; when they name both, the one they do not set aside ("a refund
    rather than a replacement"), or the one they name first."""
    wishes = _wishes(text.lower())
    refund, replacement = _REFUND_WISH.search(wishes), _REPLACEMENT_WISH.search(wishes)
    if refund and (not replacement or refund.start() < replacement.start()):
        return REFUND
    return REPLACEMENT


def decide(item: DeliveredItem, today: date) -> ReturnDecision:
    """Within RETURN_WINDOW_DAYS of delivery (the day of delivery counts as day 0)."""
    if item.delivered_on is None:
        return ReturnDecision(item, 0, False, "the item has not been delivered yet")
    days = (today - item.delivered_on).days
    if days <= RETURN_WINDOW_DAYS:
        return ReturnDecision(
            item,
            days,
            True,
            f"delivered {days} days ago, within the {RETURN_WINDOW_DAYS}-day window",
        )
    return ReturnDecision(
        item, days, False, f"delivered {days} days ago, past the {RETURN_WINDOW_DAYS}-day window"
    )


def authorisations(
    job_id: str, decisions: Iterable[ReturnDecision], problem: str, resolution: str
) -> tuple[ProposedAction, ...]:
    """A return authorisation for each order with an item within the return window, at
    most one per order (for its first such item), in the order given. `problem` is what
    the customer reports (`problem_of`), `resolution` what they wish (`resolution_wished`);
    a refund carries the item's total as its amount, a replacement no amount."""
    actions: list[ProposedAction] = []
    proposed: set[int] = set()
    for decision in decisions:
        item = decision.item
        if not decision.within_window or item.order_id in proposed:
            continue
        proposed.add(item.order_id)
        target = str(item.order_id)
        actions.append(
            ProposedAction(
                kind=ActionKind.RETURN_AUTHORISATION,
                target=target,
                amount=item.item_total if resolution == REFUND else None,
                currency=item.currency,
                idempotency_key=idempotency_key(job_id, ActionKind.RETURN_AUTHORISATION, target),
                rationale=(
                    f"{problem.replace('_', ' ')} {item.product_name} "
                    f"({decision.reason}); return with {resolution}"
                ),
                resolution=resolution,
            )
        )
    return tuple(actions)


def window_end(delivered_on: date) -> date:
    """The last day a faulty item delivered on `delivered_on` can be returned (the day of
    delivery is day 0)."""
    return delivered_on + timedelta(days=RETURN_WINDOW_DAYS)


def review_reason(decisions: Iterable[ReturnDecision]) -> str:
    """Why a person must decide, in plain words: every item past its return window (with
    the day its window ended) or not delivered; "" when the return policy answers the
    complaint."""
    outside = [d for d in decisions if not d.within_window]
    if not outside:
        return ""
    return "complaint outside the return policy: " + "; ".join(
        f"order {d.item.order_id} ({d.item.product_name}) "
        + (
            f"delivered {d.days_since_delivery} days ago, on {d.item.delivered_on.isoformat()},"
            f" so its {RETURN_WINDOW_DAYS}-day return window ended on"
            f" {window_end(d.item.delivered_on).isoformat()}"
            if d.item.delivered_on is not None
            else "not delivered"
        )
        for d in outside
    )


def which_items(
    text: str,
    items: list[DeliveredItem],
    order_ids: list[int],
    tracking_numbers: list[str],
    today: date,
) -> list[DeliveredItem]:
    """The items a complaint is about: those of the orders or tracking numbers it names;
    else those whose product it names ("the Ultraboosts"); else the customer's only item
    delivered within the return window. Empty when it cannot tell (the reply asks)."""
    if order_ids or tracking_numbers:
        wanted = {t.upper() for t in tracking_numbers}
        return [i for i in items if i.order_id in order_ids or i.tracking_number.upper() in wanted]
    named = _named_items(text, items)
    if named:
        return named
    recent = [
        i
        for i in items
        if i.delivered_on is not None and (today - i.delivered_on).days <= RETURN_WINDOW_DAYS
    ]
    return recent if len(recent) == 1 else []


def numbers_to_look_up(
    text: str,
    items: Sequence[DeliveredItem],
    own: tuple[list[int], list[str]],
    known: tuple[Sequence[int], Sequence[str]],
) -> tuple[list[int], list[str]]:
    """The (order numbers, tracking numbers) a complaint is looked up by: its own; when it
    names none and no product of the customer's either, the case's known order numbers
    that are the customer's items' ("how do I send back the faulty pair I told you
    about?" is about the case's order), else the case's known tracking numbers that are;
    else none, and `which_items` goes by the only item within the return window."""
    if own[0] or own[1]:
        return own
    if _named_items(text, items):
        return [], []
    orders = [n for n in known[0] if any(i.order_id == n for i in items)]
    if orders:
        return orders, []
    numbers = {i.tracking_number.upper() for i in items if i.tracking_number}
    return [], [t for t in known[1] if t.upper() in numbers]


def _named_items(text: str, items: Iterable[DeliveredItem]) -> list[DeliveredItem]:
    """The items whose product the text names."""
    lowered = " " + " ".join(re.sub(r"[^a-z0-9 ]", " ", text.lower()).split()) + " "
    return [i for i in items if _names(i.product_name, lowered)]


def _names(product_name: str, text: str) -> bool:
    """Whether the text names the product: its model without the brand ("air max"), or
    a distinctive word of it ("ultraboost")."""
    words = re.sub(r"[^a-z0-9 ]", " ", product_name.lower()).split()
    model = " ".join(words[1:])
    if model and f" {model}" in text:
        return True
    return any(len(w) >= 5 and f" {w}" in text for w in words[1:])
