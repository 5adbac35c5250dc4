"""Alternatives, optional wishes and indifference (services/product/clauses.py and
search.read_request), the union query they give, and the reviewer's restatement."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crmctl.demo import product as demo
from services.product.clauses import Kind, layout
from services.product.guard import check_query
from services.product.restatement import restate
from services.product.search import build_query, read_request

VOCABULARY = demo.vocabulary()


@pytest.mark.parametrize(
    "text",
    [
        "Air Max in 10, or else the Ultraboost",
        "Do you have the Air Max in 10? If not, the Ultraboost.",
        "Air Max en talla 10, si no las Ultraboost",
        "Air Max in Größe 10, sonst die Ultraboost",
        "Air Max pointure 10, sinon les Ultraboost",
    ],
)
def test_a_fallback_is_a_second_alternative_with_the_size_carried_over(text: str) -> None:
    c = read_request(text, VOCABULARY)
    assert c.product_names == ("Nike Air Max",)
    assert [o.product_names for o in c.otherwise] == [("Adidas Ultraboost",)]
    assert c.otherwise[0].size.low == Decimal("10")


def test_a_fallback_put_first_reads_its_first_choice_after_it() -> None:
    c = read_request("If not the Air Max, then the Ultraboost please", VOCABULARY)
    assert c.product_names == ("Nike Air Max",)
    assert [o.product_names for o in c.otherwise] == [("Adidas Ultraboost",)]


def test_a_measure_stated_once_holds_for_every_alternative() -> None:
    c = read_request("black Reeboks otherwise white Fila, max $80", VOCABULARY)
    assert c.price.high == Decimal("80") and c.otherwise[0].price.high == Decimal("80")


def test_an_alternative_naming_no_shoe_changes_the_first_one() -> None:
    c = read_request("black Converse, otherwise white", VOCABULARY)
    assert c.otherwise[0].brands_whole == ("Converse",)
    assert "White" in c.otherwise[0].colors and "Black" not in c.otherwise[0].colors


def test_another_shoe_does_not_inherit_the_first_ones_colour() -> None:
    c = read_request("Air Max in red, or else the Ultraboost", VOCABULARY)
    assert c.otherwise[0].colors == ()


def test_a_plain_or_stays_one_alternative() -> None:
    c = read_request("Nike or Adidas in size 10", VOCABULARY)
    assert c.otherwise == () and set(c.brands_whole) == {"Nike", "Adidas"}


def test_the_union_lists_the_first_alternative_first_and_passes_the_guard() -> None:
    sql = build_query(read_request("Air Max in 10, or else the Ultraboost", VOCABULARY))
    check_query(sql)
    assert " OR " in sql and "ORDER BY CASE WHEN" in sql


@pytest.mark.parametrize(
    "text",
    [
        "Hoka in size 10, ideally black",
        "Hoka in size 10, black if possible",
        "Hoka in size 10. Black, but not essential.",
        "Hoka talla 10, preferiblemente negras",
        "Hoka Größe 10, am liebsten schwarz",
    ],
)
def test_an_optional_wish_ranks_but_does_not_filter(text: str) -> None:
    c = read_request(text, VOCABULARY)
    assert c.colors == () and c.brands_whole == ("Hoka",)
    assert c.preferred is not None and "Black" in c.preferred.colors
    assert "ORDER BY CASE WHEN p.color IN" in build_query(c)


def test_a_plain_colour_is_still_a_constraint() -> None:
    c = read_request("Hoka in size 10, black please", VOCABULARY)
    assert "Black" in c.colors and c.preferred is None


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Any brand, though I usually buy Nike. Size 10.", Kind.BRAND),
        ("Size 8.5. Die Marke ist mir egal, normalerweise kaufe ich Adidas.", Kind.BRAND),
        ("Hoka in 10, colour doesn't matter, I like blue", Kind.COLOUR),
    ],
)
def test_what_the_customer_says_does_not_matter_is_a_wish(text: str, kind: Kind) -> None:
    assert kind in layout(text).indifferent
    c = read_request(text, VOCABULARY)
    assert c.preferred is not None
    if kind is Kind.BRAND:
        assert c.brands_whole == () and c.preferred.brands
    else:
        assert c.colors == () and c.preferred.colors


def test_wishes_alone_are_the_request() -> None:
    c = read_request("ideally something black", VOCABULARY)
    assert "Black" in c.colors and c.preferred is None


def test_the_decimal_point_of_a_size_does_not_end_a_clause() -> None:
    c = read_request("size 9.5, black if possible", VOCABULARY)
    assert c.size.low == Decimal("9.5")


def test_the_restatement_says_alternatives_and_wishes_in_plain_words() -> None:
    c = read_request("Air Max in 10, or else the Ultraboost, ideally black", VOCABULARY)
    text = restate(c, ("waterproof",))
    assert text.startswith("Nike Air Max; size 10 — or else: Adidas Ultraboost; size 10")
    assert "preferred, not required: colour one of Black" in text
    assert text.endswith("needs: waterproof")


def test_each_alternative_of_a_match_is_weighed_on_its_own_need() -> None:
    from services.product.understanding import understand

    understood = understand(
        "hiking boots in size 10, if not then something for the pool", VOCABULARY, by_need=True
    )
    models = [a.product_names for a in understood.constraints.alternatives]
    assert models == [("Merrell Moab 2",), ("Crocs Classic Clog",)]
    assert all(a.size.low == Decimal("10") for a in understood.constraints.alternatives)


def test_a_fallback_naming_only_a_brand_stays_in_a_match() -> None:
    from services.product.understanding import understand

    understood = understand(
        "Trail running shoes in red; failing that, Hoka.", VOCABULARY, by_need=True
    )
    assert "Hoka Clifton" in understood.fit.models


def test_a_bracket_belongs_to_the_clause_it_explains() -> None:
    c = read_request("Hoka in 10. If possible colour walnut (brown), not essential.", VOCABULARY)
    assert c.colors == ()
