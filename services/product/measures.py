"""US shoe sizes, prices and weights in a customer's words: "size 10", "US 10.5", "9 1/2",
"sizes 10-11", "11 or bigger", "sizes 8.5, 9.5, 10 and 11" (choices), "brown boots 10?";
"under $150", "between $80 and $120", "$100 or more", "over 170"; "under 700 g", "at most
0.8 kg", "lighter than a pound".

"Under", "below", "less than", "over" and "more than" exclude the amount itself; "up to",
"at most", "max", "or less", "at least", "between" include it.

Pure text rules, no catalog knowledge: the numbers read here become bounds of the search.
The words around the numbers, in the languages customers write in, are data:
`data/measures.toml`; the rules that read them are here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from services.common import wordlists

_WORDS = wordlists.load("services.product", "measures")  # data/measures.toml


def _alternatives(table: str, slot: str = "patterns") -> str:
    """The entries of a table's slot as one alternation, to splice into a rule below."""
    return "|".join(_WORDS[table].slot(slot))


def _numbers(table: str) -> dict[str, int]:
    """A table of words and the numbers they stand for (`words = {ten = 10}`)."""
    numbers = _WORDS[table].values("words")
    if not numbers or not all(type(n) is int and w.isalpha() for w, n in numbers.items()):
        raise wordlists.WordTableError(f"{_WORDS.source} [{table}]: words = {{word = number}}")
    return numbers


# US sizes only come in whole and half numbers; these bounds reject "size 0" or "size 45"
# (a European size this shop does not list).
SIZE_MIN = Decimal(1)
SIZE_MAX = Decimal(20)
# Looser wordings ("in 9.5", "US 10") are read as a size only within a narrower band.
_LOOSE_SIZE_MIN = Decimal(4)
_LOOSE_SIZE_MAX = Decimal(16)
_LOOSE = (_LOOSE_SIZE_MIN, _LOOSE_SIZE_MAX)
# A price written without a currency ("under 150") must be at least this, so a size
# ("under 12") is never read as a price.
_BARE_PRICE_MIN = Decimal(20)
_CENT = Decimal("0.01")
# A bare number in these years is a year, never a price ("from 2019 to 2021").
_YEARS = (Decimal(1900), Decimal(2099))
# A terse request ("white leather 10", "brown boots 10?"): its clause has at most this many
# words, the number included, and the whole text at most _TERSE_TEXT_WORDS; a number
# followed by one more word ("adidas 11 black??") only in a text of _TERSE_TAIL_WORDS.
_TERSE_CLAUSE_WORDS = 6
_TERSE_TEXT_WORDS = 20
_TERSE_TAIL_WORDS = 4

_NUMBER_WORDS = _numbers("number_words")
_NUMBER_WORD = "|".join(_NUMBER_WORDS)
# A size said in the plural ("tens", "elevens"), longest first.
_PLURAL_SIZES = _numbers("size_plurals")
_PLURAL_NUMBER_WORD = "|".join(sorted(_PLURAL_SIZES, key=len, reverse=True))
# "Size" in the other languages customers write in (the size itself is still US).
_SIZE_WORDS_ABROAD = _WORDS.pattern("size_words")
# "Size" written after the number: "10 numara" (Turkish).
_SIZE_WORDS_AFTER = re.compile(
    rf"(?<![\d.,])(\d{{1,2}}(?:[.,][05])?)\s*(?:{_alternatives('size_words_after')})"
    r"(?![^\W\d_])"
)
# A number sign before a lone number: "number 11", "nº 11", "n. 11" (a size when it is one,
# unless a word of [numbered_things] comes first: "order number 12").
_NUMBER_SIGN = re.compile(
    rf"(?<![^\W\d_])(?:{_alternatives('number_signs')})\s*"
    r"(?=(\d{1,2}(?:[.,]5)?)(?![\d.,]*\d)(?![\s,/-]*\d))"
)
_NUMBERED_THING = _WORDS.pattern("numbered_things")
# Number words of other languages, read only right after "size" (after _SIZE_WORDS_ABROAD).
_FOREIGN_SIZE_WORDS = _numbers("foreign_size_words")
_TENS = _numbers("tens")
# Words after which a number word is a size or an amount ("size ten", "in an eleven").
_NUMBER_CUES = _alternatives("number_cues")

