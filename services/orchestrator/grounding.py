"""The grounding check of an LLM-phrased reply: every amount, date, number and product it
states must be in the facts the tier-0 reply was rendered from.

Pure. The facts are the tier-0 reply itself (rendered from the structured facts) and
the facts message as text. A reply that mentions anything else (an amount the policy did
not compute, a date no record holds, a tracking or order number the customer does not
own, a product the catalog did not return) is rejected, and the tier-0 reply is used.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_MONEY = re.compile(r"(?:\$|usd\s?|€|£)\s?(\d[\d,]*(?:\.\d{1,2})?)|(\d[\d,]*\.\d{2})\b", re.I)
# Identifiers: tracking numbers (letters and digits), order numbers and other long numbers.
_CODE = re.compile(r"\b(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{8,}\b|\b\d{3,}\b", re.I)
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_DATE = re.compile(
    rf"\b(?:\d{{4}}-\d{{2}}-\d{{2}}|(?:{_MONTHS})\s+\d{{1,2}}(?:st|nd|rd|th)?|\d{{1,2}}(?:st|nd|rd|th)?"
    rf"\s+(?:of\s+)?(?:{_MONTHS}))\b",
    re.I,
)


@dataclass(frozen=True)
class Grounding:
    """The verdict: grounded, or the claims that are not in the facts."""

    unsupported: tuple[str, ...]

    @property
    def grounded(self) -> bool:
        """True when every claim of the reply is in the facts."""
        return not self.unsupported


def _amounts(text: str) -> set[str]:
    out: set[str] = set()
    for m in _MONEY.finditer(text):
        raw = (m.group(1) or m.group(2)).replace(",", "")
        out.add(f"{float(raw):.2f}")
    return out


def _dates(text: str) -> set[str]:
    return {
        re.sub(r"(?<=\d)(?:st|nd|rd|th)|\bof\s+", "", m.group(0).lower())
        for m in _DATE.finditer(text)
    }


def _codes(text: str) -> set[str]:
    return {m.group(0).upper() for m in _CODE.finditer(text)}


def check(reply: str, facts: Iterable[str], products: Iterable[str] = ()) -> Grounding:
    """Which amounts, dates, numbers and products of `reply` are not in `facts`.

    `products` are the catalog's product names: naming one the facts do not hold is a
    claim the reply cannot make."""
    source = "\n".join(facts)
    unsupported: list[str] = []
    unsupported += [f"amount {a}" for a in sorted(_amounts(reply) - _amounts(source))]
    known_codes = _codes(source) | {a.replace(".", "") for a in _amounts(source)}
    unsupported += [f"number {c}" for c in sorted(_codes(reply) - known_codes)]
    unsupported += [f"date {d}" for d in sorted(_dates(reply) - _dates(source))]
    lowered_reply, lowered_source = reply.lower(), source.lower()
    unsupported += [
        f"product {p}"
        for p in sorted(set(products))
        if p and p.lower() in lowered_reply and p.lower() not in lowered_source
    ]
    return Grounding(tuple(unsupported))
