"""Finds the shop's identifiers in a customer's free text: carrier tracking numbers and
order numbers. Pure: no I/O, no clock.

The one reader of both for every service: the text is read once per e-mail
(`read_identifiers`), and the services take the numbers from their request
(`crm.v1.Identifiers`, see `to_proto` / `from_proto`) instead of reading the text again.

Tracking numbers. Two families of formats are recognised:

- the shop's own labels, as in its shipment data: a carrier code and nine digits
  (FDX123456789, UPS987654321, USPS456789123, and DHL likewise);
- the carriers' public formats: UPS 1Z..., USPS 20/22-digit and S10 international
  numbers, FedEx 12/15/22-digit numbers, DHL 10-digit waybills and JJD/JD numbers.

Customers write numbers in lower case, grouped with spaces or dashes ("1z 999 aa1 01
2345 6784", "fdx-123-456-789"), so one separator is tolerated between any two
characters. Numbers made of digits only are easily confused with phone, order or card
numbers, so the short ones count only after a word that says what they are.

Order numbers are digits only, so a number counts only when a word says it is an order
("order 1003", "order no. 1003", "Bestellung 1003", "pedido #1003") or it is written
with a leading "#" ("#1003"). Amounts, dates, phone and tracking numbers never count.

The formats and the words are data: `services/common/data/tracking_formats.toml` (no
language) and `services/common/data/identifiers.toml` (one section per language).
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from crm.v1 import types_pb2
from services.common import wordlists

# An e-mail rarely refers to more than a handful of parcels; the cap bounds the work
# (and the database lookup) a pasted list of numbers can cause.
MAX_TRACKING_NUMBERS = 20

# How far before a digits-only number the word naming it may appear.
_CONTEXT_CHARS = 60
# One separator between two characters: space, tab, no-break space, hyphen or dash.
_SEP = "[ \t\u00a0\\-\u2010-\u2015]"
_SEP_CHARS = re.compile(_SEP)


def _atoms(spec: str) -> list[str]:
    """Splits a compact pattern into one-character atoms: `#` is a digit, `@` a letter
    or digit, `A` a letter, `[...]` a character class; any other character is itself;
    `{n}` after an atom repeats it n times."""
    table = {"#": "[0-9]", "@": "[A-Z0-9]", "A": "[A-Z]"}
    atoms: list[str] = []
    i = 0
    while i < len(spec):
        if spec[i] == "{" and atoms:
            end = spec.index("}", i)
            atoms.extend([atoms[-1]] * (int(spec[i + 1 : end]) - 1))
            i = end + 1
        elif spec[i] == "[":
            end = spec.index("]", i)
            atoms.append(spec[i : end + 1])
            i = end + 1
        else:
            atoms.append(table.get(spec[i], re.escape(spec[i])))
            i += 1
    return atoms


def _flexible(*alternatives: str) -> str:
    """A regex for compact patterns with an optional separator between characters."""
    return "|".join(f"{_SEP}?".join(_atoms(spec)) for spec in alternatives)


@dataclass(frozen=True)
class TrackingFormat:
    """One way a carrier writes tracking numbers."""

    name: str
    carrier: str
    pattern: str
    # Words one of which must precede a digits-only number; None: the format alone is enough.
    context: re.Pattern[str] | None = None
    digits_only: bool = False


# ASCII: case-insensitive matching must not let other scripts' letters pass for A-Z.
_FLAGS = re.IGNORECASE | re.ASCII
# The words of order numbers and before digits-only tracking numbers, per language.
_WORDS = wordlists.load("services.common", "identifiers")  # data/identifiers.toml


@dataclass(frozen=True)
class _FormatEntry:
    """A format as data/tracking_formats.toml writes it (an unknown key is refused)."""

    name: str
    carrier: str
    specs: list[str]
    after_words: str = ""  # a table of data/identifiers.toml
    digits_only: bool = False
    examples: list[str] = field(default_factory=list)
    counter_examples: list[str] = field(default_factory=list)


def _formats() -> tuple[TrackingFormat, ...]:
    """The formats of data/tracking_formats.toml, in its order (at one position, the
    longer or more specific format is tried first)."""
    try:
        entries = [
            _FormatEntry(**raw)
            for raw in wordlists.data("services.common", "tracking_formats")["format"]
        ]
    except (KeyError, TypeError) as error:
        raise wordlists.WordTableError(f"tracking_formats.toml: {error}") from error
    return tuple(
        TrackingFormat(
            e.name,
            e.carrier,
            _flexible(*e.specs),
            context=_WORDS.pattern(e.after_words) if e.after_words else None,
            digits_only=e.digits_only,
        )
        for e in entries
    )


FORMATS: tuple[TrackingFormat, ...] = _formats()


def _bounded(fmt: TrackingFormat) -> str:
    # A number is never part of a longer word; a digits-only one is also not one group
    # of a longer digit sequence (a card or phone number written in groups).
    if fmt.digits_only:
        return f"(?<![A-Z0-9])(?<![0-9]{_SEP})(?:{fmt.pattern})(?![A-Z0-9])(?!{_SEP}[0-9])"
    return f"(?<![A-Z0-9])(?:{fmt.pattern})(?![A-Z0-9])"


_ANY_FORMAT = re.compile(
    "|".join(f"(?P<f{i}>{_bounded(f)})" for i, f in enumerate(FORMATS)), _FLAGS
)
_WHOLE = [re.compile(f.pattern, _FLAGS) for f in FORMATS]


def normalise(raw: str) -> str:
    """The canonical form of a tracking number: separators removed, upper case."""
    return _SEP_CHARS.sub("", raw.strip()).upper()


def is_tracking_number(candidate: str) -> bool:
    """Whether a string, once normalised, is a whole tracking number of a known format.

    No surrounding words are needed: the caller already knows it is a tracking number.
    """
    value = normalise(candidate)
    return bool(value) and any(p.fullmatch(value) for p in _WHOLE)


_N = TypeVar("_N", bound=Hashable)


def _dedupe(numbers: Iterable[_N], limit: int) -> list[_N]:
    seen: dict[_N, None] = {}
    for number in numbers:
        if len(seen) >= limit:
            break
        seen.setdefault(number, None)
    return list(seen)


def _tracking_matches(text: str) -> Iterator[re.Match[str]]:
    """The matches of a carrier format, each with the context its format requires."""
    for match in _ANY_FORMAT.finditer(text):
        assert match.lastgroup is not None
        fmt = FORMATS[int(match.lastgroup[1:])]
        if fmt.context is not None:
            before = text[max(0, match.start() - _CONTEXT_CHARS) : match.start()]
            if not fmt.context.search(before):
                continue
        yield match


def find_tracking_numbers(text: str, limit: int = MAX_TRACKING_NUMBERS) -> list[str]:
    """The tracking numbers in a text, normalised, de-duplicated, in order of appearance."""
    return _dedupe((normalise(m.group()) for m in _tracking_matches(text)), limit)


def mask_tracking_numbers(text: str, mask: str = "tracking number") -> str:
    """The text with each tracking number replaced by `mask`: which parcel it is carries
    no meaning for reading what the customer asks, and a long code costs many tokens."""
    parts: list[str] = []
    end = 0
    for match in _tracking_matches(text):
        parts.extend((text[end : match.start()], mask))
        end = match.end()
    return "".join(parts) + text[end:]


def known_tracking_numbers(raw: Iterable[str], limit: int = MAX_TRACKING_NUMBERS) -> list[str]:
    """Tracking numbers given as such (a request's identifiers, the case history):
    normalised, de-duplicated, and only those of a known format (anything else cannot be
    a shipment of ours)."""
    return _dedupe((normalise(r) for r in raw if is_tracking_number(r)), limit)


# An e-mail rarely disputes more than a few orders; the cap bounds the lookup.
MAX_ORDER_NUMBERS = 10

# A word saying the number is an order, then the number (group 1); in lower-case text.
_ORDER_NUMBER = _WORDS.pattern("order_number")
# An order number given as such: the digits the reader accepts, nothing else.
_ORDER_DIGITS = re.compile(r"[0-9]{3,10}")


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


def known_order_numbers(raw: Iterable[str], limit: int = MAX_ORDER_NUMBERS) -> list[int]:
    """Order numbers given as such (a request's identifiers): only digit strings of the
    length the reader accepts, de-duplicated, in order, at most `limit`."""
    return _dedupe((int(r.strip()) for r in raw if _ORDER_DIGITS.fullmatch(r.strip())), limit)


@dataclass(frozen=True)
class Identifiers:
    """The identifiers a text names: tracking numbers normalised (upper case, no
    separators) and order numbers as digit strings ("1012"), each in order of appearance."""

    tracking_numbers: list[str] = field(default_factory=list)
    order_numbers: list[str] = field(default_factory=list)


def read_identifiers(text: str) -> Identifiers:
    """The tracking and order numbers written in a text."""
    return Identifiers(
        tracking_numbers=find_tracking_numbers(text),
        order_numbers=[str(n) for n in find_order_numbers(text)],
    )


def to_proto(identifiers: Identifiers) -> types_pb2.Identifiers:
    """The identifiers as `crm.v1.Identifiers`."""
    return types_pb2.Identifiers(
        tracking_numbers=identifiers.tracking_numbers, order_numbers=identifiers.order_numbers
    )


def from_proto(message: types_pb2.Identifiers) -> Identifiers:
    """`crm.v1.Identifiers` as they were sent (use `known_tracking_numbers` and
    `known_order_numbers` to keep only well-formed ones)."""
    return Identifiers(list(message.tracking_numbers), list(message.order_numbers))
