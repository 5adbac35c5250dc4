"""The guard for queries the service built itself (guard.check_built_query): checked in
full once per shape, and a query of a known shape differs only in its quoted literals."""

from __future__ import annotations

import pytest

from services.product import guard
from services.product.guard import CheckedQuery, UnsafeQuery, check_built_query

BUILT = (
    "SELECT p.product_id, p.name, p.brand, p.size_us, p.color, p.material, p.weight_kg, "
    "p.price, p.description FROM products AS p WHERE p.name IN ({name}) AND p.size_us = "
    "{size} ORDER BY p.brand, p.name, p.size_us, p.product_id LIMIT 100"
)


def test_a_shape_is_checked_in_full_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = guard.check_query

    def counting(sql: str) -> CheckedQuery:
        calls.append(sql)
        return real(sql)

    monkeypatch.setattr(guard, "check_query", counting)
    monkeypatch.setattr(guard, "_checked_shapes", type(guard._checked_shapes)())
    first = check_built_query(BUILT.format(name="'Nike Air Max'", size="10.0"))
    second = check_built_query(BUILT.format(name="'Dr. Martens 1460'", size="9.5"))
    assert isinstance(first, CheckedQuery) and isinstance(second, CheckedQuery)
    assert len(calls) == 1


def test_a_quote_inside_a_literal_stays_inside_it() -> None:
    sql = BUILT.format(name="'x'' OR 1=1 --'", size="10.0")
    assert check_built_query(sql) == sql  # one literal: the shape of any name


def test_a_query_of_another_shape_is_checked_in_full() -> None:
    with pytest.raises(UnsafeQuery):
        check_built_query("SELECT * FROM pg_shadow LIMIT 1")
