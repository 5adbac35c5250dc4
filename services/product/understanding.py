"""What a product request asks for: its constraints, its needs, and whether the catalog can
answer it at all (see `declines` for when it cannot)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from fractions import Fraction

from services.product.declines import (
    DECLINE_BEYOND_CATALOG,
    DECLINE_INJECTION,
    DECLINE_NOTHING_SPECIFIC,
    DECLINE_WHOLE_CATALOG,
    asks_beyond_catalog,
    asks_for_whole_catalog,
    looks_like_injection,
)
from services.product.matching import Fit, best_fit, candidate_models, comparable_models
from services.product.needs import Needs, read_needs
from services.product.search import Constraints, read_request
from services.product.vocabulary import Vocabulary


@dataclass(frozen=True)
class Understanding:
    """The constraints and needs read from a message, and whether the catalog can answer
    it; `fit` holds the best-fitting models when the needs were weighed."""

    constraints: Constraints = field(default_factory=Constraints)
    answerable: bool = False
    decline_reason: str = ""
    needs: Needs = field(default_factory=Needs)
    fit: Fit = field(default_factory=Fit)


def understand(text: str, vocabulary: Vocabulary, *, by_need: bool = False) -> Understanding:
    """Reads a customer's message. A search (`by_need` false) needs at least one
    constraint; a match is also answerable from needs alone ("hiking boots?")."""
    constraints = read_request(text, vocabulary, wishes_alone_required=not by_need)
    needs = Needs()
    chosen = Fit()
    if by_need:
        readings = [*constraints.alternatives, constraints.preferred or Constraints()]
        named = [
            value
            for c in readings
            for value in (*c.brands, *c.product_names, *c.colors, *c.materials)
        ]
        needs = read_needs(text, ignore=named)
        chosen = best_fit(
            needs,
            vocabulary.offers,
            candidate_models(constraints, vocabulary.brand_of_name),
            comparable_models(constraints, vocabulary.materials_of),
        )
    if looks_like_injection(text):
        return Understanding(constraints, False, DECLINE_INJECTION, needs, chosen)
    if asks_for_whole_catalog(text):
        return Understanding(constraints, False, DECLINE_WHOLE_CATALOG, needs, chosen)
    if asks_beyond_catalog(text):
        return Understanding(constraints, False, DECLINE_BEYOND_CATALOG, needs, chosen)
    if constraints.empty and not chosen.found:
        return Understanding(constraints, False, DECLINE_NOTHING_SPECIFIC, needs, chosen)
    return Understanding(constraints, True, "", needs, chosen)


def needs_unrecognised(understood: Understanding) -> bool:
    """True when the customer named needs but none of them fits any model by the
    thesaurus and word stems: the case for reading the need by meaning (`meaning`)."""
    return (
        not understood.fit.found
        and bool(understood.needs.wants)
        and understood.decline_reason in ("", DECLINE_NOTHING_SPECIFIC)
    )


def fitted_by_meaning(
    understood: Understanding, model: str, vocabulary: Vocabulary
) -> Understanding:
    """The understanding with the model the encoder found closest to the need as the
    best fit: a match when the customer could mean it, else the better fit elsewhere."""
    candidates = candidate_models(understood.constraints, vocabulary.brand_of_name)
    chosen = Fit((model,) if model in candidates else (), Fraction(1), (model,))
    return dataclasses.replace(understood, fit=chosen, answerable=True, decline_reason="")
