"""From a customer's e-mail to a catalog query: the constraints it states over the catalog's
columns, and the SQL that finds every product satisfying them.

The SQL is built with sqlglot's expression builder from catalog values (read from the
database) and numbers parsed here; the customer's text itself never reaches it. Every
query, whoever wrote it, passes one guard before it runs (`check_query`): a single SELECT
of allowlisted tables, columns and functions with a literal LIMIT of at most MAX_LIMIT
rows. The store then runs it in a read-only transaction under a statement timeout, as a
role whose only grants are SELECT on the catalog tables.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlglot import exp

from services.product.clauses import Kind, layout
from services.product.guard import (
    MAX_LIMIT,
    PRODUCTS_TABLE,
    RESULT_COLUMNS,
    CheckedQuery,
    check_built_query,
)
from services.product.measures import (
    OR_WORDS,
    Bounds,
    find_price_bounds,
    find_size_choices,
    find_sizes,
    find_weight_bounds,
)
from services.product.vocabulary import Vocabulary

DEFAULT_LIMIT = 100
_ALIAS = "p"
_DIALECT = "postgres"

# A single colour only, without a second one in the colourway.
_PLAIN_COLOUR = re.compile(
    r"\b(?:plain|solid|pure|all|full|total|head[- ]to[- ]toe|triple|mono(?:chrome)?)[- ]?"
    r"(?:black|white|red|blue|grey|gray|navy|green|pink|brown)\b"
    r"|\b(?:no|not|without)\s+(?:a\s+)?(?:two[- ]tone|two[- ]colou?r|colou?r(?:ed)?\s+"
    r"(?:accents?|details?|blocking)|multi[- ]?colou?r|contrast)"
    r"|\bsingle[- ]colou?r|\bone[- ]colou?r\b"
)


# A single material only: "plain mesh", "full leather", "no leather/mesh combos".
_PLAIN_MATERIAL = re.compile(
    r"\b(?:plain|pure|solid|full|all|100\s*%?|genuine|real|proper|smooth)[- ]?(?:grain\s+)?"
    r"(?:leather|mesh|suede|canvas|knit|nubuck|synthetic|foam)\b"
    r"|\b(?:not|no)\s+(?:\w+\s*/\s*\w+\s+)?(?:combos?|combinations?|mix(?:es|ed)?|blends?|hybrids?)\b"
)
# Colours of one colourway are named within this many words of each other ("white with
# blue details"); farther apart they are separate mentions (a signature "Marco Rossi").
_COLOURWAY_GAP = 3
# "Or" (or a slash) offers colours as choices rather than as one colourway ("black or
# white"); a fallback ("otherwise") has already cut the request into alternatives.
_ALTERNATIVE = re.compile(rf"\b{OR_WORDS}\b|/")


@dataclass(frozen=True)
class Constraints:
    """What a customer asked for, in the catalog's words."""

    # Brands asked for, including the brand of every named model.
    brands: tuple[str, ...] = ()
    product_names: tuple[str, ...] = ()
    colors: tuple[str, ...] = ()
    materials: tuple[str, ...] = ()
    # Only single-colour products ("plain blue", "all black", "no two-tone").
    plain_colors: bool = False
    size: Bounds = field(default_factory=Bounds)
    # Sizes offered as choices ("8.5 or 11"); when set, only these sizes, not the range.
    size_choices: tuple[Decimal, ...] = ()
    price: Bounds = field(default_factory=Bounds)
    weight_kg: Bounds = field(default_factory=Bounds)
    # Brands named without any of their models: every product of theirs is wanted.
    brands_whole: tuple[str, ...] = ()
    # Further alternatives, searched as a union after this one, in the order given ("the
    # Air Max in 10, or else the Ultraboost"); see `clauses`.
    otherwise: tuple[Constraints, ...] = ()
    # What the customer would like but said is optional ("ideally black"): it ranks the
    # products found, first those having it, and never filters them.
    preferred: Constraints | None = None
    # The words of this alternative when the request has several: its needs are read
    # from them ("trail runners, if not then something for walking").
    own_words: str = ""

    @property
    def empty(self) -> bool:
        """True when nothing at all narrows the search."""
        return self.narrows_nothing and all(c.empty for c in self.otherwise)

    @property
    def alternatives(self) -> tuple[Constraints, ...]:
        """This alternative and the ones after it, each on its own."""
        return (dataclasses.replace(self, otherwise=(), preferred=None), *self.otherwise)

    @property
    def named(self) -> tuple[str, ...]:
        """Every brand, model, colour and material named, in any alternative or wish."""
        readings = [*self.alternatives, self.preferred or Constraints()]
        return tuple(
            value
            for c in readings
            for value in (*c.brands, *c.product_names, *c.colors, *c.materials)
        )

    @property
    def narrows_nothing(self) -> bool:
        """True when this alternative on its own narrows nothing."""
        return not (
            self.brands
            or self.product_names
            or self.colors
            or self.materials
            or not self.size.empty
            or not self.price.empty
            or not self.weight_kg.empty
        )


