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

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlglot import exp

from services.product.guard import (
    MAX_LIMIT,
    PRODUCTS_TABLE,
    RESULT_COLUMNS,
    check_query,
)
from services.product.measures import (
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
# Words offering colours as choices rather than as one colourway.
_ALTERNATIVE = re.compile(
    r"\b(?:or|either|otherwise|alternatively|else|oppure|o|ou|oder|of|albo|lub|czy|eller)\b|/"
)


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

    @property
    def empty(self) -> bool:
        """True when nothing at all narrows the search."""
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


def build_query(constraints: Constraints, limit: int = DEFAULT_LIMIT) -> str:
    """The PostgreSQL query for the products that satisfy every constraint.

    Product names and brands are alternatives ("the Air Max or anything from Adidas");
    colours, materials, size and price each narrow them further.
    """
    if constraints.empty:
        raise ValueError("refusing to build a search without any constraint")
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
    query = (
        exp.select(*(_column(c) for c in RESULT_COLUMNS))
        .from_(exp.table_(PRODUCTS_TABLE, alias=_ALIAS))
        .where(exp.and_(*conditions))
        .order_by(_column("brand"), _column("name"), _column("size_us"), _column("product_id"))
        .limit(max(1, min(limit, MAX_LIMIT)))
    )
    sql = query.sql(dialect=_DIALECT)
    check_query(sql)
    return sql
