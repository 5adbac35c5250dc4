"""Needs by meaning (services/product/meaning.py): the encoder names the closest model
only when it clearly leads; it runs only when the thesaurus recognised no need."""

from __future__ import annotations

import numpy as np

from crmctl.demo import product as demo
from services.product.meaning import MARGIN, DescriptionIndex, closest_model
from services.product.understanding import fitted_by_meaning, needs_unrecognised, understand

VOCABULARY = demo.vocabulary()


def _index() -> DescriptionIndex:
    vectors = np.eye(3, dtype=np.float32)
    return DescriptionIndex(("A", "B", "C"), vectors)


def test_the_closest_model_is_named_when_it_leads_by_the_margin() -> None:
    need = np.array([0.9, 0.9 - 2 * MARGIN, 0.0], dtype=np.float32)
    assert closest_model(_index(), need) == "A"


def test_the_encoder_abstains_when_two_models_are_about_as_close() -> None:
    need = np.array([0.9, 0.9 - MARGIN / 2, 0.0], dtype=np.float32)
    assert closest_model(_index(), need) is None


def test_needs_the_thesaurus_recognises_do_not_go_to_the_encoder() -> None:
    assert not needs_unrecognised(understand("hiking boots in 10", VOCABULARY, by_need=True))


def test_a_need_in_words_the_thesaurus_lacks_goes_to_the_encoder() -> None:
    understood = understand("Tenise uygun ayakkabi ariyorum", VOCABULARY, by_need=True)
    assert needs_unrecognised(understood)


def test_the_encoders_model_is_a_match_when_the_customer_could_mean_it() -> None:
    understood = understand("Tenise uygun ayakkabi, Adidas", VOCABULARY, by_need=True)
    fitted = fitted_by_meaning(understood, "Adidas Stan Smith", VOCABULARY)
    assert fitted.answerable and fitted.fit.models == ("Adidas Stan Smith",)
    elsewhere = fitted_by_meaning(understood, "Vans Old Skool", VOCABULARY)
    assert elsewhere.fit.models == () and elsewhere.fit.best_anywhere == ("Vans Old Skool",)