# A size: 1-2 digits with an optional .5/.0 (or ,5 as written in Europe).
_SIZE = r"(\d{1,2}(?:[.,][05])?)(?![\d.,]?\d)"
# "or" in the languages customers write in, for sizes offered as choices ("8,5 of 10");
# also what tells colours offered as choices from one colourway (`search`).
OR_WORDS = rf"(?:{_alternatives('or_words')})"
_OR = OR_WORDS
# Between the two sizes of a pair: range words ("9-10", "9 to 10"), pair words ("9 and
# 10") and "or".
_SIZE_RANGE_JOIN = _alternatives("size_joins", "range")
_SIZE_PAIR_JOIN = (
    rf"\s*(?:{_SIZE_RANGE_JOIN}|{_alternatives('size_joins', 'pair')}|{_OR})"
    r"\s*(?:size\s+|us\s*|an?\s+)?"
)
# Words after a number that make it a count, a duration, a price or a weight, not a size
# or a price.
_WEIGHT_UNIT_WORDS = "|".join(_alternatives("units", unit) for unit in ("kg", "g", "lb", "oz"))
_NOT_A_MEASURE = (
    rf"(?!\s*(?:{_alternatives('counted', 'symbols')}"
    rf"|(?:{_alternatives('counted', 'units')}|{_WEIGHT_UNIT_WORDS})\b))"
)
# (pattern, smallest and largest size it may give). Patterns with an explicit "size" take
# any plausible US size; the looser ones ("US 10", "in 9.5") a narrower band, so that
# "send us 2 pairs" or "in 30 minutes" never become sizes.
_SIZE_PATTERNS: tuple[tuple[re.Pattern[str], Decimal, Decimal], ...] = (
    # "size 10", "sizes 9.5 to 10.5", "size: US 11", "sz 10", "shoe size of 9"
    (
        re.compile(
            rf"\b(?:sizes?|sz)\b\s*(?:{_alternatives('size_links')})?\s*(?:us\s*|men'?s\s*)?"
            rf"{_SIZE}"
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
    # "I'm a 9.5", "I wear an 11", "sometimes a 10", "I'm somewhere between 9 and 10"
    (
        re.compile(
            rf"\b(?:(?:{_alternatives('wears', 'is_a')})\s+"
            r"(?:a\s+|an\s+|(?:somewhere\s+)?between\s+)"
            rf"|(?:{_alternatives('wears', 'wears')})\s+(?:an?\s+|(?:anything|anywhere)\s+(?:from|between)\s+)?)"
            rf"{_SIZE}"
            rf"(?:\s*(?:-|or|to|and|up\s+to|through)\s*(?:an?\s+)?{_SIZE})?{_NOT_A_MEASURE}"
        ),
        _LOOSE_SIZE_MIN,
        _LOOSE_SIZE_MAX,
    ),
    # A bare half size: "8.5", "9,5" is a size in this shop's mail, never a price or a count.
    (
        re.compile(
            rf"(?<![\d.,$])(\d{{1,2}}[.,]5)(?![\d.,]?\d){_NOT_A_MEASURE}"
            rf"(?:{_SIZE_PAIR_JOIN}{_SIZE}{_NOT_A_MEASURE})?"
        ),
        _LOOSE_SIZE_MIN,
        _LOOSE_SIZE_MAX,
    ),
    # A bare size closing a short question: "New Balance, 9.5?", "Gel-Kayano in black, 8.5?"
    # ... or one item of a comma list: "Black boots, 11.", "white, 11, sub-$80", ", a ten please"
    (
        re.compile(rf"(?:^|(?<!\d)[,;:]\s*|\.\s+)(?:an?\s+)?{_SIZE}\s*(?:[,;.?!]|please\b|$)"),
        _LOOSE_SIZE_MIN,
        _LOOSE_SIZE_MAX,
    ),
    # "in 9.5", "in a 10", "in an 11 or 11.5" (not "in 2 weeks", "in $150", "in 3 colours")
    (
        re.compile(rf"\bin\s+(?:an?\s+)?{_SIZE}(?:\s*(?:-|or|to)\s*{_SIZE})?{_NOT_A_MEASURE}"),
        _LOOSE_SIZE_MIN,
        _LOOSE_SIZE_MAX,
    ),
)

_NUMBER = r"(\d{1,6}(?:\.\d{1,2})?)(?![\d.]?\d)"
# An amount: "$150", "150 dollars", "150 USD", or a bare "150". Groups: (with $, without).
_AMOUNT = (
    rf"(?:(?:{_alternatives('currency', 'sign')})\s*{_NUMBER}"
    rf"|{_NUMBER}\s*(?:{_alternatives('currency', 'word')})?){_NOT_A_MEASURE}"
)
_CURRENCY = _WORDS.pattern("money")
# Comparators that are about money even before a bare number ("under 150"), and looser
# ones ("max", "over", "at least") after which a bare number is a price only when it cannot
# be a size, nothing but [bare_price_followers] follows it, and no size word or age comes
# right before ("over 170" is a price; "over 100 reviews", "size over 40", "I'm over 50"
# are not). Each is strict ("under": the amount itself is excluded) or inclusive ("at most").
_STRICT_BELOW = _alternatives("price_below")
_INCLUSIVE_AT_MOST = _alternatives("price_at_most")
_LOOSE_AT_MOST = _alternatives("price_loose_at_most")
_STRICT_ABOVE = _alternatives("price_above")
_INCLUSIVE_AT_LEAST = _alternatives("price_at_least")
_ABOUT = rf"(?:(?:{_alternatives('approximately')})\s+)?"
# A negation earlier in the clause turns a limit around ("not over $100" is "at most $100").
_NEGATED_LIMIT = re.compile(rf"\b(?:{_alternatives('negations')})\b(?:\s+[\w']+){{0,3}}\s*$")
# Words just before a bare number that make it money: "spend 150 or more".
_MONEY_WORDS = re.compile(rf"\b(?:{_alternatives('money_verbs')})\b(?:\s+[\w']+){{0,2}}\s*$")
# A price range; group 1 is its "between"/"from", if any, groups 2-3 and 4-5 its amounts.
_PRICE_RANGE = re.compile(
    rf"(?:({_alternatives('price_ranges', 'from')})\s*)?{_AMOUNT}\s*"
    rf"(?:{_alternatives('price_ranges', 'joins')})\s*{_AMOUNT}"
)
# What may follow a bare price: the end of the text, a punctuation mark or a few words.
_BARE_PRICE_END = re.compile(rf"\s*(?:$|[,.;:!?)\n]|(?:{_alternatives('bare_price_followers')})\b)")
_NOT_MONEY_BEFORE = _WORDS.pattern("not_money_before")
# A size word right before the limit: "size over 40", "Größe zwischen 42 und 43" (European
# sizes, not prices).
_SIZE_WORD_BEFORE = re.compile(r"\b(?:sizes?|sz)\b(?:\s+[^\W\d_]+){0,2}\s*$")


@dataclass(frozen=True)
class _Limit:
    """A comparator pattern: the bound it gives, whether it excludes the amount, whether
    a number without a currency or unit is accepted after it, and whether such a number
    is accepted when it cannot be a size (`_bare_price_context`, `_bare_large_price`)."""

    pattern: re.Pattern[str]
    bound: str  # "low" or "high"
    strict: bool
    bare_ok: bool
    bare_large_ok: bool = False


def _before(comparators: str) -> str:
    return rf"(?:^|(?<=\W))(?:{comparators})\s*{_ABOUT}"


_PRICE_LIMITS: tuple[_Limit, ...] = (
    _Limit(re.compile(_before(_STRICT_BELOW) + _AMOUNT), "high", True, True),
    _Limit(re.compile(_before(_INCLUSIVE_AT_MOST) + _AMOUNT), "high", False, True),
    _Limit(re.compile(_before(_LOOSE_AT_MOST) + _AMOUNT), "high", False, False, True),
    _Limit(re.compile(_before(_STRICT_ABOVE) + _AMOUNT), "low", True, False, True),
    _Limit(re.compile(_before(_INCLUSIVE_AT_LEAST) + _AMOUNT), "low", False, False, True),
    _Limit(
        re.compile(rf"{_AMOUNT}\s*(?:{_alternatives('price_at_most_after')})"), "high", False, False
    ),
    _Limit(
        re.compile(rf"{_AMOUNT}\s*(?:{_alternatives('price_at_least_after')})"), "low", False, False
    ),
)

# Weights: an amount with its unit, after a comparator ("under 700 g", "at most 0.8 kg",
# "lighter than a pound"). A weight without a comparator ("I want to lose 10 kg") is no
# constraint. Units are converted to kilograms, the catalog's unit.
# Each unit's words are a slot of the [units] table, named as here.
_KG_PER_UNIT = {
    "kg": Decimal(1),
    "g": Decimal("0.001"),
    "lb": Decimal("0.45359237"),
    "oz": Decimal("0.028349523125"),
}
_UNIT_WORDS = {unit: _alternatives("units", unit) for unit in _KG_PER_UNIT}
_UNIT_OF = {unit: re.compile(words) for unit, words in _UNIT_WORDS.items()}
_UNIT = rf"({'|'.join(_UNIT_WORDS.values())})\b"
_WEIGHT_AMOUNT = rf"(?:(an?|one)|(\d{{1,4}}(?:[.,]\d{{1,3}})?))\s*{_UNIT}"
_LIGHTER = _alternatives("weight_below")
_AT_MOST_WEIGHT = _alternatives("weight_at_most")
_HEAVIER = _alternatives("weight_above")
_AT_LEAST_WEIGHT = _alternatives("weight_at_least")
# "between 0.7 and 0.75 kg", "from 500 to 700 g"
_WEIGHT_RANGE = re.compile(
    rf"\b(?:{_alternatives('weight_ranges', 'from')})\s+"
    r"(\d{1,4}(?:[.,]\d{1,3})?)\s*(?:kg|g|lbs?|oz)?\s*"
    rf"(?:{_alternatives('weight_ranges', 'joins')})\s*"
    rf"(\d{{1,4}}(?:[.,]\d{{1,3}})?)\s*{_UNIT}"
)
_WEIGHT_LIMITS: tuple[_Limit, ...] = (
    _Limit(re.compile(_before(_LIGHTER) + _WEIGHT_AMOUNT), "high", True, False),
    _Limit(re.compile(_before(_AT_MOST_WEIGHT) + _WEIGHT_AMOUNT), "high", False, False),
    _Limit(re.compile(_before(_HEAVIER) + _WEIGHT_AMOUNT), "low", True, False),
    _Limit(re.compile(_before(_AT_LEAST_WEIGHT) + _WEIGHT_AMOUNT), "low", False, False),
    _Limit(
        re.compile(rf"{_WEIGHT_AMOUNT}\s*(?:{_alternatives('weight_at_most_after')})"),
        "high",
        False,
        False,
    ),
    _Limit(
        re.compile(rf"{_WEIGHT_AMOUNT}\s*(?:{_alternatives('weight_at_least_after')})"),
        "low",
        False,
        False,
    ),
)
# A size ruled out: "not a 10", "not size 9".
_NOT_A_SIZE = re.compile(rf"\bnot\s+(?:an?\s+|size\s+|in\s+)?{_SIZE}")
# Open-ended size ranges: "11 or bigger", "size 10 and up", "9.5 or smaller".
_SIZE_OR_MORE = re.compile(
    rf"(?:\bat\s+least\s+(?:an?\s+)?(?:size\s+)?|\b(?:sizes?|sz|us)\s*(?:is\s+)?|\b(?:an?|in)\s+|(?<=\s)|^)"
    rf"{_SIZE}\s*(?:{_alternatives('size_or_more')})"
)
_SIZE_OR_LESS = re.compile(
    rf"(?:\b(?:sizes?|sz|us)\s*(?:is\s+)?|\b(?:an?|in)\s+|(?<=\s)|^)"
    rf"{_SIZE}\s*(?:{_alternatives('size_or_less')})"
)

# Lists of sizes, as teams and shops ask: "sizes 8.5, 9.5, 10 and 11", "in 10, 11 and 12",
# "9,5 / 10 / 11", "8,9,10". Each item is a size, and the list gives choices (those sizes,
# not the ones between them). An item's comma is a decimal comma only before a 5 or a 0
# ("9,5"); otherwise it separates items ("8,9,10").
_LIST_ITEM = r"(\d{1,2}(?:[.,][05](?!\d))?)(?!\d|\.\d)"
_LIST_JOIN = rf"(?:{_alternatives('size_joins', 'pair')}|{_OR})"
_LIST_SEP = rf"\s*(?:,\s*(?:{_LIST_JOIN}\s+)?|{_LIST_JOIN})\s*(?:size\s+|us\s*|an?\s+)?"
_SIZE_LIST = re.compile(
    rf"(?<![\d.,$]){_LIST_ITEM}{_NOT_A_MEASURE}(?:{_LIST_SEP}{_LIST_ITEM}{_NOT_A_MEASURE})+"
)
_HAS_OR = re.compile(rf"\d\s*,?\s*{_OR}\s")
# A list is whole: one that goes on with a number it could not take ("10, 11 and 12 days",
# "10, 12/03/2024") is no list of sizes, and sizes are never written "03".
_LIST_GOES_ON = re.compile(rf"(?:{_LIST_SEP}|[.,:/-])\d")
# What before a list makes its numbers sizes: "size"/"sizes" (any US size), or "US", "in",
# "I wear" (the narrower band). A list with a half size ("9,5 / 10 / 11") needs none.
_LIST_AFTER_SIZE = re.compile(
    rf"\b(?:sizes?|sz)\b\s*(?:{_alternatives('size_links')})?\s*(?:us\s*|men'?s\s*)?$"
)
_LIST_AFTER_CUE = re.compile(
    rf"(?:\bu\.?s\.?\s*(?:men'?s\s*)?|\bin\s+(?:an?\s+)?"
    rf"|\b(?:{_alternatives('wears', 'is_a')}|{_alternatives('wears', 'wears')})\s+(?:an?\s+)?)$"
)
# Range words right before two sizes ("between 9 and 10") or a range join next to the list
# ("9-10, 11"): then the sizes are a range, not choices.
_RANGE_BEFORE_LIST = re.compile(rf"\d\s*(?:{_SIZE_RANGE_JOIN})\s*$")
_RANGE_AFTER_LIST = re.compile(rf"\s*(?:{_SIZE_RANGE_JOIN})\s*\d")
_SIZE_RANGE_WORDS = _WORDS.pattern("size_range_words")
_LAST_WORDS = re.compile(r"(?:\S+\s+){0,3}$")

# A bare size closing a terse request: "white leather 10", "brown boots 10?", "Air Max 11",
# "addidas 11 black??". Group 1: the words before the number; 2: the number; 3: a word
# after it, if any.
_TERSE_SIZE = re.compile(
    r"(?:^|[\n!?;]|(?<!\d)\.|\.(?!\d))\s*((?:[^\W\d_][\w'-]*,?\s+)+)"
    rf"(\d{{1,2}}(?:[.,]5)?)(?![\d.,]?\d){_NOT_A_MEASURE}"
    r"(?:\s+([^\W\d_]{3,}))?"
    r"\s*(?:(?:please|pls|plz|thanks|thx)\b)?\s*(?:[.?!;]+|\n|$)"
)
_TEXT_WORD = re.compile(r"[^\W_]+(?:[.,'-][^\W_]+)*")
_MODEL_NUMBER = _WORDS.pattern("model_numbers")
_NOT_BEFORE_SIZE = _WORDS.pattern("not_before_size")


@dataclass(frozen=True)
class Bounds:
    """An interval; either end may be missing (None), and either may exclude its value."""

    low: Decimal | None = None
    high: Decimal | None = None
    # "under $150" excludes 150 itself, "up to $150" includes it.
    low_strict: bool = False
    high_strict: bool = False

    @property
    def empty(self) -> bool:
        """True when neither end is set."""
        return self.low is None and self.high is None


# "Half a kilo" in other languages, with its article: "medio kilo", "et halvt kilo".
_HALF_KILO = re.compile(
    rf"\b(?:(?:{_alternatives('half_kilo', 'article')})\s+)?"
    rf"(?:{_alternatives('half_kilo', 'half')})[- ]+(?:{_alternatives('half_kilo', 'kilo')})\w*"
)


def _prepare(text: str) -> str:
    """Lower case, with halves written as decimals, number words as digits, the words
    other languages use for "size" ("größe 10", "10 numara", "nº 10") as "size", and "10s"
    as "size 10"."""
    out = text.lower().replace("\u00bd", ".5 ").replace("\u2019", "'")
    out = _SIZE_WORDS_ABROAD.sub("size ", out)
    out = _SIZE_WORDS_AFTER.sub(r"size \1", out)
    out = _NUMBER_SIGN.sub(_number_sign, out)
    # "nine-and-a-half", "9-n-half", "nine and a half" -> "nine.5" / "9.5"
    out = re.sub(r"[- ]+(?:and|n|&)[- ]+(?:a[- ]+)?half\b", ".5", out)
    out = re.sub(r"[- ]+point[- ]+five\b", ".5", out)  # "nine-point-five"
    out = re.sub(r"(\d)\s+\.5", r"\1.5", out)  # "9 ½" -> "9.5"
    out = re.sub(r"(\d+)\s*1/2\b", r"\1.5", out)
    out = re.sub(rf"\b({_NUMBER_WORD})\.5\b", lambda m: f"{_NUMBER_WORDS[m.group(1)]}.5", out)
    # "tens", "elevens", "10s", "12's": the way people say a size in the plural.
    out = re.sub(
        rf"\b({_PLURAL_NUMBER_WORD})\b",
        lambda m: f"size {_PLURAL_SIZES[m.group(1)]}",
        out,
    )
    out = re.sub(
        r"(?<![\d.,$])\b(\d{1,2}(?:[.,]5)?)'?s\b",
        lambda m: f"size {m.group(1)}" if _size(m.group(1), *_LOOSE) else m.group(0),
        out,
    )
    # Number words where a size or an amount is expected: "size ten", "in an eleven",
    # "I'm a nine", "under fifty", "a hundred and twenty dollars".
    out = re.sub(
        rf"\b(?:a|one)\s+hundred(?:\s+and)?(?:\s+({'|'.join(_TENS)}))?\b",
        lambda m: str(100 + (_TENS[m.group(1)] if m.group(1) else 0)),
        out,
    )
    out = re.sub(rf"\b({'|'.join(_TENS)})\b", lambda m: str(_TENS[m.group(1)]), out)
    out = re.sub(
        rf"\b({_NUMBER_CUES})\s+(?:an?\s+)?({_NUMBER_WORD})\b",
        lambda m: f"{m.group(1)} {_NUMBER_WORDS[m.group(2)]}",
        out,
    )
    out = re.sub(r"\bhalf\s+(?:a|an)\s+(kilo|kg|pound|lb)", r"0.5 \1", out)
    out = _HALF_KILO.sub("0.5 kg", out)
    out = re.sub(
        rf"\b(size|us)\s+({'|'.join(_FOREIGN_SIZE_WORDS)})\b",
        lambda m: f"{m.group(1)} {_FOREIGN_SIZE_WORDS[m.group(2)]}",
        out,
    )
    return re.sub(r"(\d),(\d{3})\b", r"\1\2", out)  # "$1,200" -> "$1200"


def _number_sign(match: re.Match[str]) -> str:
    """ "size " for a number sign before a plain size ("number 11", "nº 11"); the sign
    as written before anything else ("order number 12", "no. 1")."""
    before = match.string[max(0, match.start() - 40) : match.start()]
    if _size(match.group(1), *_LOOSE) is None or _NUMBERED_THING.search(before):
        return match.group(0)
    return "size "


def _size(raw: str | None, low: Decimal = SIZE_MIN, high: Decimal = SIZE_MAX) -> Decimal | None:
    """A size from its digits, or None when it is not a plausible US size."""
    if raw is None:
        return None
    value = Decimal(raw.replace(",", "."))
    if not low <= value <= high or (value * 2) % 1 != 0:
        return None
    return value.quantize(Decimal("0.1"))


@dataclass(frozen=True)
class _SizeList:
    """A list of sizes: its items, whether they are sizes on their own (after "size",
    "in", "US", or with a half size among them) and whether they are choices (not a
    range: no "between" before it, no range join next to it)."""

    items: tuple[Decimal, ...]
    sizes: bool
    choices: bool


def _size_lists(prepared: str) -> list[_SizeList]:
    """The lists of two or more sizes in a prepared text ("sizes 8.5, 9.5, 10 and 11",
    "9,5 / 10 / 11", "10 or 11"). A list of whole numbers without a cue is kept only when
    joined by "or" and within the narrower band (then its numbers are choices only if a
    size is read elsewhere: "size 10. I'll take 1 or 2" gives none)."""
    out = []
    for match in _SIZE_LIST.finditer(prepared):
        before, after = prepared[: match.start()], prepared[match.end() :]
        raws = re.findall(_LIST_ITEM, match.group(0))
        if _LIST_GOES_ON.match(after) or any(raw.startswith("0") for raw in raws):
            continue
        half = any(raw[-2:] in (".5", ",5") for raw in raws)
        if _LIST_AFTER_SIZE.search(before):
            band, sizes = (SIZE_MIN, SIZE_MAX), True
        elif _LIST_AFTER_CUE.search(before) or half:
            band, sizes = _LOOSE, True
        elif _HAS_OR.search(match.group(0)):
            band, sizes = _LOOSE, False
        else:
            continue
        items = [_size(raw, *band) for raw in raws]
        if any(item is None for item in items):
            continue
        near = (_LAST_WORDS.search(before) or match).group(0) + match.group(0)[:1]
        ranged = (
            _RANGE_BEFORE_LIST.search(before)
            or _RANGE_AFTER_LIST.match(after)
            or _SIZE_RANGE_WORDS.search(near)
        )
        out.append(_SizeList(tuple(i for i in items if i is not None), sizes, not ranged))
    return out


def find_size_choices(text: str) -> tuple[Decimal, ...]:
    """The sizes asked for when they are choices rather than a range ("8.5 or 11": not 9.5
    or 10; "sizes 8.5, 9.5, 10 and 11": those four); empty when the text gives a range or
    a single size."""
    prepared = _prepare(text)
    chosen = {item for found in _size_lists(prepared) if found.choices for item in found.items}
    if len(chosen) < 2:
        return ()
    bounds = find_sizes(text)
    if bounds.low is None or bounds.high is None:
        return ()
    ruled_out = {s for m in _NOT_A_SIZE.finditer(prepared) if (s := _size(m.group(1)))}
    return tuple(sorted((chosen | {bounds.low, bounds.high}) - ruled_out))


def find_sizes(text: str) -> Bounds:
    """The smallest and largest US size the text asks for; one size gives low == high,
    and "11 or bigger" leaves the other end open. A size the text rules out ("an 11, not
    a 10") is left out. A terse request's last number is its size ("brown boots 10?")."""
    prepared = _prepare(text)
    sizes: list[Decimal] = []
    for pattern, low, high in _SIZE_PATTERNS:
        for match in pattern.finditer(prepared):
            sizes.extend(s for s in (_size(g, low, high) for g in match.groups()) if s is not None)
    sizes.extend(item for found in _size_lists(prepared) if found.sizes for item in found.items)
    ruled_out = {s for m in _NOT_A_SIZE.finditer(prepared) if (s := _size(m.group(1)))}
    sizes = [s for s in sizes if s not in ruled_out]
    at_least = [s for m in _SIZE_OR_MORE.finditer(prepared) if (s := _size(m.group(1)))]
    at_most = [s for m in _SIZE_OR_LESS.finditer(prepared) if (s := _size(m.group(1)))]
    if at_least or at_most:
        return Bounds(min(at_least) if at_least else None, max(at_most) if at_most else None)
    if not sizes and (terse := _terse_size(prepared)) is not None and terse not in ruled_out:
        sizes = [terse]
    if not sizes:
        return Bounds()
    return Bounds(min(sizes), max(sizes))


def _terse_size(prepared: str) -> Decimal | None:
    """The size of a terse request: a number closing a short clause of a short text, after
    a word of three letters or more that makes it no time, date, count or model ("white
    leather 10", "Air Max 11"; not "at 10", "May 12", "On Cloud 5"); None unless exactly
    one such size."""
    words = len(_TEXT_WORD.findall(prepared))
    if words > _TERSE_TEXT_WORDS:
        return None
    found: set[Decimal] = set()
    for match in _TERSE_SIZE.finditer(prepared):
        before, number, tail = match.groups()
        clause = _TEXT_WORD.findall(before)
        if len(clause) + 1 + bool(tail) > _TERSE_CLAUSE_WORDS:
            continue
        if tail and words > _TERSE_TAIL_WORDS:
            continue
        last = before.rstrip()
        if last.endswith(",") or len(clause[-1]) < 3:
            continue
        if _NOT_BEFORE_SIZE.search(before) or _MODEL_NUMBER.search(before):
            continue
        if (size := _size(number, *_LOOSE)) is not None:
            found.add(size)
    return found.pop() if len(found) == 1 else None


def _tightest(limits: list[tuple[str, Decimal, bool]]) -> Bounds:
    """The interval every limit allows: the highest low end and the lowest high end; at
    an equal amount the strict limit is the tighter one."""
    lows = [(value, strict) for bound, value, strict in limits if bound == "low"]
    highs = [(value, strict) for bound, value, strict in limits if bound == "high"]
    low = max(lows, key=lambda v: (v[0], v[1])) if lows else None
    high = min(highs, key=lambda v: (v[0], not v[1])) if highs else None
    return Bounds(
        low=low[0] if low else None,
        high=high[0] if high else None,
        low_strict=bool(low and low[1]),
        high_strict=bool(high and high[1]),
    )


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
    limits: list[tuple[str, Decimal, bool]] = []
    used: list[tuple[int, int]] = []
    for match in _PRICE_RANGE.finditer(prepared):
        # "$80-120", "80 to 120 dollars", "between $80 and $120": a currency on either side;
        # without one, "between 100 and 135": a "between" and two numbers that are no sizes.
        if _CURRENCY.search(match.group(0)):
            a, b = _range_end(match, 2), _range_end(match, 4)
        elif match.group(1) and _bare_price_context(prepared, match.start(), match.end()):
            a, b = _bare_large_price(match.group(3)), _bare_large_price(match.group(5))
        else:
            continue
        if a is not None and b is not None:
            limits += [("low", min(a, b), False), ("high", max(a, b), False)]
            used.append(match.span())
    for limit in _PRICE_LIMITS:
        for match in limit.pattern.finditer(prepared):
            if any(s <= match.start() < e or s < match.end() <= e for s, e in used):
                continue
            before = prepared[max(0, match.start() - 60) : match.start()]
            money = bool(_MONEY_WORDS.search(before))
            value = _amount(match, 1, bare_ok=limit.bare_ok or money)
            if (
                value is None
                and limit.bare_large_ok
                and match.group(1) is None
                and (money or _bare_price_context(prepared, match.start(), match.end()))
            ):
                value = _bare_large_price(match.group(2))
            if value is not None:
                limits.append(_negated(limit, value, before))
    return _tightest(limits)


def _bare_price_context(prepared: str, start: int, end: int) -> bool:
    """Whether a limit or range without a currency, found at start:end, may be a price:
    nothing but the end of a clause or [bare_price_followers] after it, and no size word
    ("size over 40": a European size) or age ("I'm over 50") right before it."""
    before = prepared[max(0, start - 60) : start]
    return bool(
        _BARE_PRICE_END.match(prepared, end)
        and not _SIZE_WORD_BEFORE.search(before)
        and not _NOT_MONEY_BEFORE.search(before)
    )


def _bare_large_price(raw: str | None) -> Decimal | None:
    """A number without a currency as a price when it cannot be a US size (above SIZE_MAX)
    nor a year ("from 2019 to 2021")."""
    if raw is None:
        return None
    value = Decimal(raw)
    if value <= SIZE_MAX or (value == value.to_integral() and _YEARS[0] <= value <= _YEARS[1]):
        return None
    return value.quantize(_CENT)


def _negated(limit: _Limit, value: Decimal, before: str) -> tuple[str, Decimal, bool]:
    """The limit as meant: "I don't want to spend 150 or more" is "under 150", and "no
    more than $90" is "at most $90"."""
    if not _NEGATED_LIMIT.search(before):
        return limit.bound, value, limit.strict
    return ("high" if limit.bound == "low" else "low"), value, not limit.strict


def find_weight_bounds(text: str) -> Bounds:
    """The lightest and heaviest weight per shoe, in kilograms, the text accepts."""
    prepared = _prepare(text)
    limits: list[tuple[str, Decimal, bool]] = []
    # Kilograms exactly as converted, never rounded: 1.5 lb is 0.680388555 kg, so a 0.68 kg
    # shoe is lighter than 1.5 lb.
    for match in _WEIGHT_RANGE.finditer(prepared):
        per = _KG_PER_UNIT[_unit_key(match.group(3))]
        a, b = (Decimal(g.replace(",", ".")) * per for g in match.group(1, 2))
        limits += [("low", min(a, b), False), ("high", max(a, b), False)]
    for limit in _WEIGHT_LIMITS:
        for match in limit.pattern.finditer(prepared):
            one, digits, unit = match.group(1), match.group(2), match.group(3)
            amount = Decimal(1) if one else Decimal(digits.replace(",", "."))
            kg = amount * _KG_PER_UNIT[_unit_key(unit)]
            before = prepared[max(0, match.start() - 60) : match.start()]
            limits.append(_negated(limit, kg, before))
    return _tightest(limits)


def _unit_key(unit: str) -> str:
    """The key of _KG_PER_UNIT for a written unit: "grams" -> "g", "lbs" -> "lb"."""
    return next((key for key, words in _UNIT_OF.items() if words.fullmatch(unit)), "g")


def _range_end(match: re.Match[str], first_group: int) -> Decimal | None:
    """One end of a price range; without its own "$" it must be large enough not to be a
    size ("size 10 - $150" is no range)."""
    with_sign, plain = match.group(first_group), match.group(first_group + 1)
    if with_sign is not None:
        return Decimal(with_sign).quantize(_CENT)
    if plain is None or Decimal(plain) < _BARE_PRICE_MIN:
        return None
    return Decimal(plain).quantize(_CENT)
