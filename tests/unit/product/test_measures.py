"""US sizes, prices and weights read from a customer's words (services/product/measures.py
and its word tables in services/product/data/measures.toml): lists of sizes, size words
of more languages, decimal commas, bare sizes in terse requests, prices without a
currency, weights in grams and unrounded conversions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crmctl.demo import product as demo
from services.product.measures import (
    SIZE_MAX,
    find_price_bounds,
    find_size_choices,
    find_sizes,
    find_weight_bounds,
)
from services.product.search import build_query, read_constraints


def _decimals(*values: str) -> tuple[Decimal, ...]:
    return tuple(Decimal(v) for v in values)


def _size(text: str) -> tuple[Decimal | None, Decimal | None]:
    bounds = find_sizes(text)
    return bounds.low, bounds.high


# --- 1. Lists of sizes --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "choices"),
    [
        ("we need them in sizes 8.5, 9.5, 10 and 11 for the team", ("8.5", "9.5", "10", "11")),
        ("sizes 9.5 and 11", ("9.5", "11")),
        ("in 10, 11 and 12", ("10", "11", "12")),
        ("9,5 / 10 / 11", ("9.5", "10", "11")),
        ("sizes 8,9,10", ("8", "9", "10")),
        ("Nike Pegasus in 9.5, 10.5, and 12 please", ("9.5", "10.5", "12")),
        ("size 9, 10 or 11", ("9", "10", "11")),
        ("8.5 or 11", ("8.5", "11")),
        ("Größe 9, 10 und 11", ("9", "10", "11")),
        ("w rozmiarach 9,5 i 11", ("9.5", "11")),
        ("maat 9 en 10,5", ("9", "10.5")),
        ("taille 9 et 11", ("9", "11")),
        ("tallas 9, 10 y 11", ("9", "10", "11")),
        ("storlek 9 och 11", ("9", "11")),
        ("velikosti 9, 10 a 11", ("9", "10", "11")),
        ("Rocky mountain trails. Size 10 or 11, black or red.", ("10", "11")),
        ("orange ones, 9.5 or 11", ("9.5", "11")),
    ],
)
def test_a_list_of_sizes_gives_every_size_as_a_choice_not_a_range_or_the_first(
    text: str, choices: tuple[str, ...]
) -> None:
    assert find_size_choices(text) == _decimals(*choices)
    assert _size(text) == (Decimal(choices[0]), Decimal(choices[-1]))


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("sizes between 9 and 10", "9", "10"),
        ("I'm somewhere between 9 and 10", "9", "10"),
        ("sizes 10-11", "10", "11"),
        ("size 9 to 11", "9", "11"),
        ("entre 9 y 10", None, None),
        ("talla de 9 a 10", None, None),
    ],
)
def test_sizes_between_two_numbers_or_joined_by_a_range_word_stay_a_range(
    text: str, low: str | None, high: str | None
) -> None:
    assert find_size_choices(text) == ()
    if low is not None:
        assert _size(text) == (Decimal(low), Decimal(high or low))


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("in 10, 11 and 12 days", "10"),
        ("size 10, 12/03/2024", "10"),
        ("size 10, 2 pairs", "10"),
        ("Größe 10 und 2 Paar", "10"),
        ("taglia 10 e 2 paia", "10"),
    ],
)
def test_a_list_that_goes_on_with_a_date_count_or_unit_is_no_list_of_sizes(
    text: str, size: str
) -> None:
    assert find_size_choices(text) == ()
    assert _size(text) == (Decimal(size), Decimal(size))


def test_numbers_joined_by_or_that_cannot_be_sizes_add_no_choices() -> None:
    assert find_size_choices("size 10. I'll take 1 or 2") == ()


def test_choices_stated_as_a_list_are_searched_as_those_sizes_only() -> None:
    constraints = read_constraints("Nike in sizes 9.5 and 11 please", demo.vocabulary())
    assert constraints.size_choices == _decimals("9.5", "11")
    sql = build_query(constraints)
    assert "p.size_us IN (9.5, 11.0)" in sql
    assert "p.size_us >=" not in sql


# --- 2. Size words in more languages and forms ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("rozmiar 10", "10"),
        ("w rozmiarze 9,5", "9.5"),
        ("velikost 10", "10"),
        ("ve velikosti 9,5", "9.5"),
        ("Dobrý den, boty. Velikost 8,5 US.", "8.5"),
        ("storlek 10", "10"),
        ("sko i str. 10", "10"),
        ("str 9,5", "9.5"),
        ("størrelse 10", "10"),
        ("Schuhgröße 10", "10"),
        ("Gr. 10", "10"),
        ("maat 10", "10"),
        ("schoenmaat 10 (US)", "10"),
        ("10 numara", "10"),
        ("ABD ölçüsüyle 11 numara turuncu renkli", "11"),
        ("number 11", "11"),
        ("nº 11", "11"),
        ("n° 11", "11"),
        ("n. 11", "11"),
        ("taille 10", "10"),
        ("サイズ9.5", "9.5"),
        ("テニス用の靴を探しています。サイズは9.5です。", "9.5"),
        ("サイズ 10", "10"),
    ],
)
def test_size_words_of_more_languages_and_forms_are_read(text: str, size: str) -> None:
    assert _size(text) == (Decimal(size), Decimal(size))


@pytest.mark.parametrize(
    "text",
    [
        "order number 12",
        "my phone number 12 34 56",
        "I'm your number 1 fan",
        "42 numara",
        "Berliner Str. 10\n10115 Berlin",
        "500 gr. Zucker",
    ],
)
def test_a_number_sign_or_abbreviation_before_an_identifier_or_address_is_no_size(
    text: str,
) -> None:
    assert find_sizes(text).empty


# --- 3. Decimal comma sizes ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["9,5", "9,5 US", "in 9,5", "I'm a 9,5", "US 9,5", "black Nike 9,5?", "size 9,5", "9,5s"],
)
def test_a_decimal_comma_size_is_read_wherever_a_size_is(text: str) -> None:
    assert _size(text) == (Decimal("9.5"), Decimal("9.5"))


# --- 4. A bare size in a terse request -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("white leather 10", "10"),
        ("brown boots 10?", "10"),
        ("Air Max 11", "11"),
        ("Hi, I'm after brown boots 10? Cheers, Mia", "10"),
        ("Nike 10 please", "10"),
        ("addidas 11 black??", "11"),
        ("black Nike 9.5", "9.5"),
    ],
)
def test_a_bare_size_closing_a_terse_request_is_its_size(text: str, size: str) -> None:
    assert _size(text) == (Decimal(size), Decimal(size))


@pytest.mark.parametrize(
    "text",
    [
        "2 pairs",
        "white leather, 2 pairs",
        "order 1036",
        "Hi, my order 1036 hasn't arrived",
        "It's been 10 days",
        "can you call me at 10 am?",
        "10% off?",
        "I bought them in 2023",
        "delivery on May 12",
        "My son is 12",
        "I need 10 black ones",
        "Do you have the On Cloud 5",
        "Merrell Moab 2",
        "Gel-Kayano 14",
        "Air Max 90",
        "Room 12",
        "white leather boots for my wife, she wants to hike in the Alps this summer with "
        "her sister and needs something sturdy, size unknown yet, maybe 10",
    ],
)
def test_a_number_that_is_a_count_time_date_year_model_or_in_a_long_text_is_no_bare_size(
    text: str,
) -> None:
    assert find_sizes(text).empty


# --- 5. Prices without a currency ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "low", "low_strict", "high", "high_strict"),
    [
        ("over 170", "170", True, None, False),
        ("max 80", None, False, "80", False),
        ("max 80 per pair, size 10", None, False, "80", False),
        ("between 100 and 135", "100", False, "135", False),
        ("no more than 140", None, False, "140", False),
        ("up to 120 please", None, False, "120", False),
        ("at least 100", "100", False, None, False),
        ("zwischen 100 und 135", "100", False, "135", False),
        ("über 150", "150", True, None, False),
    ],
)
def test_a_bare_number_after_a_comparison_word_is_a_price_when_it_cannot_be_a_size(
    text: str, low: str | None, low_strict: bool, high: str | None, high_strict: bool
) -> None:
    price = find_price_bounds(text)
    assert (price.low, price.low_strict) == (Decimal(low) if low else None, low_strict)
    assert (price.high, price.high_strict) == (Decimal(high) if high else None, high_strict)


@pytest.mark.parametrize(
    "text",
    [
        f"more than {SIZE_MAX}",
        "up to 10",
        "over 100 reviews",
        "more than 30 days ago",
        "within 30 days",
        "I'm over 50 and need comfortable shoes",
        "size between 42 and 43",
        "Größe über 42",
        "from 2019 to 2021",
        "Air Max 90 max",
        "over 170 pounds",
        "más de 50 años",
    ],
)
def test_a_bare_number_that_may_be_a_size_count_age_year_or_model_is_no_price(
    text: str,
) -> None:
    assert find_price_bounds(text).empty


def test_a_size_nearby_stays_a_size_while_a_bare_price_is_read_beside_it() -> None:
    text = "size 10 max, and max 80"
    assert _size(text) == (None, Decimal(10))
    assert find_price_bounds(text).high == Decimal(80)


@pytest.mark.parametrize(
    "text",
    [
        "niet meer dan 130 dollar",
        "nicht mehr als 130 Dollar",
        "non più di 130 dollari",
        "pas plus de 130 dollars",
        "no más de 130 dólares",
    ],
)
def test_no_more_than_in_other_languages_is_an_upper_limit_not_a_lower_one(text: str) -> None:
    price = find_price_bounds(text)
    assert (price.low, price.high, price.high_strict) == (None, Decimal(130), False)


# --- 6. Weights ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "less of 500 gram",
        "less than 500 grams",
        "menos de 500 gramos",
        "weniger als 500 Gramm",
        "meno di 500 grammi",
        "hvilke sko vejer under et halvt kilo?",
        "moins d'un demi-kilo",
    ],
)
def test_weights_in_grams_of_more_languages_are_weights_not_prices(text: str) -> None:
    weight = find_weight_bounds(text)
    assert (weight.low, weight.high, weight.high_strict) == (None, Decimal("0.5"), True)
    assert find_price_bounds(text).empty


def test_weight_conversions_are_not_rounded_so_a_068_kg_shoe_is_lighter_than_15_lb() -> None:
    weight = find_weight_bounds("lighter than 1.5 lb")
    assert weight.high == Decimal("0.680388555") and weight.high_strict
    assert Decimal("0.68") < weight.high
    assert find_weight_bounds("under 20 oz").high == Decimal("0.5669904625")
