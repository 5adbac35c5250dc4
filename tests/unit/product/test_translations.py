"""Colour and material translations (the [translations_<word>] tables of
services/product/data/vocabulary.toml): every entry is written as a customer's word is
normalised, so it can match; a word means one catalog word only; customers' words in
their own spelling (accents, Greek tonos, capitals, ł, ø, the dotless i) find the catalog value; and
the ordinary words left out of the tables read as no colour or material."""

from __future__ import annotations

from collections import defaultdict

import pytest

from services.product.vocabulary import TRANSLATIONS, Vocabulary
from services.product.words import norm_word

VOCABULARY = Vocabulary.build(
    brand_of_name={"X Runner": "X"},
    colors=[
        "Black", "White", "Grey", "Red", "Blue", "Green", "Brown", "Yellow", "Orange", "Pink",
        "Purple", "Beige", "Navy",
    ],
    materials=["Leather", "Suede", "Canvas", "Mesh", "Knit", "Synthetic", "Nubuck", "Foam"],
)  # fmt: skip


def test_every_entry_is_written_as_a_customers_word_is_normalised() -> None:
    unmatchable = [w for words in TRANSLATIONS.values() for w in words if norm_word(w) != w]
    assert not unmatchable


def test_a_word_translates_one_catalog_word_once() -> None:
    tables: dict[str, list[str]] = defaultdict(list)
    for catalog_word, words in TRANSLATIONS.items():
        for word in words:
            tables[word].append(catalog_word)
    assert {w: t for w, t in tables.items() if len(t) > 1} == {}


def test_every_colour_and_material_has_translations() -> None:
    assert set(TRANSLATIONS) >= {
        "black", "white", "grey", "red", "blue", "green", "brown", "yellow", "orange", "pink",
        "purple", "beige", "navy", "leather", "suede", "canvas", "mesh", "knit", "synthetic",
        "nubuck", "foam",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("text", "colour"),
    [
        ("Μαύρα παπούτσια", "Black"),  # Greek, with the tonos
        ("ΜΑΥΡΟΣ πάτος", "Black"),  # capitals: final sigma
        ("czarne buty", "Black"),
        ("černé boty", "Black"),
        ("mustat kengät", "Black"),
        ("a feketét kérem", "Black"),
        ("pantofi negri", "Black"),
        ("Białe buty", "White"),  # ł kept
        ("biale buty", "White"),  # typed without ł
        ("λευκά αθλητικά", "White"),
        ("šedivé boty", "Grey"),
        ("harmaat kengät", "Grey"),
        ("kırmızı ayakkabı", "Red"),  # noqa: RUF001 (the dotless i kept)
        ("KIRMIZI ayakkabı", "Red"),  # noqa: RUF001 (capitals: plain I)
        ("røde sko", "Red"),
        ("röda skor", "Red"),
        ("κόκκινες μπότες", "Red"),
        ("niebieskie buty", "Blue"),
        ("kék cipő", "Blue"),
        ("pantofi albaștri", "Blue"),
        ("grønne sko", "Green"),
        ("zöld cipő", "Green"),
        ("hnědé boty", "Brown"),
        ("καφέ παπούτσια", "Brown"),
        ("Żółte buty", "Yellow"),
        ("keltaiset kengät", "Yellow"),
        ("sarı ayakkabı", "Yellow"),  # noqa: RUF001
        ("portocalii", "Orange"),
        ("oranžové boty", "Orange"),
        ("růžové boty", "Pink"),
        ("rózsaszín cipő", "Pink"),
        ("fioletowe buty", "Purple"),
        ("μωβ παπούτσια", "Purple"),
        ("béžové boty", "Beige"),
        ("bézs cipő", "Beige"),
        ("lacivert ayakkabı", "Navy"),  # noqa: RUF001
        ("tmavomodré boty", "Navy"),
    ],
)
def test_a_colour_in_the_customers_spelling_finds_the_catalog_colour(
    text: str, colour: str
) -> None:
    assert colour in VOCABULARY.find(text).colors


@pytest.mark.parametrize(
    ("text", "material"),
    [
        ("δερμάτινα παπούτσια", "Leather"),
        ("skórzane buty", "Leather"),
        ("sko af læder", "Leather"),
        ("kožené boty", "Leather"),
        ("zamszowe buty", "Suede"),
        ("καστόρινες μπότες", "Suede"),
        ("plátěné boty", "Canvas"),
        ("buty z płótna", "Canvas"),
        ("síťovina", "Mesh"),
        ("zapatillas de rejilla", "Mesh"),
        ("tige en maille", "Knit"),
        ("kötött cipő", "Knit"),
        ("syntetické boty", "Synthetic"),
        ("műbőr cipő", "Synthetic"),
        ("aitoa nubukkia", "Nubuck"),
        ("köpük taban", "Foam"),
    ],
)
def test_a_material_in_the_customers_spelling_finds_the_catalog_material(
    text: str, material: str
) -> None:
    assert material in VOCABULARY.find(text).materials


@pytest.mark.parametrize(
    "text",
    [
        "What sort of shoe is that?",  # da/no sort: black
        "Ein Paar Schuhe, bitte.",  # nl paars: purple ("paar" takes an -s)
        "The heel moves when I walk.",  # ro mov: purple ("moves" loses its -es)
        "Dere svarte ikke på e-posten.",  # no svarte: black
        "Sko til barna, takk.",  # hu barna: brown
        "Daha giymedim bile.",  # cs bílé: white
        "Teşekkürler, Gül",  # sv/da/no gul: yellow
        "Thanks, Rose",  # fr rose: pink
        "My heel took the brunt of it.",  # sv brunt: brown
        "Ante todo, gracias.",  # es ante: suede
        "Ich hab die Schuhe bestellt.",  # hu hab: foam
        "Jeg bor i Oslo.",  # hu bőr: leather
    ],
)
def test_an_ordinary_word_left_out_reads_as_no_colour_or_material(text: str) -> None:
    found = VOCABULARY.find(text)
    assert (found.colors, found.materials) == ((), ())
