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
        needs = read_needs(text, ignore=constraints.named)
        if constraints.otherwise:
            constraints, chosen = _fitted_alternatives(constraints, vocabulary)
        else:
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


def _fitted_alternatives(
    constraints: Constraints, vocabulary: Vocabulary
) -> tuple[Constraints, Fit]:
    """Each alternative's own needs weighed on their own ("trail runners in 10, if not then
    something for walking": the best trail shoe, or else the best walking shoe, in 10). An
    alternative naming no need is kept as named; one whose need a model it excludes fits
    better is dropped. The fit is every kept alternative's best models."""
    kept: list[Constraints] = []
    models: list[str] = []
    covered = Fraction(0)
    for alternative in constraints.alternatives:
        own = read_needs(alternative.own_words, ignore=constraints.named)
        if not own.wants:
            kept.append(alternative)
            continue
        fit = best_fit(
            own,
            vocabulary.offers,
            candidate_models(alternative, vocabulary.brand_of_name),
            comparable_models(alternative, vocabulary.materials_of),
        )
        if fit.found and not fit.models:
            continue
        if fit.found:
            kept.append(dataclasses.replace(alternative, product_names=fit.models, brands_whole=()))
            models.extend(m for m in fit.models if m not in models)
            covered = max(covered, fit.covered)
        else:
            kept.append(alternative)
    if not kept:
        return constraints, Fit()
    first, *rest = kept
    narrowed = dataclasses.replace(first, otherwise=tuple(rest), preferred=constraints.preferred)
    if not models:
        return narrowed, Fit()
    # Alternatives kept as named count as fitting: the customer chose them.
    for alternative in kept:
        if alternative.product_names or alternative.brands_whole:
            named = candidate_models(alternative, vocabulary.brand_of_name)
            models.extend(m for m in named if m not in models)
    return narrowed, Fit(tuple(models), covered, tuple(models))


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
