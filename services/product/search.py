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

import sqlglot
from sqlglot import exp

from services.product.measures import find_price_bounds, find_sizes
from services.product.vocabulary import Vocabulary

# The most rows any search may return; a search is a question about some products, never
# a way to read the catalog out.
MAX_LIMIT = 500
DEFAULT_LIMIT = 100
PRODUCTS_TABLE = "products"
# The tables a search query may read. Stock and deliveries are read by the store itself,
# for the products a search found: a search never joins them.
CATALOG_TABLES = frozenset({PRODUCTS_TABLE})
# Columns of a search result, in this order.
RESULT_COLUMNS = (
    "product_id",
    "name",
    "brand",
    "size_us",
    "color",
    "material",
    "weight_kg",
    "price",
    "description",
)
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


class UnsafeQuery(ValueError):
    """A query that is not a single bounded read of the catalog."""


# The guard below is an allowlist: a query may use only what is named here. Anything else
# (another table or schema, a system column, a function not listed, a subquery, CTE, join,
# set operation, lock, INTO, OFFSET, comment, parameter or exotic literal) is refused.
CATALOG_COLUMNS = frozenset(RESULT_COLUMNS)
# Longer than any search the service builds (an IN list of every model still fits), and
# short enough that parsing stays cheap whoever sent the text.
MAX_QUERY_CHARS = 20_000
# PostgreSQL truncates longer identifiers; no catalog name comes close.
_MAX_IDENTIFIER_CHARS = 63
# Functions of one row's values, and aggregates that reduce rows to a single number.
# Aggregates that concatenate rows (string_agg, array_agg, json_agg) are not here: they
# would return the whole catalog in one row, past the LIMIT.
_FUNCTIONS: frozenset[type[exp.Expression]] = frozenset(
    {
        exp.Lower,
        exp.Upper,
        exp.Trim,
        exp.Length,
        exp.Coalesce,
        exp.Abs,
        exp.Round,
        exp.Floor,
        exp.Ceil,
        exp.Greatest,
        exp.Least,
        exp.Count,
        exp.Min,
        exp.Max,
        exp.Avg,
        exp.Sum,
    }
)
# Types a value may be cast to: numbers and text (never regclass, oid, xml...).
_CAST_TYPES = frozenset(
    {
        exp.DataType.Type.SMALLINT,
        exp.DataType.Type.INT,
        exp.DataType.Type.BIGINT,
        exp.DataType.Type.DECIMAL,
        exp.DataType.Type.FLOAT,
        exp.DataType.Type.DOUBLE,
        exp.DataType.Type.TEXT,
        exp.DataType.Type.VARCHAR,
    }
)
# The syntax of one SELECT over one table: filters, ordering, grouping, arithmetic.
_SYNTAX: frozenset[type[exp.Expression]] = frozenset(
    {
        exp.Select,
        exp.From,
        exp.Table,
        exp.TableAlias,
        exp.Identifier,
        exp.Column,
        exp.Star,
        exp.Alias,
        exp.Distinct,
        exp.Where,
        exp.Group,
        exp.Having,
        exp.Order,
        exp.Ordered,
        exp.Limit,
        exp.Literal,
        exp.Null,
        exp.Boolean,
        exp.Paren,
        exp.Tuple,
        exp.And,
        exp.Or,
        exp.Not,
        exp.EQ,
        exp.NEQ,
        exp.GT,
        exp.GTE,
        exp.LT,
        exp.LTE,
        exp.NullSafeEQ,
        exp.NullSafeNEQ,
        exp.Is,
        exp.In,
        exp.Between,
        exp.Like,
        exp.ILike,
        exp.Escape,
        exp.Neg,
        exp.Add,
        exp.Sub,
        exp.Mul,
        exp.Div,
        exp.Mod,
        exp.DPipe,
        exp.Case,
        exp.If,
        exp.Cast,
        exp.DataType,
        exp.DataTypeParam,
    }
)
# The parts of the SELECT that may be present; WITH, INTO, joins, OFFSET, FOR UPDATE,
# WINDOW, TABLESAMPLE and the rest are not.
_SELECT_PARTS = frozenset(
    {"expressions", "distinct", "from_", "where", "group", "having", "order", "limit"}
)


def _identifier_name(identifier: exp.Identifier) -> str:
    """The name PostgreSQL resolves: unquoted identifiers fold to lower case."""
    name = str(identifier.this)
    return name if identifier.quoted else name.lower()


