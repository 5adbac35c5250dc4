"""Finds the shop's order numbers in a customer's free text. Pure: no I/O.

Order numbers are digits only, so a number counts only when a word says it is an order
("order 1003", "order no. 1003", "Bestellung 1003", "pedido #1003") or it is written
with a leading "#" ("#1003"). Amounts, dates, phone and tracking numbers never count.
"""

from __future__ import annotations

import re

# An e-mail rarely disputes more than a few orders; the cap bounds the lookup.
MAX_ORDER_NUMBERS = 10

_ORDER_WORDS = (
    r"orders?|order\s+(?:number|no\.?|nr\.?|#|id|ref(?:erence)?)|invoice(?:\s+(?:number|no\.?))?"
    r"|bestell(?:ung|nummer)|auftrag|pedido|commande|ordine|bestelling|zam[oó]wienie|encomenda"
)
_ORDER_NUMBER = re.compile(
    rf"(?:\b(?:{_ORDER_WORDS})\s*(?:no\.?|nr\.?|number|n[º°o]\.?|num\.?)?\s*[:#]?\s*|(?<![\w#])#\s?)"
    r"(\d{3,10})\b(?![.,]\d)"
)


def find_order_numbers(text: str, limit: int = MAX_ORDER_NUMBERS) -> list[int]:
    """The order numbers a text names, in order of appearance, without repeats."""
    seen: list[int] = []
    for match in _ORDER_NUMBER.finditer(text.lower()):
        number = int(match.group(1))
        if number not in seen:
            seen.append(number)
        if len(seen) >= limit:
            break
    return seen
