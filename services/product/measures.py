"""US shoe sizes and prices in a customer's words: "size 10", "US 10.5", "9 1/2",
"sizes 10-11", "in a 9.5"; "under $150", "between $80 and $120", "$100 or more".

Pure text rules, no catalog knowledge: the numbers read here become bounds of the search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

# US sizes only come in whole and half numbers; these bounds reject "size 0" or "size 45"
# (a European size this shop does not list).
SIZE_MIN = Decimal(1)
SIZE_MAX = Decimal(20)
# Looser wordings ("in 9.5", "US 10") are read as a size only within a narrower band.
_LOOSE_SIZE_MIN = Decimal(4)
_LOOSE_SIZE_MAX = Decimal(16)
# A price written without a currency ("under 150") must be at least this, so a size
# ("under 12") is never read as a price.
_BARE_PRICE_MIN = Decimal(20)
_CENT = Decimal("0.01")

_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16,
}  # fmt: skip
_NUMBER_WORD = "|".join(_NUMBER_WORDS)

# A size: 1-2 digits with an optional .5/.0 (or ,5 as written in Europe).
_SIZE = r"(\d{1,2}(?:[.,][05])?)(?![\d.,]?\d)"
_SIZE_PAIR_JOIN = r"\s*(?:-|\u2013|to|or|and|/|&)\s*(?:size\s+|us\s*)?"
# Words after a number that make it a count, a duration or a price, not a size or price.
_NOT_A_MEASURE = (
    r"(?!\s*(?:%|\$|(?:days?|weeks?|months?|years?|hours?|hrs?|minutes?|mins?|pairs?|colou?rs?"
    r"|units?|items?|pieces?|boxes|orders?|dollars?|usd|bucks|am|pm|x|times?|km|miles?|kg"
    r"|lbs?|pounds?|grams?|people|reviews?|customers?|stars?)\b))"
)
# (pattern, smallest and largest size it may give). Patterns with an explicit "size" take
# any plausible US size; the looser ones ("US 10", "in 9.5") a narrower band, so that
# "send us 2 pairs" or "in 30 minutes" never become sizes.
_SIZE_PATTERNS: tuple[tuple[re.Pattern[str], Decimal, Decimal], ...] = (
    # "size 10", "sizes 9.5 to 10.5", "size: US 11", "sz 10", "shoe size of 9"
    (
        re.compile(
            rf"\b(?:sizes?|sz)\b\s*(?:of|is|are|:|=|#|in)?\s*(?:us\s*|men'?s\s*)?{_SIZE}"
            rf"(?:{_SIZE_PAIR_JOIN}{_SIZE})?{_NOT_A_MEASURE}"
        ),
        SIZE_MIN,
        SIZE_MAX,
    ),
    # "sizes between 9 and 10", "size from 9 to 10"
    (
        re.compile(rf"\bsizes?\s+(?:between|from)\s+{_SIZE}\s*(?:and|to|-)\s*{_SIZE}"),
        SIZE_MIN,
        SIZE_MAX,
    ),
    # "US 10.5", "US men's 10", "US10-11"
    (
        re.compile(
            rf"\bu\.?s\.?\s*(?:men'?s\s*)?{_SIZE}(?:{_SIZE_PAIR_JOIN}{_SIZE})?{_NOT_A_MEASURE}"
        ),
        _LOOSE_SIZE_MIN,
        _LOOSE_SIZE_MAX,
    ),
    # "10.5 US", "10 (US)"
    (re.compile(rf"(?<![\d.,$]){_SIZE}\s*\(?u\.?s\.?\b"), _LOOSE_SIZE_MIN, _LOOSE_SIZE_MAX),
    # "in 9.5", "in a 10", "in an 11 or 11.5" (not "in 2 weeks", "in $150", "in 3 colours")
    (
        re.compile(rf"\bin\s+(?:an?\s+)?{_SIZE}(?:\s*(?:-|or|to)\s*{_SIZE})?{_NOT_A_MEASURE}"),
        _LOOSE_SIZE_MIN,
        _LOOSE_SIZE_MAX,
    ),
)

_NUMBER = r"(\d{1,6}(?:\.\d{1,2})?)(?![\d.]?\d)"
# An amount: "$150", "150 dollars", "150 USD", or a bare "150". Groups: (with $, without).
_AMOUNT = rf"(?:\$\s*{_NUMBER}|{_NUMBER}\s*(?:\$|usd\b|dollars?\b|bucks\b)?){_NOT_A_MEASURE}"
_CURRENCY = re.compile(r"\$|usd|dollar|buck")
# Comparators that are about money even before a bare number ("under 150"), and looser
# ones that need a currency ("max $150": "Air Max 90" is a shoe, "over 100" may be reviews).
_STRICT_AT_MOST = (
    r"under|below|less\s+than|cheaper\s+than|lower\s+than|no\s+more\s+than|not\s+more\s+than"
    r"|at\s+most|budget(?:\s+is|\s+of)?|not\s+exceeding|no\s+higher\s+than|<=?"
)
_LOOSE_AT_MOST = r"max(?:imum)?(?:\s+of)?|up\s+to|within|not\s+over"
_LOOSE_AT_LEAST = (
    r"over|above|more\s+than|at\s+least|starting\s+(?:at|from)|min(?:imum)?(?:\s+of)?"
    r"|greater\s+than|higher\s+than|>=?|no\s+less\s+than|not\s+less\s+than"
)
_ABOUT = r"(?:of\s+|about\s+|around\s+|roughly\s+)?"
_PRICE_RANGE = re.compile(rf"(?:between|from)?\s*{_AMOUNT}\s*(?:-|\u2013|to|and)\s*{_AMOUNT}")
# (pattern, bound it gives, whether a bare number without currency is accepted)
_PRICE_PATTERNS: tuple[tuple[re.Pattern[str], str, bool], ...] = (
    (re.compile(rf"(?:^|(?<=\W))(?:{_STRICT_AT_MOST})\s*{_ABOUT}{_AMOUNT}"), "high", True),
    (re.compile(rf"\b(?:{_LOOSE_AT_MOST})\s*{_ABOUT}{_AMOUNT}"), "high", False),
    (re.compile(rf"(?:^|(?<=\W))(?:{_LOOSE_AT_LEAST})\s*{_ABOUT}{_AMOUNT}"), "low", False),
    (
        re.compile(rf"{_AMOUNT}\s*(?:or\s+(?:less|under|below|cheaper)|max(?:imum)?\b|tops\b)"),
        "high",
        False,
    ),
    (
        re.compile(rf"{_AMOUNT}\s*(?:or\s+(?:more|above|over)|and\s+(?:up|above|over)|\+|plus\b)"),
        "low",
        False,
    ),
)


@dataclass(frozen=True)
class Bounds:
    """A closed interval; either end may be open (None)."""

    low: Decimal | None = None
    high: Decimal | None = None

    @property
    def empty(self) -> bool:
        """True when neither end is set."""
        return self.low is None and self.high is None


def _prepare(text: str) -> str:
    """Lower case, with halves written as decimals and size words as digits."""
    out = text.lower().replace("\u00bd", ".5 ").replace("\u2019", "'")
    out = re.sub(r"(\d)\s+\.5", r"\1.5", out)  # "9 ½" -> "9.5"
    out = re.sub(r"(\d+)\s*(?:1/2|and\s+a\s+half)\b", r"\1.5", out)
    out = re.sub(
        rf"\b({_NUMBER_WORD})\s+and\s+a\s+half\b",
        lambda m: f"{_NUMBER_WORDS[m.group(1)]}.5",
        out,
    )
    out = re.sub(
        rf"\b(sizes?|us)\s+({_NUMBER_WORD})\b",
        lambda m: f"{m.group(1)} {_NUMBER_WORDS[m.group(2)]}",
        out,
    )
    return re.sub(r"(\d),(\d{3})\b", r"\1\2", out)  # "$1,200" -> "$1200"


def _size(raw: str | None, low: Decimal = SIZE_MIN, high: Decimal = SIZE_MAX) -> Decimal | None:
    """A size from its digits, or None when it is not a plausible US size."""
    if raw is None:
        return None
    value = Decimal(raw.replace(",", "."))
    if not low <= value <= high or (value * 2) % 1 != 0:
        return None
    return value.quantize(Decimal("0.1"))


def find_sizes(text: str) -> Bounds:
    """The smallest and largest US size the text asks for; one size gives low == high."""
    prepared = _prepare(text)
    sizes: list[Decimal] = []
    for pattern, low, high in _SIZE_PATTERNS:
        for match in pattern.finditer(prepared):
            sizes.extend(s for s in (_size(g, low, high) for g in match.groups()) if s is not None)
    if not sizes:
        return Bounds()
    return Bounds(min(sizes), max(sizes))


def _amount(match: re.Match[str], first_group: int, *, bare_ok: bool) -> Decimal | None:
    """The amount of the _AMOUNT starting at group `first_group` of a match.

    A number without a currency is a price only where `bare_ok` allows it, and only when
    large enough not to be a size ("under 12" is no price).
    """
    with_sign, plain = match.group(first_group), match.group(first_group + 1)
    raw = with_sign or plain
    if raw is None:
        return None
    value = Decimal(raw).quantize(_CENT)
    if with_sign or _CURRENCY.search(match.group(0)):
        return value
    return value if bare_ok and value >= _BARE_PRICE_MIN else None


def find_price_bounds(text: str) -> Bounds:
    """The lowest and highest price in USD the text accepts."""
    prepared = _prepare(text)
    bounds: dict[str, list[Decimal]] = {"low": [], "high": []}
    used: list[tuple[int, int]] = []
    for match in _PRICE_RANGE.finditer(prepared):
        # "$80-120", "80 to 120 dollars", "between $80 and $120": a currency on either side.
        if not _CURRENCY.search(match.group(0)):
            continue
        a, b = _range_end(match, 1), _range_end(match, 3)
        if a is not None and b is not None:
            bounds["low"].append(min(a, b))
            bounds["high"].append(max(a, b))
            used.append(match.span())
    for pattern, bound, bare_ok in _PRICE_PATTERNS:
        for match in pattern.finditer(prepared):
            if any(s <= match.start() < e or s < match.end() <= e for s, e in used):
                continue
            value = _amount(match, 1, bare_ok=bare_ok)
            if value is not None:
                bounds[bound].append(value)
    lows, highs = bounds["low"], bounds["high"]
    # Several limits of one kind: the tightest holds.
    return Bounds(max(lows) if lows else None, min(highs) if highs else None)


def _range_end(match: re.Match[str], first_group: int) -> Decimal | None:
    """One end of a price range; without its own "$" it must be large enough not to be a
    size ("size 10 - $150" is no range)."""
    with_sign, plain = match.group(first_group), match.group(first_group + 1)
    if with_sign is not None:
        return Decimal(with_sign).quantize(_CENT)
    if plain is None or Decimal(plain) < _BARE_PRICE_MIN:
        return None
    return Decimal(plain).quantize(_CENT)
