"""The SQL guard against two corpora: every hostile string in tests/data/sql_hostile.txt is
refused, every legitimate catalog query in tests/data/sql_legitimate.txt is accepted.

Each corpus line is its own test case, named after its line and the start of the string,
and a failure quotes the whole string."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from services.product.guard import MAX_LIMIT, MAX_QUERY_CHARS, UnsafeQuery, check_query
from services.product.search import Constraints, build_query

DATA = Path(__file__).resolve().parents[2] / "data"
HOSTILE = DATA / "sql_hostile.txt"
LEGITIMATE = DATA / "sql_legitimate.txt"
# What the "# @db" lines of the hostile corpus may say (the integration test acts on it).
DB_EXPECTATIONS = ("refused", "envelope", "runs")
MIN_ENTRIES = 110


def corpus(path: Path) -> list[tuple[int, str]]:
    """(line number, string) of every entry: blank lines and "#" lines are not entries."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(n, line) for n, line in enumerate(lines, 1) if line.strip() and line[0] != "#"]


def cases(path: Path) -> list[object]:
    return [pytest.param(sql, id=f"{path.stem}:{n}:{sql[:60]}") for n, sql in corpus(path)]


def _limit_of(sql: str) -> int:
    limit = sqlglot.parse_one(sql, read="postgres").args["limit"]
    assert isinstance(limit, exp.Limit)
    return int(limit.expression.this)


def test_the_corpora_are_large_and_without_duplicates() -> None:
    for path in (HOSTILE, LEGITIMATE):
        entries = [sql for _, sql in corpus(path)]
        assert len(entries) >= MIN_ENTRIES, path
        assert len(set(entries)) == len(entries), f"{path} repeats an entry"


def test_every_hostile_entry_says_what_postgresql_does_with_it() -> None:
    expectation = None
    for n, line in enumerate(HOSTILE.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("# @db"):
            expectation = line.removeprefix("# @db").strip()
            assert expectation in DB_EXPECTATIONS, f"line {n}: {line!r}"
        elif line.startswith("#") or not line.strip():
            continue
        else:
            assert expectation is not None, f"line {n} has no '# @db' line above it"


@pytest.mark.parametrize("sql", cases(HOSTILE))
def test_the_guard_refuses_every_hostile_string(sql: str) -> None:
    try:
        checked = check_query(sql)
    except UnsafeQuery:
        return
    pytest.fail(f"the guard accepted a hostile string:\n  {sql}\nand would run:\n  {checked}")


@pytest.mark.parametrize("sql", cases(LEGITIMATE))
def test_the_guard_accepts_every_legitimate_query(sql: str) -> None:
    try:
        checked = check_query(sql)
    except UnsafeQuery as exc:
        pytest.fail(f"the guard refused a legitimate query:\n  {sql}\nbecause {exc}")
    assert _limit_of(checked) <= MAX_LIMIT
    # What runs is itself accepted, and written back the same way: the check is stable.
    assert check_query(checked) == checked


# Strings a one-line text file cannot hold, or too big to keep in it.
_DEEP = "SELECT name FROM products WHERE " + "(" * 3_000 + "TRUE" + ")" * 3_000 + " LIMIT 1"
_LONG_IN = ", ".join(["'Nike'"] * 4_000)


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("SELECT name FROM products LIMIT 10 --\n; DROP TABLE products", id="newline"),
        pytest.param("SELECT name FROM products LIMIT 10\n;\nDELETE FROM products", id="stacked"),
        pytest.param("SELECT name FROM products WHERE name = 'a\x00' LIMIT 1", id="nul"),
        pytest.param("SELECT name FROM products\tLIMIT 10;\r\nDROP TABLE products", id="crlf"),
        pytest.param(f"SELECT name FROM products WHERE name IN ({_LONG_IN}) LIMIT 1", id="long"),
        pytest.param(_DEEP, id="deep"),
        pytest.param("", id="empty"),
        pytest.param(";", id="semicolon"),
        pytest.param("SELECT name FROM products LIMIT 10;", id="terminator"),
    ],
)
def test_the_guard_refuses_what_a_line_of_text_cannot_hold(sql: str) -> None:
    with pytest.raises(UnsafeQuery):
        check_query(sql)


def test_a_long_query_is_refused_before_it_is_parsed() -> None:
    assert len(f"SELECT name FROM products WHERE name IN ({_LONG_IN}) LIMIT 1") > MAX_QUERY_CHARS


def test_the_query_the_service_builds_is_the_query_that_runs() -> None:
    sql = build_query(Constraints(brands=("Nike",), brands_whole=("Nike",)), limit=10_000)
    assert check_query(sql) == sql
    assert _limit_of(sql) == MAX_LIMIT


def test_what_runs_is_the_checked_tree_not_the_original_spelling() -> None:
    # Whatever quoting the original used, the text that runs is sqlglot's own rendering.
    checked = check_query("select  NAME from PRODUCTS where BRAND = 'O''Neill' limit 5")
    assert checked == "SELECT NAME FROM PRODUCTS WHERE BRAND = 'O''Neill' LIMIT 5"
