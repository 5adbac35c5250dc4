"""The product-complaint rule: which delivered item, what is wrong with it, and whether a
return (with replacement or refund) is still possible.

Pure: data in, data out, `today` always a parameter. A defective, damaged, wrong or
not-as-described item delivered within RETURN_WINDOW_DAYS gets a return authorisation;
the customer's wish decides replacement or refund (replacement when they do not say).
Outside the window, or for an item not delivered, a person decides. Injury or safety
is escalated as urgent before this rule runs (the classifier's urgency).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

# Days after delivery during which a faulty item can be returned.
RETURN_WINDOW_DAYS = 30
REPLACEMENT = "replacement"
REFUND = "refund"

# What the customer reports, most specific first.
_PROBLEMS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "wrong_item",
        re.compile(
            r"\b(?:wrong|incorrect|different)\s+(?:item|size|colou?r|model|shoe|pair|product|one)"
            r"|\bnot\s+what\s+i\s+ordered|\bsent\s+(?:me\s+)?(?:the\s+)?wrong|\binstead\s+of\b"
            r"|\bfalsche[nrs]?\b|\bequivocad[oa]\b|\bmauvais(?:e)?\s+(?:taille|article|mod[eè]le)"
        ),
    ),
    (
        "damaged",
        re.compile(
            r"\b(?:damaged|crushed|torn|ripped|scuffed|dirty|stained|scratched|dented)\b"
            r"|\b(?:box|package|parcel)\s+was\s+(?:open|broken|wet)|\bbesch[aä]digt|\bda[nñ]ad[oa]"
            r"|\babîm[ée]|\bdanneggiat"
        ),
    ),
    (
        "not_as_described",
        re.compile(
            r"\bnot\s+as\s+(?:described|pictured|shown|advertised)|\bdoesn'?t\s+look\s+like"
            r"|\bdifferent\s+from\s+the\s+(?:photo|picture|description)|\bfake\b|\bcounterfeit"
        ),
    ),
    (
        "defective",
        re.compile(
            r"\b(?:defect\w*|faulty|broke(?:n)?|falling\s+apart|fell\s+apart|came\s+(?:off|apart|"
            r"loose|unglued|unstitched)|peel\w*|split\w*|crack\w*|squeak\w*|hole|holes|worn\s+out|"
            r"unglued|stitching|sole\s+(?:came|is|has)|glue|detached|broken|kaputt|defekt|roto|rota|"
            r"cass[ée]|d[ée]fectueu\w*|difettos\w*|rott[oa])\b"
        ),
    ),
)
_REFUND_WISH = re.compile(
    r"\b(?:refund|money\s+back|reimburse\w*|my\s+money|r[uü]ckerstatt\w*|erstatt\w*|geld\s+zur[uü]ck"
    r"|reembols\w*|rembours\w*|rimbors\w*|zwrot\w*|terugbetal\w*|dinheiro\s+de\s+volta|(?:mi|mon|mein|il\s+mio|o\s+meu)\s+"
    r"(?:dinero|argent|geld|denaro|dinheiro)|soldi\s+indietro|geld\s+terug|pieni[ąa]dze|pengarna\s+tillbaka|pengene\s+tilbage)\b"
)
_REPLACEMENT_WISH = re.compile(
    r"\b(?:replace\w*|exchange|swap|new\s+pair|another\s+pair|ersatz|umtausch\w*|cambi\w*|"
    r"sostitu\w*|[ée]change\w*|remplac\w*|wymian\w*|vervang\w*)\b"
)


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
_SET_ASIDE = re.compile(
    r"\b(?:rather\s+than|instead\s+of|over|not|no|don'?t\s+want|do\s+not\s+want|without)\s+"
    r"(?:a\s+|an\s+|the\s+|any\s+)?"
)
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
    lowered = " " + " ".join(re.sub(r"[^a-z0-9 ]", " ", text.lower()).split()) + " "
    named = [i for i in items if _names(i.product_name, lowered)]
    if named:
        return named
    recent = [
        i
        for i in items
        if i.delivered_on is not None and (today - i.delivered_on).days <= RETURN_WINDOW_DAYS
    ]
    return recent if len(recent) == 1 else []


def _names(product_name: str, text: str) -> bool:
    """Whether the text names the product: its model without the brand ("air max"), or
    a distinctive word of it ("ultraboost")."""
    words = re.sub(r"[^a-z0-9 ]", " ", product_name.lower()).split()
    model = " ".join(words[1:])
    if model and f" {model}" in text:
        return True
    return any(len(w) >= 5 and f" {w}" in text for w in words[1:])