def _combined_colours(
    text: str, groups: Sequence[Sequence[str]], spans: Sequence[tuple[int, int]]
) -> tuple[str, ...]:
    """The colourways having every colour named ("white with blue", "red and black"), when
    the colours are named close together, the catalog has such a colourway, and the
    colours are not offered as choices ("black or white")."""
    if len(groups) < 2 or _ALTERNATIVE.search(text.lower()):
        return ()
    if any(b[0] - a[1] > _COLOURWAY_GAP for a, b in itertools.pairwise(spans)):
        return ()
    common = set(groups[0]).intersection(*groups[1:])
    return tuple(sorted(common))


def read_constraints(text: str, vocabulary: Vocabulary) -> Constraints:
    """The constraints a text expresses over brand, model, colour, material, size and price."""
    mentions = vocabulary.find(text)
    model_brands = {vocabulary.brand_of_name[n] for n in mentions.product_names}
    plain = bool(_PLAIN_COLOUR.search(text.lower()))
    colors = mentions.colors
    combined = _combined_colours(text, mentions.color_groups, mentions.color_spans)
    if combined:
        colors = combined
    if plain:
        colors = tuple(c for c in colors if vocabulary.is_single_part(c)) or colors
    colors = tuple(c for c in colors if c not in mentions.excluded_colors)
    materials = mentions.materials
    if _PLAIN_MATERIAL.search(text.lower()):
        materials = tuple(m for m in materials if vocabulary.is_single_part(m)) or materials
    return Constraints(
        brands=tuple(sorted(set(mentions.brands) | model_brands)),
        product_names=mentions.product_names,
        colors=colors,
        plain_colors=plain,
        materials=materials,
        size=find_sizes(text),
        size_choices=find_size_choices(text),
        price=find_price_bounds(text),
        weight_kg=find_weight_bounds(text),
        brands_whole=tuple(b for b in mentions.brands if b not in model_brands),
    )


def read_request(
    text: str, vocabulary: Vocabulary, *, wishes_alone_required: bool = True
) -> Constraints:
    """The constraints of a request with its alternatives and optional wishes (see
    `clauses`): each alternative's brand, model, colour and material are read from its
    required clauses; its size, price and weight from all of it (a size or budget is the
    customer's, never a wish). Size, price and weight stated in one alternative hold for
    every alternative that states none; a later alternative naming no brand or model is the first shoe
    changed, so it keeps what it does not restate. Wishes read when nothing else is
    required are the request itself when `wishes_alone_required` (a search; a match has
    its need to narrow it)."""
    cut = layout(text)
    readings: list[Constraints] = []
    wishes: list[Constraints] = []
    for part in cut.alternatives:
        whole = read_constraints(f"{part.required} {part.optional}", vocabulary)
        required = read_constraints(part.required, vocabulary) if part.optional else whole
        wish = read_constraints(part.optional, vocabulary) if part.optional else Constraints()
        chosen = dataclasses.replace(
            whole,
            brands=required.brands,
            product_names=required.product_names,
            brands_whole=required.brands_whole,
            colors=required.colors,
            plain_colors=required.plain_colors,
            materials=required.materials,
        )
        chosen, wish = _indifferent(chosen, wish, cut.indifferent)
        if len(cut.alternatives) > 1:
            chosen = dataclasses.replace(chosen, own_words=f"{part.required} {part.optional}")
        readings.append(chosen)
        wishes.append(wish)
    first, *rest = readings
    measures = _stated_measures(readings)
    later: list[Constraints] = []
    for alternative in (_carried_over(first, c) for c in rest):
        if (not alternative.empty or alternative.own_words.strip()) and alternative not in (
            first,
            *later,
        ):
            later.append(alternative)
    if later:
        first, *later = (_measured(c, measures) for c in (first, *later))
    preferred = _merged(wishes)
    if wishes_alone_required and first.narrows_nothing and not later and preferred is not None:
        first = _carried_over(first, preferred)
        preferred = None
    return dataclasses.replace(first, otherwise=tuple(later), preferred=preferred)


