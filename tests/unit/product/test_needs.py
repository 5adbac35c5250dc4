"""The words of a request that name no need (services/product/needs.py's filler): the
function words of the customers' languages and the shop's own words."""

from __future__ import annotations

import pytest

from services.product.needs import read_needs


@pytest.mark.parametrize(
    "text",
    [
        "I am looking for something for my daughter, thanks",
        "Ich suche etwas für meine Tochter, danke",
        "Busco algo para mi hija, gracias",
        "Je cherche quelque chose pour ma fille, merci",
    ],
)
def test_a_request_of_function_and_shop_words_names_no_need(text: str) -> None:
    units = read_needs(text).units
    assert not {"~look", "~someth", "~daughter", "~ich", "~fur", "~para", "~pour"} & units


def test_need_words_are_not_filler() -> None:
    assert "hiking" in read_needs("something for hiking, thanks").units
    assert (
        "~cork" in read_needs("a cork footbed, please").units
        or "footbed" in read_needs("a cork footbed, please").units
    )