def check_query(sql: str) -> str:
    """Raises UnsafeQuery unless `sql` is one SELECT that reads only allowlisted columns of
    the catalog tables, calls only allowlisted functions and has a literal LIMIT of at most
    MAX_LIMIT; returns the query as sqlglot writes it back from the checked syntax tree.

    Runs before every execution, as a last guard, and the returned text is what runs: the
    database executes exactly the tree that was checked, however the original was spelled
    (comments, escapes or quoting that PostgreSQL might read differently never reach it).
    """
    if len(sql) > MAX_QUERY_CHARS:
        raise UnsafeQuery(f"a search is at most {MAX_QUERY_CHARS} characters long")
    if "\x00" in sql:
        raise UnsafeQuery("a search contains no NUL character")
    try:
        tokens = sqlglot.tokenize(sql, read=_DIALECT)
        statements = sqlglot.parse(sql, read=_DIALECT)
    except (sqlglot.errors.SqlglotError, RecursionError) as exc:
        raise UnsafeQuery(f"unparseable query: {exc}") from exc
    if any(t.comments for t in tokens):
        raise UnsafeQuery("a search has no comments")
    if any(t.token_type is sqlglot.TokenType.SEMICOLON for t in tokens):
        raise UnsafeQuery("a search is exactly one statement, without a semicolon")
    if len(statements) != 1 or type(statements[0]) is not exp.Select:
        raise UnsafeQuery("a search is exactly one SELECT statement")
    select = statements[0]
    extra = sorted(k for k, v in select.args.items() if v and k not in _SELECT_PARTS)
    if extra:
        raise UnsafeQuery(f"a search has no {', '.join(extra)} clause")

    # FROM names exactly one catalog table, unqualified: the role's search_path decides.
    source = select.args.get("from_")
    table = source.this if isinstance(source, exp.From) else None
    if not isinstance(table, exp.Table) or not isinstance(table.this, exp.Identifier):
        raise UnsafeQuery(f"a search reads one of {sorted(CATALOG_TABLES)}")
    if table.args.get("db") or table.args.get("catalog"):
        raise UnsafeQuery("a search names no schema: the connection's search_path decides")
    if any(v for k, v in table.args.items() if k not in ("this", "alias", "only")):
        raise UnsafeQuery("a search reads a plain table")
    if _identifier_name(table.this) not in CATALOG_TABLES:
        raise UnsafeQuery(f"a search reads only {sorted(CATALOG_TABLES)}, not {table.name!r}")
    alias = table.args.get("alias")
    if alias is not None and alias.args.get("columns"):
        raise UnsafeQuery("a search does not rename the catalog's columns")
    qualifiers = {_identifier_name(alias.this) if alias else _identifier_name(table.this)}
    output_names = {_identifier_name(a.args["alias"]) for a in select.find_all(exp.Alias)}

    limit = select.args.get("limit")
    if not isinstance(limit, exp.Limit) or any(
        v for k, v in limit.args.items() if k != "expression"
    ):
        raise UnsafeQuery("a search has a LIMIT, and only a LIMIT (no OFFSET)")
    value = limit.expression
    digits = value.this if isinstance(value, exp.Literal) and not value.is_string else ""
    if not (isinstance(digits, str) and digits.isascii() and digits.isdigit()):
        raise UnsafeQuery("a search's LIMIT is a literal row count")
    if int(digits) > MAX_LIMIT:
        raise UnsafeQuery(f"a search returns at most {MAX_LIMIT} rows")

    for node in select.walk():
        kind = type(node)
        if kind not in _SYNTAX and kind not in _FUNCTIONS:
            raise UnsafeQuery(f"a search may not use {kind.__name__}")
        if isinstance(node, exp.Select) and node is not select:
            raise UnsafeQuery("a search has no subquery")
        if isinstance(node, exp.Table) and node is not table:
            raise UnsafeQuery("a search reads one table")
        if isinstance(node, exp.Identifier):
            name = str(node.this)
            if not (name.isascii() and name.isidentifier()) or len(name) > _MAX_IDENTIFIER_CHARS:
                raise UnsafeQuery(f"a search names things with plain identifiers, not {name!r}")
        if isinstance(node, exp.Column):
            if node.args.get("db") or node.args.get("catalog"):
                raise UnsafeQuery("a search names no schema")
            if node.table and _identifier_name(node.args["table"]) not in qualifiers:
                raise UnsafeQuery(f"a search reads no table {node.table!r}")
            column = node.this
            if isinstance(column, exp.Identifier):
                name = _identifier_name(column)
                # An output name is only what a bare item of the query's ORDER BY means by
                # it; anywhere else PostgreSQL reads a table column (ctid...) of that name.
                by_output_name = (
                    name in output_names
                    and not node.table
                    and isinstance(node.parent, exp.Ordered)
                    and node.parent.parent is select.args.get("order")
                )
                if name not in CATALOG_COLUMNS and not by_output_name:
                    raise UnsafeQuery(f"a search reads no column {name!r}")
            elif not isinstance(column, exp.Star):
                raise UnsafeQuery("a search reads plain columns")
        if isinstance(node, exp.Cast) and node.to.this not in _CAST_TYPES:
            raise UnsafeQuery(f"a search casts only to numbers and text, not {node.to.sql()}")
    try:
        return select.sql(dialect=_DIALECT, comments=False)
    except RecursionError as exc:
        raise UnsafeQuery("a search is not nested that deeply") from exc
