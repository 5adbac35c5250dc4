"""From a customer's e-mail to a catalog query: what was asked, whether it can be answered,
and the SQL that answers it.

The SQL is built with sqlglot's expression builder from catalog values (read from the
database) and numbers parsed here; the customer's text itself never reaches it. Every
query, whoever wrote it, passes one guard before it runs (`check_query`): a single SELECT
of allowlisted tables, columns and functions with a literal LIMIT of at most MAX_LIMIT
rows. The store then runs it in a read-only transaction under a statement timeout, as a
role whose only grants are SELECT on the catalog tables.
"""

from __future__ import annotations

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
from services.product.measures import find_price_bounds, find_sizes
from services.product.vocabulary import Vocabulary

DEFAULT_LIMIT = 100
_ALIAS = "p"
_DIALECT = "postgres"

DECLINE_NOTHING_SPECIFIC = (
    "No brand, model, colour, material, US size or price could be read from the message, "
    "so there is nothing specific to look up in the catalog."
)
DECLINE_WHOLE_CATALOG = (
    "The message asks for the whole catalog or an export of it; a product search answers "
    "questions about specific products (a brand, model, colour, material, size or price)."
)

_NOUNS = r"(?:shoes|sneakers|trainers|boots|products|items|models|stock|inventory|range|lines?)"
# Requests to enumerate everything. "all your shoes" declines, "all your shoes in size 10"
# is a question with a constraint and goes ahead.
_QUALIFIED = (
    r"(?!\s+(?:in|from|by|of|with|under|over|below|above|between|for\s+(?:under|less)|sized?"
    r"|made|that\s+(?:are|come)|which|available\s+in))"
)
_WHOLE_CATALOG = (
    re.compile(
        r"\b(?:whole|entire|full|complete)\s+(?:product\s+)?"
        r"(?:catalog(?:ue)?|range|inventory|stock|list|line-?up|product\s+list|collection)\b"
    ),
    re.compile(r"\b(?:export|dump|spreadsheet|csv)\b"),
    re.compile(rf"\b(?:all|every)\s+(?:of\s+)?(?:your|the|ur)\s+{_NOUNS}\b{_QUALIFIED}"),
    re.compile(rf"\blist\s+(?:of\s+)?all\s+(?:your\s+|the\s+)?{_NOUNS}\b{_QUALIFIED}"),
    re.compile(r"\b(?:all|every)\s+(?:products?|models?)\s+you\s+(?:have|sell|carry|stock)\b"),
    re.compile(r"\beverything\s+(?:you|in\s+(?:your|the)\s+(?:store|shop|catalog(?:ue)?))\b"),
    re.compile(
        r"\b(?:send|share|give|e-?mail|mail|forward|attach|show)\s+(?:me\s+|us\s+)?"
        r"(?:a\s+copy\s+of\s+)?(?:your|the|a)\s+(?:whole\s+|full\s+|current\s+)?"
        r"(?:catalog(?:ue)?|price\s+list|product\s+list)\b"
    ),
)


@dataclass(frozen=True)
class Constraints:
    """What a customer asked for, in the catalog's words."""

    # Brands asked for, including the brand of every named model.
    brands: tuple[str, ...] = ()
    product_names: tuple[str, ...] = ()
    colors: tuple[str, ...] = ()
    materials: tuple[str, ...] = ()
    size_min: Decimal | None = None
    size_max: Decimal | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None
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
            or self.size_min is not None
            or self.size_max is not None
            or self.price_min is not None
            or self.price_max is not None
        )


@dataclass(frozen=True)
class Understanding:
    """The constraints read from a message, and whether the catalog can answer it."""

    constraints: Constraints = field(default_factory=Constraints)
    answerable: bool = False
    decline_reason: str = ""


def asks_for_whole_catalog(text: str) -> bool:
    """True when the text asks to list or export everything rather than some products."""
    lowered = text.lower()
    return any(p.search(lowered) for p in _WHOLE_CATALOG)


def read_constraints(text: str, vocabulary: Vocabulary) -> Constraints:
    """The constraints a text expresses over brand, model, colour, material, size and price."""
    mentions = vocabulary.find(text)
    sizes = find_sizes(text)
    prices = find_price_bounds(text)
    model_brands = {vocabulary.brand_of_name[n] for n in mentions.product_names}
    return Constraints(
        brands=tuple(sorted(set(mentions.brands) | model_brands)),
        product_names=mentions.product_names,
        colors=mentions.colors,
        materials=mentions.materials,
        size_min=sizes.low,
        size_max=sizes.high,
        price_min=prices.low,
        price_max=prices.high,
        brands_whole=tuple(b for b in mentions.brands if b not in model_brands),
    )


def understand(text: str, vocabulary: Vocabulary) -> Understanding:
    """Reads the constraints of a customer's message and decides whether to search."""
    constraints = read_constraints(text, vocabulary)
    if asks_for_whole_catalog(text):
        return Understanding(constraints, False, DECLINE_WHOLE_CATALOG)
    if constraints.empty:
        return Understanding(constraints, False, DECLINE_NOTHING_SPECIFIC)
    return Understanding(constraints, True, "")


def _column(name: str) -> exp.Column:
    return exp.column(name, table=_ALIAS)


def _strings(values: Sequence[str]) -> list[exp.Expression]:
    return [exp.Literal.string(v) for v in values]


def _number(value: Decimal) -> exp.Expression:
    return exp.Literal.number(format(value, "f"))


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
    for column, low, high in (
        ("size_us", constraints.size_min, constraints.size_max),
        ("price", constraints.price_min, constraints.price_max),
    ):
        if low is not None and low == high:
            conditions.append(exp.EQ(this=_column(column), expression=_number(low)))
            continue
        if low is not None:
            conditions.append(exp.GTE(this=_column(column), expression=_number(low)))
        if high is not None:
            conditions.append(exp.LTE(this=_column(column), expression=_number(high)))
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
