"""A case's context for one model call: the most recent summaries within a token budget,
the facts of the whole case, and how often each topic was asked. Pure.

The budget keeps model calls cheap on long threads: summaries are short to begin with, and
when even they do not fit, the oldest are left out first (the facts still cover them).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from services.common import wordlists
from services.common.identifiers import read_identifiers

# Default budget for the summaries, in o200k_base tokens.
DEFAULT_TOKEN_BUDGET = 80
FACT_KINDS = (
    "tracking_numbers",
    "order_numbers",
    "products",
    "actions_proposed",
    "actions_taken",
    "promises",
)

# Words of an approved reply's sentence that promise something to the customer.
_PROMISE = wordlists.load("services.memory", "context").pattern("promise")  # data/context.toml
# Sentence ends: a stop followed by space or a line break ("$6.00" is not an end).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class Remembered:
    """One message as the context sees it."""

    summary: str
    inbound: bool
    topic: str = ""
    facts: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class CaseContext:
    """What a model call gets to know about a case."""

    kept: list[int]  # indexes of the messages kept, oldest first
    omitted: int
    tokens: int
    facts: dict[str, list[str]]
    topic_counts: dict[str, int]


def facts_in_text(text: str) -> dict[str, list[str]]:
    """The tracking and order numbers written in a message (the shared reader, so case
    memory keeps the numbers the delivery service would look up)."""
    found = read_identifiers(text)
    return {"tracking_numbers": found.tracking_numbers, "order_numbers": found.order_numbers}


def promises_in_reply(text: str) -> list[str]:
    """The sentences of an approved reply that promise the customer something."""
    sentences = (" ".join(s.split()) for s in _SENTENCE_END.split(text))
    return [s for s in sentences if s and _PROMISE.search(s)]


def merged(facts: Iterable[Mapping[str, Sequence[str]]]) -> dict[str, list[str]]:
    """Facts of several messages, each kind de-duplicated, in the order given."""
    out: dict[str, list[str]] = {k: [] for k in FACT_KINDS}
    for f in facts:
        for kind in FACT_KINDS:
            for value in f.get(kind, ()):
                if value and value not in out[kind]:
                    out[kind].append(value)
    return out


def case_context(
    messages: Sequence[Remembered], budget: int, count_tokens: Callable[[str], int]
) -> CaseContext:
    """The most recent summaries that fit `budget` tokens (oldest first), the facts of all
    messages (most recent first) and the number of inbound messages per topic."""
    kept: list[int] = []
    used = 0
    for i in range(len(messages) - 1, -1, -1):
        cost = count_tokens(messages[i].summary) + 1  # one more for the line break
        if used + cost > budget:
            break
        kept.append(i)
        used += cost
    kept.reverse()
    facts = merged(m.facts for m in reversed(messages))
    topics = Counter(m.topic for m in messages if m.inbound and m.topic)
    return CaseContext(kept, len(messages) - len(kept), used, facts, dict(topics))


@dataclass(frozen=True)
class OpenRequest:
    """The customer's last request in a case."""

    index: int  # of the message that made it
    topic: str
    tracking_numbers: list[str]
    order_numbers: list[str]
    answered: bool


def open_request(messages: Sequence[Remembered]) -> OpenRequest | None:
    """The last inbound message, with the identifiers it names (or its draft looked up) or,
    when it names none, those of the latest earlier customer message that named any (a
    follow-up rarely repeats them); answered when the shop has replied since. None when
    the customer has written nothing yet.

    The numbers are taken together from one message, never mixed from two requests (an
    order disputed earlier is not the parcel asked about later), and only from the
    customer's messages: a reply's numbers may be examples ("for example order 1003")."""
    last = next((i for i in range(len(messages) - 1, -1, -1) if messages[i].inbound), None)
    if last is None:
        return None
    tracking: list[str] = []
    orders: list[str] = []
    for message in reversed(messages[: last + 1]):
        if not message.inbound:
            continue
        tracking = [n for n in message.facts.get("tracking_numbers", []) if n]
        orders = [n for n in message.facts.get("order_numbers", []) if n]
        if tracking or orders:
            break
    return OpenRequest(
        index=last,
        topic=messages[last].topic,
        tracking_numbers=tracking,
        order_numbers=orders,
        answered=any(not m.inbound for m in messages[last + 1 :]),
    )