def _indifferent(
    required: Constraints, wish: Constraints, kinds: frozenset[Kind]
) -> tuple[Constraints, Constraints]:
    """Moves what the customer said does not matter from the constraints to the wishes."""
    moved: dict[str, object] = {}
    if Kind.BRAND in kinds:
        moved |= {"brands": (), "product_names": (), "brands_whole": ()}
        wish = dataclasses.replace(
            wish,
            brands=(*wish.brands, *required.brands),
            product_names=(*wish.product_names, *required.product_names),
            brands_whole=(*wish.brands_whole, *required.brands_whole),
        )
    if Kind.COLOUR in kinds:
        moved |= {"colors": (), "plain_colors": False}
        wish = dataclasses.replace(wish, colors=(*wish.colors, *required.colors))
    if Kind.MATERIAL in kinds:
        moved["materials"] = ()
        wish = dataclasses.replace(wish, materials=(*wish.materials, *required.materials))
    return dataclasses.replace(required, **moved), wish  # type: ignore[arg-type]


def _stated_measures(readings: Sequence[Constraints]) -> Constraints:
    """The first size, price and weight any alternative states (the customer's foot and
    budget, said once for all of them: "black Reeboks, otherwise white Fila, max 80")."""
    sized = next((c for c in readings if not c.size.empty or c.size_choices), Constraints())
    priced = next((c for c in readings if not c.price.empty), Constraints())
    weighed = next((c for c in readings if not c.weight_kg.empty), Constraints())
    return Constraints(
        size=sized.size,
        size_choices=sized.size_choices,
        price=priced.price,
        weight_kg=weighed.weight_kg,
    )


def _measured(c: Constraints, measures: Constraints) -> Constraints:
    """An alternative with the stated size, price and weight where it states none."""
    out = c
    if c.size.empty and not c.size_choices:
        out = dataclasses.replace(out, size=measures.size, size_choices=measures.size_choices)
    if c.price.empty:
        out = dataclasses.replace(out, price=measures.price)
    if c.weight_kg.empty:
        out = dataclasses.replace(out, weight_kg=measures.weight_kg)
    return out


def _carried_over(first: Constraints, later: Constraints) -> Constraints:
    """A later alternative with the first shoe's brand, model, colour and material when
    it names no brand or model (the same shoe changed: "in 12, if not then 11")."""
    out = later
    if not (later.brands or later.product_names):
        out = dataclasses.replace(
            out,
            brands=first.brands,
            product_names=first.product_names,
            brands_whole=first.brands_whole,
            colors=later.colors or first.colors,
            plain_colors=later.plain_colors or (first.plain_colors and not later.colors),
            materials=later.materials or first.materials,
        )
    return out


def _merged(wishes: Sequence[Constraints]) -> Constraints | None:
    """Every alternative's wishes as one (brand, model, colour, material); None when
    there are none."""
    merged = Constraints(
        brands=tuple(sorted({b for w in wishes for b in w.brands})),
        product_names=tuple(sorted({n for w in wishes for n in w.product_names})),
        brands_whole=tuple(sorted({b for w in wishes for b in w.brands_whole})),
        colors=tuple(sorted({c for w in wishes for c in w.colors})),
        materials=tuple(sorted({m for w in wishes for m in w.materials})),
    )
    return None if merged.narrows_nothing else merged


