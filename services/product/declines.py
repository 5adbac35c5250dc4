"""When a product request is declined rather than answered, and the reason given.

A request is declined when it asks to enumerate or export the catalog (a search answers
questions about some products, it never hands out the inventory), when it asks for a
promise the catalog cannot back (durability in years, medical or fitness outcomes,
predictions), or when nothing in it narrows the catalog at all. The reply then asks the
customer for specifics instead of listing data.

The words and patterns of these requests are data: `data/declines.toml`, one table per
kind of request, each searched for in the lower-cased text.
"""

from __future__ import annotations

from services.common import wordlists

_WORDS = wordlists.load("services.product", "declines")  # data/declines.toml

DECLINE_NOTHING_SPECIFIC = (
    "No brand, model, colour, material, US size, price, weight or use the catalog describes "
    "could be read from the message, so there is nothing specific to look up."
)
DECLINE_WHOLE_CATALOG = (
    "The message asks for the whole catalog or an export of it; a product search answers "
    "questions about specific products (a brand, model, colour, material, size or price)."
)

# Requests to enumerate everything (data/declines.toml [whole_catalog]). "all your shoes"
# declines, "all your shoes in size 10" is a question with a constraint and goes ahead.
_WHOLE_CATALOG = _WORDS.pattern("whole_catalog")


DECLINE_BEYOND_CATALOG = (
    "The message asks for a promise the catalog does not record (how many years a shoe "
    "lasts, a medical or fitness outcome, a guarantee or a prediction); the catalog "
    "describes brand, model, colour, material, size, price, weight and use."
)
# Promises and predictions no catalog row can back (data/declines.toml [beyond_catalog]).
# Each needs the promise itself, not just a word: "a guarantee that I'll never get
# blisters", "lasts ten years", "will make me jump higher", "most fashionable in 2027".
_BEYOND_CATALOG = _WORDS.pattern("beyond_catalog")


DECLINE_INJECTION = (
    "The message contains SQL or instructions aimed at the system rather than a question "
    "about products; nothing was looked up."
)
# SQL written into an e-mail, or instructions to the system: never a product question
# (data/declines.toml [injection]). Nothing of the text reaches SQL anyway; this is so the
# reply declines instead of answering the part that happened to parse, such as the "size
# 10" of "size 10' OR 1=1".
_INJECTION = _WORDS.pattern("injection")


def looks_like_injection(text: str) -> bool:
    """True when the text carries SQL or instructions to the system."""
    lowered = text.lower()
    return bool(_INJECTION.search(lowered))


def asks_for_whole_catalog(text: str) -> bool:
    """True when the text asks to list or export everything rather than some products."""
    lowered = text.lower()
    return bool(_WHOLE_CATALOG.search(lowered))


def asks_beyond_catalog(text: str) -> bool:
    """True when the text asks for a promise or prediction the catalog cannot back."""
    lowered = text.lower().replace("\u2019", "'")
    return bool(_BEYOND_CATALOG.search(lowered))
