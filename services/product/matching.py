"""The match rule: which products fit what a customer asked for, and which are only near
alternatives.

A product matches when it satisfies every constraint the customer stated (brand, model,
colour, material, size, price, weight) and fits the stated needs as well as the best-fitting
model of the catalog does. "Best" is counted over every model made of a material asked for,
whatever its brand: a size 11 hiking boot is not a match for a size 12 request just because
it is the best we have in size 11, and a Nike is not "the most cushioned shoe" because it is
the most cushioned Nike; both are alternatives. So the match is empty when the products that
fit the need are excluded by a constraint, and a product that fits only part of a need never
crowds out one that fits all of it.

Alternatives are offered only when nothing matches: the same request with one constraint
dropped (size first, then colour, price, weight, material), labelled as alternatives.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction

from services.product.measures import Bounds
from services.product.needs import Needs, fit
from services.product.search import Constraints

# At most this many alternatives are offered; they are suggestions, not a listing.
MAX_ALTERNATIVES = 5
# A match request whose need was not understood still names specific products when its
# constraints leave at most this many models ("Vans that last"); more is a listing, not a
# match, so they are offered as alternatives and the reply asks what the shoes are for.
MAX_MODELS_WITHOUT_A_NEED = 3


@dataclass(frozen=True)
class Fit:
    """The models the customer could mean that fit the needs best, how many needs they
    cover, and the best-fitting models of any brand (the same when a named brand or model
    fits best; otherwise `models` is empty and these are the alternatives)."""

    models: tuple[str, ...] = ()
    covered: Fraction = Fraction(0)
    best_anywhere: tuple[str, ...] = ()

    @property
    def found(self) -> bool:
        """True when some model covers at least one need."""
        return self.covered > 0


def comparable_models(
    constraints: Constraints, materials_of: Mapping[str, frozenset[str]]
) -> list[str]:
    """The models "best" is measured against: every model made of a material asked for.
    Material is what a model is made of ("knit, responsive and springy" is the knit model);
    brand, size, colour and price are a choice or a budget, and do not change which shoe
    fits a need best ("waterproof boots under $150" is no match when the waterproof boot
    costs more)."""
    return sorted(
        name
        for name, materials in materials_of.items()
        if not constraints.materials or bool(materials & set(constraints.materials))
    )


def candidate_models(constraints: Constraints, brand_of_name: Mapping[str, str]) -> list[str]:
    """The models the customer could mean: in each alternative, the named models and every
    model of a brand named on its own, or all models when an alternative names none."""
    return sorted(
        {name for c in constraints.alternatives for name in _named_models(c, brand_of_name)}
    )


def _named_models(constraints: Constraints, brand_of_name: Mapping[str, str]) -> list[str]:
    named = constraints.product_names or constraints.brands_whole
    return [
        name
        for name, brand in brand_of_name.items()
        if not named or name in constraints.product_names or brand in constraints.brands_whole
    ]


def best_fit(
    needs: Needs,
    offers: Mapping[str, Needs],
    candidates: list[str],
    comparable: list[str],
) -> Fit:
    """The candidate models that cover as many needs as the best comparable model (all of
    them when tied); none when a model the customer did not name fits better."""
    scores = {name: fit(needs, offers[name]) for name in comparable if name in offers}
    top = max(scores.values(), default=Fraction(0))
    if top == 0:
        return Fit()
    best = tuple(sorted(n for n, s in scores.items() if s == top))
    return Fit(tuple(n for n in best if n in candidates), top, best)


def narrowed_to(
    constraints: Constraints, models: tuple[str, ...], brand_of_name: Mapping[str, str]
) -> Constraints:
    """The constraints with each alternative's models restricted to the given ones it
    could mean; an alternative left with none is dropped (all of them: the first one
    with the given models)."""
    kept = [
        dataclasses.replace(c, product_names=mine, brands_whole=())
        for c in constraints.alternatives
        if (mine := tuple(m for m in models if m in _named_models(c, brand_of_name)))
    ]
    if not kept:
        kept = [
            dataclasses.replace(constraints.alternatives[0], product_names=models, brands_whole=())
        ]
    first, *rest = kept
    return dataclasses.replace(first, otherwise=tuple(rest), preferred=constraints.preferred)


def relaxations(constraints: Constraints) -> Iterator[Constraints]:
    """The constraints with one of size, colour, price, weight or material dropped, in
    that order (the ones a customer is most often flexible about first); only those that
    drop something the customer asked for and keep something to search by."""
    return (c for c in _relaxed(constraints) if not c.empty)


def _relaxed(constraints: Constraints) -> Iterator[Constraints]:
    if not constraints.size.empty:
        yield dataclasses.replace(constraints, size=Bounds(), size_choices=())
    if constraints.colors:
        yield dataclasses.replace(constraints, colors=(), plain_colors=False)
    if not constraints.price.empty:
        yield dataclasses.replace(constraints, price=Bounds())
    if not constraints.weight_kg.empty:
        yield dataclasses.replace(constraints, weight_kg=Bounds())
    if constraints.materials:
        yield dataclasses.replace(constraints, materials=())


def too_broad_without_a_need(fit: Fit, models: Iterable[str]) -> bool:
    """True when no need was understood and the products found span more models than a
    customer could mean by "which one fits me"."""
    return not fit.found and len(set(models)) > MAX_MODELS_WITHOUT_A_NEED
