"""The grounding check of an LLM-phrased reply: every amount, date, number and product it
states must be in the facts the tier-0 reply was rendered from.

Pure. The facts are the tier-0 reply itself (rendered from the structured facts) and
the facts message as text. A reply that mentions anything else (an amount the policy did
not compute, a date no record holds, a tracking or order number the customer does not
own, a product the catalog did not return) is rejected, and the tier-0 reply is used.

Amounts and dates are compared by value, read in the reply language's forms as well as
in English ones: for a language other than English, its amounts as Babel writes them
(`reply_language.format_money`: "1,50 US$", "US$ 1,50", "1 234,50 $US") are read
first, then the English forms ("$1.50") in what is left; its dates as Babel writes them
in full (`reply_language.format_day`: "23 de enero de 2026", "23. Januar 2026") are
read with its month names as well as the English ones. A form neither reads is not an
amount or a date to these rules (a number in it is still checked as a number).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache

from babel.numbers import get_currency_symbol, get_decimal_symbol, get_group_symbol

from services.orchestrator.reply_language import ENGLISH, locale_of

_MONEY = re.compile(r"(?:\$|usd\s?|€|£)\s?(\d[\d,]*(?:\.\d{1,2})?)|(\d[\d,]*\.\d{2})\b", re.I)
# Identifiers: tracking numbers (letters and digits), order numbers and other long numbers.
_CODE = re.compile(r"\b(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{8,}\b|\b\d{3,}\b", re.I)
# The spaces Babel writes inside numbers and between an amount and its currency (no-break,
# narrow no-break, figure, thin): read as plain spaces.
_SPACES = re.compile(r"[\u00a0\u202f\u2007\u2009]")
# Currencies whose symbols and codes are read next to an amount.
_CURRENCIES = ("USD", "EUR", "GBP")


@dataclass(frozen=True)
class Grounding:
    """The verdict: grounded, or the claims that are not in the facts."""

    unsupported: tuple[str, ...]

    @property
    def grounded(self) -> bool:
        """True when every claim of the reply is in the facts."""
        return not self.unsupported


@dataclass(frozen=True)
class _Forms:
    """How one reply language writes amounts and dates, as patterns."""

    # An amount as the language writes it (None for English, read by `_MONEY` alone):
    # groups "pre"/"post" (a currency before or after) and "number".
    money: re.Pattern[str] | None
    decimal: str
    group: str
    # A day and month, in the language's or English month names, or an ISO date.
    date: re.Pattern[str]
    # Month name (lower case) -> month number.
    months: dict[str, int]


def _language(language: str) -> str:
    return str(locale_of(language).language)


@cache
def _forms(language: str) -> _Forms:
    locale = locale_of(language)
    # English month names always (a reply in any language may keep an English date), then
    # the language's own, both from Babel's locale data.
    months: dict[str, int] = {}
    for named in dict.fromkeys((locale_of(ENGLISH), locale)):
        for context in ("format", "stand-alone"):
            for n, name in named.months[context]["wide"].items():
                months.setdefault(str(name).lower(), int(n))
    names = "|".join(re.escape(m) for m in sorted(months, key=len, reverse=True))
    date = re.compile(
        rf"\b(?:(?P<iso>\d{{4}}-\d{{2}}-\d{{2}})"
        rf"|(?P<m1>{names})\s+(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?"
        rf"|(?P<d2>\d{{1,2}})(?:st|nd|rd|th|er|º|ª|\.)?\s+(?:(?:of|de|du)\s+)?(?P<m2>{names}))\b",
        re.I,
    )
    if locale.language == ENGLISH:
        return _Forms(None, ".", ",", date, months)
    decimal = get_decimal_symbol(locale)
    group = _SPACES.sub(" ", get_group_symbol(locale))
    symbols = {
        _SPACES.sub(" ", str(get_currency_symbol(c, locale=where)))
        for c in _CURRENCIES
        for where in (locale, ENGLISH)
    }
    symbols |= set(_CURRENCIES) | {"$", "€", "£"}
    currency = "|".join(re.escape(s) for s in sorted(symbols, key=len, reverse=True))
    d, g = re.escape(decimal), re.escape(group)
    number = rf"\d{{1,3}}(?:{g}\d{{3}})+(?:{d}\d{{1,2}})?|\d+(?:{d}\d{{1,2}})?"
    money = re.compile(
        rf"(?:(?P<pre>{currency}) ?)?(?<![\d.,])(?P<number>{number})(?![.,]?\d)"
        rf"(?: ?(?P<post>{currency})(?![A-Za-z]))?"
    )
    return _Forms(money, decimal, group, date, months)


def _cents(raw: str) -> str | None:
    try:
        return f"{Decimal(raw):.2f}"
    except InvalidOperation:
        return None


def _read_amounts(text: str, forms: _Forms) -> tuple[set[str], str]:
    """The amounts of `text` (as "6.00") and the text with them blanked out: the
    language's forms first, then the English forms in what is left."""
    out: set[str] = set()
    rest = text
    if forms.money is not None:
        kept: list[str] = []
        end = 0
        for m in forms.money.finditer(text):
            number = m.group("number")
            has_cents = forms.decimal in number and len(number.rsplit(forms.decimal, 1)[1]) == 2
            if not (m.group("pre") or m.group("post") or has_cents):
                continue
            plain = number.replace(forms.group, "").replace(forms.decimal, ".")
            amount = _cents(plain)
            if amount is None:
                continue
            out.add(amount)
            kept += [text[end : m.start()], " " * (m.end() - m.start())]
            end = m.end()
        rest = "".join([*kept, text[end:]])
    kept = []
    end = 0
    for m in _MONEY.finditer(rest):
        amount = _cents((m.group(1) or m.group(2)).replace(",", ""))
        if amount is None:
            continue
        out.add(amount)
        kept += [rest[end : m.start()], " " * (m.end() - m.start())]
        end = m.end()
    return out, "".join([*kept, rest[end:]])


