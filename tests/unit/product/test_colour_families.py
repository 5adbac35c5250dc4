"""Colour families (services/product/data/colours.toml read by the vocabulary): a basic
colour word covers its shades, a shade word only itself."""

from __future__ import annotations

import pytest

from crmctl.demo import product as demo
from services.product.vocabulary import Vocabulary, colour_families

VOCABULARY = demo.vocabulary()


@pytest.mark.parametrize(
    ("text", "colours"),
    [
        ("brown boots", {"Brown", "Mocha", "Walnut", "Earth", "Taupe"}),
        ("something beige", {"Wheat", "Taupe"}),
        ("grey ones", {"Grey", "Granite"}),
        ("in blue", {"Blue", "Navy", "Blue/White", "White/Blue"}),
        ("red", {"Red", "Cherry Red", "Red/Black"}),
    ],
)
def test_a_basic_colour_word_covers_its_family(text: str, colours: set[str]) -> None:
    assert set(VOCABULARY.find(text).colors) == colours


@pytest.mark.parametrize(("text", "colour"), [("navy", "Navy"), ("taupe", "Taupe")])
def test_a_shade_word_is_that_shade_only(text: str, colour: str) -> None:
    assert VOCABULARY.find(text).colors == (colour,)


def test_a_family_word_is_understood_only_when_the_catalog_has_a_member() -> None:
    words = Vocabulary.build(brand_of_name={"X Runner": "X"}, colors=["Black"], materials=[])
    assert words.find("purple").colors == ()
    assert words.find("onyx").colors == ()


def test_every_family_is_a_list_of_lower_case_shade_names() -> None:
    families = colour_families()
    assert {"black", "white", "grey", "red", "blue", "brown", "beige"} <= set(families)
    for shades in families.values():
        assert shades and all(s == s.lower().strip() for s in shades)


def test_a_shade_ruled_out_leaves_its_family() -> None:
    from services.product.search import read_constraints

    assert "Navy" not in read_constraints("blue, but not navy", VOCABULARY).colors
    assert "Blue" in read_constraints("blue, but not navy", VOCABULARY).colors


def test_a_colour_ruled_out_once_and_asked_for_again_is_asked_for() -> None:
    from services.product.search import read_constraints

    text = "I have never owned green shoes. Anyway: anything green, under $100."
    assert "Green" in read_constraints(text, VOCABULARY).colors
