"""What the product search understands from a customer's e-mail, and when it declines."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crmctl.demo import product as demo
from services.product.declines import (
    DECLINE_NOTHING_SPECIFIC,
    DECLINE_WHOLE_CATALOG,
    asks_for_whole_catalog,
)
from services.product.search import read_constraints
from services.product.understanding import understand
from services.product.vocabulary import Vocabulary, edit_distance

VOCABULARY = demo.vocabulary()


def test_vocabulary_is_built_from_the_catalog_rows_not_a_fixed_list() -> None:
    vocabulary = Vocabulary.build(
        brand_of_name={"Zephyr Glide": "Zephyr"}, colors=["Teal"], materials=["Cork"]
    )
    found = read_constraints("A teal Zephyr Glide in cork, please", vocabulary)
    assert found.product_names == ("Zephyr Glide",)
    assert found.colors == ("Teal",)
    assert found.materials == ("Cork",)
    assert read_constraints("Nike Air Max", vocabulary).empty


def test_brand_model_colour_and_size_are_read_from_a_plain_question() -> None:
    c = read_constraints("Do you have the Nike Air Max in red, size 10?", VOCABULARY)
    assert c.product_names == ("Nike Air Max",)
    assert c.brands == ("Nike",)
    assert c.brands_whole == ()
    assert "Red" in c.colors
    assert (c.size.low, c.size.high) == (Decimal("10.0"), Decimal("10.0"))


def test_colour_size_and_price_are_read_without_any_brand() -> None:
    c = read_constraints("any black running shoes under $150 in 9.5?", VOCABULARY)
    assert "Black" in c.colors
    assert c.brands == () and c.product_names == ()
    assert (c.size.low, c.size.high) == (Decimal("9.5"), Decimal("9.5"))
    assert c.price.high == Decimal("150.00") and c.price.low is None


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("NIKE AIR MAX", "Nike Air Max"),
        ("nike airmax", "Nike Air Max"),
        ("Any Air Maxes left?", "Nike Air Max"),
        ("do u have addidas ultrabost?", "Adidas Ultraboost"),
        ("the Ultraboost", "Adidas Ultraboost"),
        ("Converce Chuck Taylors", "Converse Chuck Taylor"),
        ("Sketchers go walk", "Skechers Go Walk"),
        ("a pair of RS X", "Puma RS-X"),
        ("gel kayano", "Asics Gel-Kayano"),
        ("Under Armor HOVR", "Under Armour HOVR"),
        ("Doc Martens 1460", "Dr. Martens 1460"),
        ("Stan Smiths", "Adidas Stan Smith"),
        ("Do you have the Ghost in 11?", "Brooks Ghost"),
        ("brooks ghost", "Brooks Ghost"),
    ],
)
def test_product_names_tolerate_case_plurals_spacing_and_small_typos(text: str, name: str) -> None:
    assert read_constraints(text, VOCABULARY).product_names == (name,)


@pytest.mark.parametrize(
    "text",
    [
        "I love the classic look, please get back to me",
        "I need shoes for a long ride",
        "something to go with my jeans",
    ],
)
def test_common_words_that_are_also_model_names_are_not_read_as_products(text: str) -> None:
    assert read_constraints(text, VOCABULARY).product_names == ()


def test_short_words_need_an_exact_match_so_back_is_not_black() -> None:
    c = read_constraints("Please get back to me about the blux one", VOCABULARY)
    assert c.colors == ()


def test_a_brand_alone_keeps_all_its_products_and_a_named_model_narrows_its_brand() -> None:
    c = read_constraints("Anything from Adidas, or a Nike like the Air Max?", VOCABULARY)
    assert c.brands == ("Adidas", "Nike")
    assert c.product_names == ("Nike Air Max",)
    assert c.brands_whole == ("Adidas",)


def test_a_single_colour_includes_combined_colours_and_its_named_shades() -> None:
    c = read_constraints("in red", VOCABULARY)
    assert c.colors == ("Cherry Red", "Red", "Red/Black")
    # Navy is a shade of blue (data/colours.toml); asked for by name, it is navy only.
    assert "Navy" in read_constraints("in blue", VOCABULARY).colors
    assert read_constraints("in navy", VOCABULARY).colors == ("Navy",)


def test_a_full_combined_colour_or_a_named_shade_is_taken_as_written() -> None:
    assert read_constraints("Jordans in red/black", VOCABULARY).colors == ("Red/Black",)
    assert read_constraints("cherry red docs", VOCABULARY).colors == ("Cherry Red",)


def test_gray_is_read_as_the_catalog_spelling_grey() -> None:
    assert "Grey" in read_constraints("gray ones", VOCABULARY).colors


def test_materials_are_read_with_their_combined_values() -> None:
    c = read_constraints("something in suede or leather", VOCABULARY)
    assert c.materials == ("Leather", "Leather/Mesh", "Suede")


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("size 10", "10.0", "10.0"),
        ("Size: US 10.5", "10.5", "10.5"),
        ("US 9.5", "9.5", "9.5"),
        ("a 9 1/2 please", "9.5", "9.5"),
        ("she takes an eight and a half", "8.5", "8.5"),
        ("Black, tens, nothing fancy", "10.0", "10.0"),
        ("size 11 or bigger", "11.0", None),
        ("9.5 max, smaller is fine", None, "9.5"),
        ("Jordan 1s in red", None, None),
        ("Speedcross in US-Gr\u00f6\u00dfe 9,5?", "9.5", "9.5"),
        ("size 9 1/2", "9.5", "9.5"),
        ("size nine and a half", "9.5", "9.5"),
        ("9\u00bd US", "9.5", "9.5"),
        ("sizes 10-11", "10.0", "11.0"),
        ("size 10 or 10.5", "10.0", "10.5"),
        ("in a 10", "10.0", "10.0"),
        ("size 9,5", "9.5", "9.5"),
        ("in 2 weeks", None, None),
        ("can you send us 3 pairs", None, None),
        ("size 44", None, None),
        ("size 10.3", None, None),
    ],
)
def test_us_sizes_halves_and_ranges_are_read_and_non_sizes_are_not(
    text: str, low: str | None, high: str | None
) -> None:
    c = read_constraints(text, VOCABULARY)
    assert c.size.low == (Decimal(low) if low else None)
    assert c.size.high == (Decimal(high) if high else None)


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("under $150", None, "150.00"),
        ("less than 150 dollars", None, "150.00"),
        ("under 150", None, "150.00"),
        ("$120 or less", None, "120.00"),
        ("my budget is $99.99", None, "99.99"),
        ("between $80 and $120", "80.00", "120.00"),
        ("$80-120", "80.00", "120.00"),
        ("over $100", "100.00", None),
        ("$100+", "100.00", None),
        ("Air Max 90 max", None, None),
        ("under 12", None, None),
        ("within 30 days", None, None),
        ("over 100 reviews", None, None),
        ("I paid $129.99 last time", None, None),
        ("I don't want to spend 150 or more", None, "150.00"),
        ("no more than $90", None, "90.00"),
        ("budget is north of $150", "150.00", None),
        ("under fifty", None, "50.00"),
    ],
)
def test_price_bounds_are_read_and_numbers_that_are_not_prices_are_not(
    text: str, low: str | None, high: str | None
) -> None:
    c = read_constraints(text, VOCABULARY)
    assert c.price.low == (Decimal(low) if low else None)
    assert c.price.high == (Decimal(high) if high else None)


@pytest.mark.parametrize(
    "text",
    [
        "send me your whole catalogue",
        "Could you export your inventory to a spreadsheet?",
        "Please list all your shoes",
        "What are all the products you sell?",
        "Send me everything you have",
        "Can you email me the full catalog of Nike shoes?",
        "Can you send me your price list",
    ],
)
def test_requests_to_enumerate_the_catalog_are_declined(text: str) -> None:
    understood = understand(text, VOCABULARY)
    assert not understood.answerable
    assert understood.decline_reason == DECLINE_WHOLE_CATALOG


@pytest.mark.parametrize(
    "text",
    ["Hello, where is my order?", "", "Thanks for your help!"],
)
def test_messages_without_any_constraint_are_declined_with_a_plain_reason(text: str) -> None:
    understood = understand(text, VOCABULARY)
    assert not understood.answerable
    assert understood.decline_reason == DECLINE_NOTHING_SPECIFIC
    assert understood.constraints.empty


def test_all_your_shoes_with_a_constraint_is_a_question_not_an_enumeration() -> None:
    understood = understand("Are all your shoes in size 12 leather?", VOCABULARY)
    assert understood.answerable
    assert understood.constraints.size.low == Decimal("12.0")


def test_edit_distance_counts_a_swap_of_neighbouring_letters_as_one_typo() -> None:
    assert edit_distance("suacony", "saucony") == 1
    assert edit_distance("adidas", "addidas") == 1
    assert edit_distance("leather", "weather") == 1
    assert read_constraints("a Suacony", VOCABULARY).brands == ("Saucony",)
    assert read_constraints("in this weather", VOCABULARY).materials == ()


def test_colours_named_together_are_one_colourway_and_far_apart_are_not() -> None:
    together = read_constraints("a tennis shoe, white with blue details", VOCABULARY)
    assert set(together.colors) == {"White/Blue", "Blue/White"}
    apart = read_constraints("Vans nere, numero 10 US. Grazie, Marco Rossi", VOCABULARY)
    assert "Black" in apart.colors and "Red" in apart.colors


def test_a_shade_named_after_a_colour_is_that_colour() -> None:
    assert "Cherry Red" in read_constraints("Dr. Martens in red", VOCABULARY).colors


@pytest.mark.parametrize(("text", "brand"), [("Niek in white", "Nike"), ("Hokka?", "Hoka")])
def test_short_brand_names_tolerate_a_swap_or_an_extra_letter(text: str, brand: str) -> None:
    assert read_constraints(text, VOCABULARY).brands == (brand,)


def test_nice_is_not_nike() -> None:
    assert read_constraints("Nice shoes, size 10", VOCABULARY).brands == ()


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("mesh between 0.7 and 0.75 kg", "0.700", "0.750"),
        ("lighter than half a kilo", None, "0.500"),
        ("below 20 ounces", None, "0.5669904625"),  # 20 x 28.349523125 g, not rounded
        ("I want to lose 10 kg", None, None),
        ("scarpe con un peso compreso tra 0,7 e 0,8 kg", "0.700", "0.800"),
    ],
)
def test_weights_are_read_in_kilograms(text: str, low: str | None, high: str | None) -> None:
    c = read_constraints(text, VOCABULARY)
    assert c.weight_kg.low == (Decimal(low) if low else None)
    assert c.weight_kg.high == (Decimal(high) if high else None)


@pytest.mark.parametrize(
    ("text", "size", "price_max"),
    [
        ("ich h\u00e4tte gern Brooks in Gr\u00f6\u00dfe elf, bis 150 Dollar", "11.0", "150.00"),
        ("sapatos pretos, tamanho 10, pre\u00e7o at\u00e9 100 d\u00f3lares", "10.0", "100.00"),
        ("chaussures blanches pointure US 8.5, \u00e0 moins de 100 dollars", "8.5", "100.00"),
    ],
)
def test_sizes_and_prices_written_in_other_languages_are_read(
    text: str, size: str, price_max: str
) -> None:
    c = read_constraints(text, VOCABULARY)
    assert c.size.low == Decimal(size)
    assert c.price.high == Decimal(price_max)


def test_everything_in_a_colour_and_size_is_a_question_but_everything_in_stock_is_a_dump() -> None:
    assert not asks_for_whole_catalog("show me everything you have in white in a US 9.5?")
    assert asks_for_whole_catalog("send me everything you have in stock")


def test_a_currency_code_before_the_amount_is_a_price() -> None:
    c = read_constraints("size 8.5 priced between USD 100 and USD 130", VOCABULARY)
    assert (c.price.low, c.price.high) == (Decimal("100"), Decimal("130"))
