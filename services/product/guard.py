"""The one guard every catalog query passes, whoever wrote it (the search, or a model).

A strict allowlist over sqlglot's syntax tree: a single SELECT on the catalog table, known
columns and functions only, a literal LIMIT of at most MAX_LIMIT. The checked tree is
written back to SQL, and that text is what runs, so comments, escapes or quoting in the
original can never change what PostgreSQL executes.
"""

from __future__ import annotations

import re
from collections import OrderedDict

import sqlglot
from sqlglot import exp

# The most rows any search may return; a search is a question about some products, never
# a way to read the catalog out.
MAX_LIMIT = 500
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

_DIALECT = "postgres"


class UnsafeQuery(ValueError):
    """A query that is not a single bounded read of the catalog."""


class CheckedQuery(str):
    """SQL that passed the guard, as the guard wrote it back: the only text the store
    runs. Made only here (`check_query`, `check_built_query`)."""

    __slots__ = ()


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


def check_query(sql: str) -> CheckedQuery:
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
        return CheckedQuery(select.sql(dialect=_DIALECT, comments=False))
    except RecursionError as exc:
        raise UnsafeQuery("a search is not nested that deeply") from exc


# A string literal as sqlglot writes one (a quote inside doubled), or a number.
_LITERAL = re.compile(r"'(?:[^']|'')*'|(?<![\w.])\d+(?:\.\d+)?(?![\w.])")
# At most this many shapes are remembered (least recently used forgotten first).
_SHAPES_SEEN = 4096
# Shapes whose first query passed the guard and was written back unchanged.
_checked_shapes: OrderedDict[str, None] = OrderedDict()


def check_built_query(sql: str) -> CheckedQuery:
    """The guard for SQL this service built itself with sqlglot's builder from catalog
    values and numbers (`search.build_query`): checked in full once per shape (the query
    with every literal blanked, LIMIT included), since queries of one shape differ only in
    their literals, which the builder quoted. A model's SQL always takes `check_query`."""
    if len(sql) > MAX_QUERY_CHARS or "\x00" in sql:
        return check_query(sql)
    shape = _LITERAL.sub("?", sql)
    if shape in _checked_shapes:
        _checked_shapes.move_to_end(shape)
        return CheckedQuery(sql)
    checked = check_query(sql)
    if checked == sql:
        _checked_shapes[shape] = None
        while len(_checked_shapes) > _SHAPES_SEEN:
            _checked_shapes.popitem(last=False)
    return checked
