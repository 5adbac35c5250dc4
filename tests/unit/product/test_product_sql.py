"""The SQL a search runs: built from catalog values and numbers only, bounded, and
limited to the catalog tables."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlglot
from sqlglot import exp

from crmctl.demo import product as demo
from services.product.declines import DECLINE_INJECTION
from services.product.guard import MAX_LIMIT, UnsafeQuery, check_query
from services.product.measures import Bounds
from services.product.search import Constraints, build_query, read_constraints
from services.product.understanding import understand

VOCABULARY = demo.vocabulary()

QUESTIONS = [
    "Do you have the Nike Air Max in red, size 10?",
    "any black running shoes under $150 in 9.5?",
    "Dr. Martens 1460 in cherry red, US 9.5, budget $200",
    "Adidas or Puma, sizes 10-11, between $80 and $120",
]
HOSTILE = [
    "Nike Air Max'; DROP TABLE products; -- size 10",
    'Nike Air Max" OR 1=1 -- size 10',
    "Crocs in navy UNION SELECT * FROM pg_shadow",
]
EMAILS = QUESTIONS + HOSTILE


def _limit_of(sql: str) -> int:
    parsed = sqlglot.parse_one(sql, read="postgres")
    limit = parsed.args["limit"]
    assert isinstance(limit, exp.Limit)
    return int(limit.expression.this)


def _string_literals(sql: str) -> set[str]:
    return {
        lit.this
        for lit in sqlglot.parse_one(sql, read="postgres").find_all(exp.Literal)
        if lit.is_string
    }


@pytest.mark.parametrize("text", QUESTIONS)
def test_every_search_has_a_limit_of_at_most_500(text: str) -> None:
    understood = understand(text, VOCABULARY)
    assert understood.answerable
    for limit in (1, 100, MAX_LIMIT, 10_000):
        assert _limit_of(build_query(understood.constraints, limit)) <= MAX_LIMIT


@pytest.mark.parametrize("text", HOSTILE)
def test_an_email_carrying_sql_is_declined_not_searched(text: str) -> None:
    for by_need in (False, True):
        understood = understand(text, VOCABULARY, by_need=by_need)
        assert not understood.answerable
        assert understood.decline_reason == DECLINE_INJECTION


@pytest.mark.parametrize("text", EMAILS)
def test_the_customer_text_reaches_the_sql_only_as_quoted_catalog_values(text: str) -> None:
    # Even what the decline rule would stop never reaches the SQL but as catalog values.
    sql = build_query(read_constraints(text, VOCABULARY))
    catalog_values = set(VOCABULARY.brands) | set(VOCABULARY.product_names)
    catalog_values |= set(VOCABULARY.colors) | set(VOCABULARY.materials)
    assert _string_literals(sql) <= catalog_values
    assert text not in sql
    for fragment in ("DROP", "UNION", "pg_shadow", "1=1", "--", ";"):
        assert fragment not in sql
    check_query(sql)


def test_a_quote_in_a_catalog_value_stays_inside_its_literal() -> None:
    sql = build_query(Constraints(brands=("O'Neill",), brands_whole=("O'Neill",)))
    assert "'O''Neill'" in sql
    assert _string_literals(sql) == {"O'Neill"}


def test_the_query_reads_only_the_products_table() -> None:
    sql = build_query(understand("Nike in size 10", VOCABULARY).constraints)
    tables = {t.name for t in sqlglot.parse_one(sql, read="postgres").find_all(exp.Table)}
    assert tables == {"products"}


def test_names_and_whole_brands_are_alternatives_and_other_constraints_narrow_them() -> None:
    constraints = Constraints(
        brands=("Adidas", "Nike"),
        product_names=("Nike Air Max",),
        brands_whole=("Adidas",),
        colors=("Red",),
        size=Bounds(Decimal("9.5"), Decimal("10.5")),
        price=Bounds(high=Decimal("150.00")),
    )
    sql = build_query(constraints)
    assert "(p.name IN ('Nike Air Max') OR p.brand IN ('Adidas'))" in sql
    assert "p.color IN ('Red')" in sql
    assert "p.size_us >= 9.5 AND p.size_us <= 10.5" in sql
    assert "p.price <= 150.00" in sql


def test_one_size_is_an_equality() -> None:
    sql = build_query(Constraints(size=Bounds(Decimal("10.0"), Decimal("10.0"))))
    assert "p.size_us = 10.0" in sql


def test_under_excludes_the_amount_and_up_to_includes_it() -> None:
    under = build_query(read_constraints("Nike under $130", VOCABULARY))
    up_to = build_query(read_constraints("Nike up to $130", VOCABULARY))
    assert "p.price < 130.00" in under
    assert "p.price <= 130.00" in up_to


def test_a_weight_limit_in_grams_or_pounds_is_a_bound_in_kilograms() -> None:
    grams = build_query(read_constraints("size 10, under 700 g", VOCABULARY))
    pounds = build_query(read_constraints("size 10, at most 2 lbs", VOCABULARY))
    assert "p.weight_kg < 0.700" in grams
    assert "p.weight_kg <= 0.907" in pounds


def test_a_search_without_any_constraint_is_never_built() -> None:
    with pytest.raises(ValueError):
        build_query(Constraints())


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM products",
        "SELECT * FROM products LIMIT 501",
        "SELECT * FROM products LIMIT ALL",
        "SELECT * FROM inventory LIMIT 10",
        "SELECT * FROM product.products LIMIT 10",
        "SELECT * FROM products LIMIT 10; DROP TABLE products",
        "DELETE FROM products",
        "SELECT * FROM products WHERE product_id IN (SELECT 1) LIMIT 10",
        "SELECT * FROM products UNION SELECT * FROM products LIMIT 10",
        "SELECT usename FROM pg_user LIMIT 1",
        "SELECT pg_sleep(10) FROM products LIMIT 1",
        "SELECT * FROM products WHERE name = current_user LIMIT 1",
        "not sql at all (",
    ],
)
def test_the_guard_refuses_anything_but_one_bounded_read_of_the_catalog(sql: str) -> None:
    with pytest.raises(UnsafeQuery):
        check_query(sql)
