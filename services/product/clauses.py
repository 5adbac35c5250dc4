"""How a product request is put together, before its constraints are read: its
alternatives and its optional clauses.

- **Alternatives.** A fallback connective ("X, or else Y", "X; if not, Y", "sinon",
  "sonst") offers a second choice: the request is the union of its alternatives, in the
  order given. Put first ("if not the Air Max, then the Ultraboost"), the first
  alternative runs from the connective to the next clause or "then".
- **Optional clauses.** A hedge ("ideally", "if possible", "not essential", "I usually
  buy") makes its clause a wish: what that clause names ranks the products found but does
  not filter them. A hedge alone in its clause (", if possible") belongs to the clause
  before it.
- **Indifference.** "Any brand", "colour doesn't matter": what the customer names of
  that kind elsewhere is a wish too.

The words are the function words of each language (`data/clauses.toml`); this module
only cuts the text. Which brands, colours or sizes each part names is read as for any
request (`search.read_request`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import cache

from services.common import wordlists

_WORDS = wordlists.load("services.product", "clauses")
# What ends a clause: punctuation (not the point or comma of a number: "9.5", "9,5"), or
# a line break. A bracket does not: "(walnut)" belongs to the clause it explains.
_CLAUSE_END = re.compile(r"(?:[;:!?\n]|[.,](?!\d))+")
_WORD = re.compile(r"\w+")


class Kind(Enum):
    """Kinds of attribute a customer may say they are indifferent about."""

    BRAND = "brand_words"
    COLOUR = "colour_words"
    MATERIAL = "material_words"


@dataclass(frozen=True)
class Part:
    """One alternative of a request: the text of its required clauses, and of the
    clauses the customer said are optional."""

    required: str
    optional: str = ""


@dataclass(frozen=True)
class Layout:
    """A request cut into its alternatives (in the order given, at least one) and the
    kinds of attribute the customer said do not matter."""

    alternatives: tuple[Part, ...]
    indifferent: frozenset[Kind] = frozenset()


@cache
def _indifference(kind: Kind) -> re.Pattern[str]:
    return _WORDS["indifferent"].compiled(kind=_WORDS[kind.value].slot("patterns"))


def layout(text: str) -> Layout:
    """The text's alternatives, each split into required and optional clauses."""
    indifferent = frozenset(k for k in Kind if _indifference(k).search(text))
    parts = tuple(_split_optional(p) for p in _alternatives(text))
    return Layout(parts or (Part(text),), indifferent)


def _alternatives(text: str) -> list[str]:
    """The text cut at each fallback connective. A connective with nothing before it in
    its sentence is put first: its alternative ends at the clause's end or at "then"."""
    fallback = _WORDS.pattern("fallback")
    pieces: list[str] = []
    rest = text
    while match := fallback.search(rest):
        before, after = rest[: match.start()], rest[match.end() :]
        sentence_start = max(before.rfind(c) for c in ".!?\n") + 1
        if before[sentence_start:].strip():
            pieces.append(before)
            rest = after
            continue
        # "If not the Air Max, then the Ultraboost": the first choice follows.
        pieces.append(before)
        end = _WORDS.pattern("then").search(after) or _CLAUSE_END.search(after)
        if end is None or not after[: end.start()].strip():
            rest = after
            continue
        pieces.append(after[: end.start()])
        rest = after[end.end() :]
    pieces.append(rest)
    return [p for p in pieces if p.strip()]


def _split_optional(text: str) -> Part:
    """The required and optional clauses of one alternative, each clause kept with the
    punctuation after it (a capital after a full stop still starts a sentence)."""
    optional = _WORDS.pattern("optional")
    clauses: list[str] = []
    at = 0
    for end in _CLAUSE_END.finditer(text):
        clauses.append(text[at : end.end()])
        at = end.end()
    clauses.append(text[at:])
    wished = [bool(optional.search(c)) for c in clauses]
    if not any(wished):
        return Part(text)
    for i, clause in enumerate(clauses):
        if wished[i] and i > 0 and _hedge_alone(clause, optional):
            wished[i - 1] = True
    required = "".join(c for c, w in zip(clauses, wished, strict=True) if not w)
    chosen = "".join(c for c, w in zip(clauses, wished, strict=True) if w)
    return Part(required, chosen)


def _hedge_alone(clause: str, hedge: re.Pattern[str]) -> bool:
    """True for a clause that ends with its hedge and names nothing before it ("if
    possible", "but not essential"): the hedge is about the clause before."""
    found = list(hedge.finditer(clause))
    if not found:
        return False
    return not _WORD.search(clause[found[-1].end() :] + clause[: found[0].start()])
