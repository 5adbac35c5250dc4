"""What a product request asks for: its constraints, its needs, and whether the catalog can
answer it at all (see `declines` for when it cannot)."""

from __future__ import annotations

from dataclasses import dataclass, field

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
from services.product.search import Constraints, read_constraints
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
    constraints = read_constraints(text, vocabulary)
    needs = Needs()
    chosen = Fit()
    if by_need:
        named = (
            *constraints.brands,
            *constraints.product_names,
            *constraints.colors,
            *constraints.materials,
        )
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