def _dates(text: str, forms: _Forms) -> dict[tuple[int, int], str]:
    """The days the text names, as (month, day), each with how the text wrote it."""
    out: dict[tuple[int, int], str] = {}
    for m in forms.date.finditer(text):
        if m.group("iso"):
            _, month, day = (int(x) for x in m.group("iso").split("-"))
        else:
            month = forms.months[(m.group("m1") or m.group("m2")).lower()]
            day = int(m.group("d1") or m.group("d2"))
        label = re.sub(r"(?<=\d)(?:st|nd|rd|th|er|º|ª|\.)|\b(?:of|de|du)\s+", "", m.group(0))
        out.setdefault((month, day), " ".join(label.lower().split()))
    return out


def _codes(text: str) -> set[str]:
    return {m.group(0).upper() for m in _CODE.finditer(text)}


def check(
    reply: str, facts: Iterable[str], products: Iterable[str] = (), language: str = ENGLISH
) -> Grounding:
    """Which amounts, dates, numbers and products of `reply` are not in `facts`.

    `products` are the catalog's product names: naming one the facts do not hold is a
    claim the reply cannot make. `language` is the reply's language: its amounts and
    dates are also read in that language's forms (English when unknown)."""
    forms = _forms(_language(language))
    reply = _SPACES.sub(" ", reply)
    source = _SPACES.sub(" ", "\n".join(facts))
    reply_amounts, reply_rest = _read_amounts(reply, forms)
    source_amounts, source_rest = _read_amounts(source, forms)
    unsupported: list[str] = []
    unsupported += [f"amount {a}" for a in sorted(reply_amounts - source_amounts)]
    known_codes = _codes(source_rest) | {a.replace(".", "") for a in source_amounts}
    unsupported += [f"number {c}" for c in sorted(_codes(reply_rest) - known_codes)]
    reply_dates, source_dates = _dates(reply, forms), _dates(source, forms)
    unsupported += [
        f"date {label}"
        for key, label in sorted(reply_dates.items(), key=lambda kv: kv[1])
        if key not in source_dates
    ]
    lowered_reply, lowered_source = reply.lower(), source.lower()
    unsupported += [
        f"product {p}"
        for p in sorted(set(products))
        if p and p.lower() in lowered_reply and p.lower() not in lowered_source
    ]
    return Grounding(tuple(unsupported))