def _column(name: str) -> exp.Column:
    return exp.column(name, table=_ALIAS)


def _strings(values: Sequence[str]) -> list[exp.Expression]:
    return [exp.Literal.string(v) for v in values]


def _number(value: Decimal) -> exp.Expression:
    return exp.Literal.number(format(value, "f"))


def _within(column: exp.Column, bounds: Bounds) -> list[exp.Expression]:
    """Conditions keeping a column inside the bounds: "= 10", or ">= 80" and "< 150"."""
    low, high = bounds.low, bounds.high
    if low is not None and low == high and not (bounds.low_strict or bounds.high_strict):
        return [exp.EQ(this=column, expression=_number(low))]
    out: list[exp.Expression] = []
    if low is not None:
        above = exp.GT if bounds.low_strict else exp.GTE
        out.append(above(this=column.copy(), expression=_number(low)))
    if high is not None:
        below = exp.LT if bounds.high_strict else exp.LTE
        out.append(below(this=column.copy(), expression=_number(high)))
    return out


def build_query(constraints: Constraints, limit: int = DEFAULT_LIMIT) -> CheckedQuery:
    """The PostgreSQL query for the products that satisfy every constraint of one of the
    alternatives, those of the first alternative first, and within each those having the
    optional wishes first.

    Product names and brands are alternatives ("the Air Max or anything from Adidas");
    colours, materials, size and price each narrow them further.
    """
    if constraints.empty:
        raise ValueError("refusing to build a search without any constraint")
    alternatives = [_conditions(c) for c in constraints.alternatives if not c.narrows_nothing]
    where = alternatives[0] if len(alternatives) == 1 else exp.or_(*map(exp.paren, alternatives))
    order: list[exp.Expression] = []
    if len(alternatives) > 1:
        order.append(_rank(alternatives))
    wish = constraints.preferred
    if wish is not None and not wish.narrows_nothing:
        order.append(_rank([_conditions(wish)]))
    query = (
        exp.select(*(_column(c) for c in RESULT_COLUMNS))
        .from_(exp.table_(PRODUCTS_TABLE, alias=_ALIAS))
        .where(where)
        .order_by(
            *order, _column("brand"), _column("name"), _column("size_us"), _column("product_id")
        )
        .limit(max(1, min(limit, MAX_LIMIT)))
    )
    return check_built_query(query.sql(dialect=_DIALECT))


def _rank(conditions: Sequence[exp.Expression]) -> exp.Expression:
    """0 for rows meeting the first condition, 1 for the second..., then the rest."""
    case = exp.Case()
    for i, condition in enumerate(conditions):
        case = case.when(condition.copy(), exp.Literal.number(i))
    return case.else_(exp.Literal.number(len(conditions)))


def _conditions(constraints: Constraints) -> exp.Expression:
    """One alternative's constraints as a condition over a product row."""
    conditions: list[exp.Expression] = []
    which: list[exp.Expression] = []
    if constraints.product_names:
        which.append(_column("name").isin(*_strings(constraints.product_names)))
    if constraints.brands_whole:
        which.append(_column("brand").isin(*_strings(constraints.brands_whole)))
    if which:
        conditions.append(exp.paren(exp.or_(*which)) if len(which) > 1 else which[0])
    if constraints.colors:
        conditions.append(_column("color").isin(*_strings(constraints.colors)))
    if constraints.materials:
        conditions.append(_column("material").isin(*_strings(constraints.materials)))
    if constraints.size_choices:
        sizes = [_number(v) for v in constraints.size_choices]
        conditions.append(_column("size_us").isin(*sizes))
    for column, bounds in (
        ("size_us", Bounds() if constraints.size_choices else constraints.size),
        ("price", constraints.price),
        ("weight_kg", constraints.weight_kg),
    ):
        conditions.extend(_within(_column(column), bounds))
    if len(conditions) == 1:
        return conditions[0]
    return exp.and_(*conditions).assert_is(exp.Expression)
