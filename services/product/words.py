"""Words of a customer's text: tokens with their capitalisation and position, and which of
them a negation covers ("not suede or nubuck"). Shared by the catalog vocabulary and the
reading of needs."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

# Words that negate what follows them in the same clause: "not suede", "no two-tone",
# "anything but red", "rather than leather".
_NEGATIONS = frozenset(
    {"not", "no", "non", "without", "except", "nor", "never", "dont", "doesnt", "isnt", "arent",
     "avoid", "hate", "excluding"}
)  # fmt: skip
_NEGATION_PAIRS = frozenset({("rather", "than"), ("instead", "of"), ("other", "than")})
_INDIFFERENT = frozenset({"mind", "care", "matter", "bother", "fussed", "problem", "issue"})
# A negation reaches at most this many words, and never past a clause boundary.
_NEGATION_REACH = 4
# What ends a clause, for the reach of a negation.
_CLAUSE_END = frozenset(",;:.!?()\n")

# A word: letters and digits, with inner apostrophes ("men's", "Nike's").
_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
# What ends a sentence, so that a capital after it says nothing about a name.
_SENTENCE_END = frozenset(".!?\n>")


@dataclass(frozen=True)
class Token:
    """One word of the customer's text."""

    norm: str
    capitalised: bool
    sentence_start: bool
    # First word after a comma, bracket or sentence end.
    clause_start: bool = False


def fold(text: str) -> str:
    """Lower case without accents: "Café" -> "cafe"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def norm_word(word: str) -> str:
    """A word folded, possessive dropped and apostrophes removed: "Nike's" -> "nike"."""
    folded = fold(word).replace("\u2019", "'")
    if folded.endswith("'s"):
        folded = folded[:-2]
    return folded.replace("'", "")


def normalise_words(text: str) -> tuple[str, ...]:
    """The words of a catalog value, normalised as customer words are."""
    return tuple(w for w in (norm_word(m.group()) for m in _WORD.finditer(text)) if w)


def negated_tokens(tokens: Sequence[Token]) -> list[bool]:
    """For each token, whether a negation earlier in its clause covers it ("not suede or
    nubuck": both; "no leather, size 11": only leather). "But" after a negation ends it
    ("not red but blue"); "but" alone negates what follows only as "anything but"."""
    out = [False] * len(tokens)
    reach = 0
    for i, token in enumerate(tokens):
        if token.clause_start:
            reach = 0
        if reach and token.norm == "but":
            reach = 0
            continue
        if reach:
            out[i] = True
            reach -= 1
        word = token.norm
        previous = tokens[i - 1].norm if i else ""
        if word == "but":
            if previous in {"anything", "everything"}:
                reach = _NEGATION_REACH
        elif word in _NEGATIONS or (previous, word) in _NEGATION_PAIRS:
            following = tokens[i + 1].norm if i + 1 < len(tokens) else ""
            # "I don't mind which colour", "doesn't matter": indifference, not exclusion.
            if following not in _INDIFFERENT:
                reach = _NEGATION_REACH
    return out


def tokenize(text: str) -> list[Token]:
    """The customer's words, with the capitalisation and sentence position of each."""
    tokens: list[Token] = []
    for match in _WORD.finditer(text):
        norm = norm_word(match.group())
        if not norm:
            continue
        before = text[: match.start()].rstrip(" \t\"'(")
        tokens.append(
            Token(
                norm=norm,
                capitalised=match.group()[0].isupper(),
                sentence_start=not before or before[-1] in _SENTENCE_END,
                clause_start=not before or before[-1] in _CLAUSE_END,
            )
        )
    return tokens
