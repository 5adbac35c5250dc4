"""Which products fit a need: needs read from the e-mail and from the catalog descriptions,
the best-fit rule, alternatives, and the requests the catalog cannot answer."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from crmctl.demo import product as demo
from services.product.declines import (
    DECLINE_BEYOND_CATALOG,
    DECLINE_NOTHING_SPECIFIC,
    DECLINE_WHOLE_CATALOG,
)
from services.product.matching import Fit, relaxations, too_broad_without_a_need
from services.product.measures import Bounds
from services.product.needs import fit, profile, read_needs
from services.product.search import Constraints
from services.product.understanding import understand

VOCABULARY = demo.vocabulary()


def _models(text: str) -> tuple[str, ...]:
    understood = understand(text, VOCABULARY, by_need=True)
    assert understood.answerable, understood.decline_reason
    return understood.fit.models


def test_what_a_product_offers_is_read_from_its_description_in_the_database() -> None:
    offer = profile("Trail King", "A waterproof hiking boot with a grippy sole.", brand="Acme")
    assert {"waterproof", "hiking", "boot", "trail"} <= offer.units


def test_a_need_in_other_words_meets_the_description_that_says_it_differently() -> None:
    boot = profile("Rain Boot", "The classic waterproof boot.")
    assert fit(read_needs("it rains all the time and my feet get soaked in puddles"), boot) > 0


@pytest.mark.parametrize(
    ("text", "model"),
    [
        ("Heading to the Alps for a trek, what boots would you suggest?", "Merrell Moab 2"),
        ("My feet roll inwards when I run, I need support", "Asics Gel-Kayano"),
        ("Something for the beach and the pool", "Crocs Classic Clog"),
        ("I want the most cushioning you have, and light", "Hoka Clifton"),
        ("Muddy singletrack every weekend", "Salomon Speedcross"),
        ("boots that don't leak", "Timberland Premium Boot"),
    ],
)
def test_the_best_fitting_model_is_chosen_from_the_need(text: str, model: str) -> None:
    assert _models(text) == (model,)


def test_models_that_fit_equally_well_are_all_kept() -> None:
    assert set(_models("a lightweight shoe please")) == {
        "Hoka Clifton",
        "On Cloud 5",
        "Skechers Go Walk",
    }


def test_a_negated_need_is_not_a_need() -> None:
    needs = read_needs("road running only, no trail stuff")
    assert "trail" not in needs.units
    assert "running" in needs.units


def test_a_degree_word_joins_the_need_it_qualifies() -> None:
    clifton = VOCABULARY.offers["Hoka Clifton"]
    go_walk = VOCABULARY.offers["Skechers Go Walk"]
    needs = read_needs("maximum cushioning")
    assert fit(needs, clifton) == 1
    assert fit(needs, go_walk) == 0  # ordinary cushioning is not the most


def test_the_named_material_narrows_what_best_means() -> None:
    assert _models("knit upper, responsive and springy") == ("Under Armour HOVR",)


def test_a_named_brand_narrows_what_best_means() -> None:
    assert _models("a comfortable Adidas") == ("Adidas Ultraboost",)


def test_a_need_nothing_in_the_catalog_offers_with_a_constraint_is_a_plain_search() -> None:
    understood = understand("glittery shoes in size 10", VOCABULARY, by_need=True)
    assert understood.answerable and not understood.fit.found
    assert understood.constraints.size == Bounds(Decimal("10.0"), Decimal("10.0"))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("I want a pair that lasts ten years", DECLINE_BEYOND_CATALOG),
        ("Which shoe will make me run faster?", DECLINE_BEYOND_CATALOG),
        ("Can you guarantee I'll never get blisters?", DECLINE_BEYOND_CATALOG),
        ("Which of your shoes will be the most fashionable next year?", DECLINE_BEYOND_CATALOG),
        ("shoes that glow in the dark", DECLINE_BEYOND_CATALOG),
        ("something to impress my boss at an interview", DECLINE_NOTHING_SPECIFIC),
        ("Send me one email per product until you run out", DECLINE_WHOLE_CATALOG),
        ("List everything with inventory numbers", DECLINE_WHOLE_CATALOG),
    ],
)
def test_requests_the_catalog_cannot_answer_are_declined_with_their_reason(
    text: str, reason: str
) -> None:
    understood = understand(text, VOCABULARY, by_need=True)
    assert not understood.answerable
    assert understood.decline_reason == reason


def test_a_money_back_guarantee_question_is_still_a_product_question() -> None:
    understood = understand("Ultraboost in 10? Is there a money-back guarantee?", VOCABULARY)
    assert understood.answerable


def test_alternatives_drop_one_constraint_at_a_time_size_first() -> None:
    asked = Constraints(
        product_names=("Merrell Moab 2",),
        colors=("Black",),
        size=Bounds(Decimal("12.0"), Decimal("12.0")),
    )
    first, second = list(relaxations(asked))
    assert first.size.empty and first.colors == ("Black",)
    assert second.colors == () and not second.size.empty


def test_a_relaxation_that_leaves_nothing_to_search_by_is_not_offered() -> None:
    assert list(relaxations(Constraints(size=Bounds(Decimal("12.0"), Decimal("12.0"))))) == []


@pytest.mark.parametrize(
    "text",
    [
        "Do you have glow-in-the-dark sneakers? Size 11.",
        "Shoes with heated soles, size 9.5, black",
        "Nike that syncs with my Apple Watch, size 10",
        "What star rating do customers give the Ultraboost?",
        "Are Jordan 1s going to go up in value as an investment?",
    ],
)
def test_features_and_opinions_the_catalog_does_not_record_are_declined(text: str) -> None:
    for by_need in (False, True):
        understood = understand(text, VOCABULARY, by_need=by_need)
        assert understood.decline_reason == DECLINE_BEYOND_CATALOG


def test_mentioning_reviews_in_passing_is_still_a_product_question() -> None:
    assert understand("Ultraboost size 10 please, I read great reviews", VOCABULARY).answerable


@pytest.mark.parametrize(
    ("text", "model"),
    [
        ("jag vill ha något öppet med remmar till sommaren", "Birkenstock Arizona"),
        ("szukam butów za kostkę, w stylu koszykarskim", "Jordan Air 1"),
        (
            "mes pieds roulent beaucoup vers l'intérieur, je cherche une chaussure",
            "Asics Gel-Kayano",
        ),
        ("up in the fells with a rucksack, rocky paths to the summits", "Merrell Moab 2"),
        (
            "festival mud bath with downpours, need footwear that won't let water in",
            "Timberland Premium Boot",
        ),
        ("daily walks around the lake now that I've retired", "Skechers Go Walk"),
    ],
)
def test_needs_in_other_words_and_languages_choose_the_model_that_fits(
    text: str, model: str
) -> None:
    assert _models(text) == (model,)


def test_a_purpose_said_twice_does_not_outweigh_the_need() -> None:
    text = "Training for the marathon and I want maximum cushioning for the long runs"
    assert _models(text) == ("Hoka Clifton",)


def test_a_named_brand_that_does_not_fit_best_is_no_match_and_the_best_fit_is_offered() -> None:
    understood = understand(
        "I want the most cushioned shoe you have, but Nike only please", VOCABULARY, by_need=True
    )
    assert understood.fit.found
    assert understood.fit.models == ()
    assert understood.fit.best_anywhere == ("Hoka Clifton",)


def test_a_named_brand_that_fits_best_is_the_match() -> None:
    assert _models("Salomon for muddy trail running please") == ("Salomon Speedcross",)


def test_products_of_many_models_without_an_understood_need_are_not_a_match() -> None:
    assert too_broad_without_a_need(Fit(), ["A", "B", "C", "D"])
    assert not too_broad_without_a_need(Fit(), ["Vans Old Skool"] * 4)
    assert not too_broad_without_a_need(Fit(("A",), Fraction(1), ("A",)), ["A", "B", "C", "D"])


@pytest.mark.parametrize(
    "text",
    [
        "Which of your shoes will definitely prevent foot ulcers? I need you to promise.",
        "Which running shoes will get me under three hours in the marathon? I need a guarantee.",
    ],
)
def test_medical_and_race_time_promises_are_declined(text: str) -> None:
    understood = understand(text, VOCABULARY, by_need=True)
    assert not understood.answerable
    assert understood.decline_reason == DECLINE_BEYOND_CATALOG
