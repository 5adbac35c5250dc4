"""The shop's words: brands, models, colours and materials as the catalog writes them, and
how a customer's words are matched to them.

The vocabulary is built from the catalog itself (read from the database at start-up), so
a new brand or colour needs no code change. Matching tolerates case, accents, plurals,
possessives, joined or split words ("air max" / "AirMax", "RS X" / "RS-X") and small
typos ("Addidas", "Ultrabost"), but stays strict on short words so that "back" never
reads as "black" nor "weather" as "leather".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

from services.common import wordlists
from services.product.needs import Needs, profile
from services.product.words import Token, negated_tokens, normalise_words, tokenize

_WORDS = wordlists.load("services.product", "vocabulary")  # data/vocabulary.toml


def _table_words(table: str) -> tuple[str, ...]:
    """The entries of a table of data/vocabulary.toml: plain lower-case words, compared
    with the customer's words as written."""
    words = tuple(_WORDS[table].slot("patterns"))
    if not all(w.isalpha() and w == w.lower() for w in words):
        raise wordlists.WordTableError(f"{_WORDS.source} [{table}]: entries must be words")
    return words


def _words_by_catalog_word(prefix: str) -> dict[str, tuple[str, ...]]:
    """The tables named `prefix` + a catalog word, as catalog word -> their words."""
    return {
        name.removeprefix(prefix): _table_words(name)
        for name in _WORDS.tables
        if name.startswith(prefix)
    }


# Spelling variants customers use for words the catalog writes one way ([spelling_<word>]).
# Only generic spellings and abbreviations; an entry is used only when the catalog has the
# word.
SPELLING_VARIANTS: Mapping[str, tuple[str, ...]] = _words_by_catalog_word("spelling_")
# Colour and material words of the languages customers write in ([translations_<word>]):
# general language knowledge, not catalog knowledge. Matched exactly (no typo tolerance):
# short foreign words sit close to English ones ("rouges"/"roughs").
TRANSLATIONS: Mapping[str, tuple[str, ...]] = _words_by_catalog_word("translations_")
# A short name followed by one of these is a date, not a product: "On Monday".
_DATE_WORDS = frozenset(_table_words("date_words"))
# Words for footwear that, right after a short model name, make it a name.
_FOOTWEAR = frozenset(_table_words("footwear"))
# Combined catalog values such as "Red/Black" or "Leather/Mesh" are split on this.
_PART_SEPARATOR = "/"
# Single-word model names shorter than this are often plain English ("Ride", "Ghost",
# "Classic"): they count only next to their brand or when written with a capital.
_DISTINCT_MODEL_LETTERS = 8


class TermKind(Enum):
    """Which catalog column a term stands for."""

    BRAND = "brand"
    PRODUCT_NAME = "product_name"
    COLOR = "color"
    MATERIAL = "material"


@dataclass(frozen=True)
class Term:
    """A phrase of the catalog and the catalog values it stands for."""

    kind: TermKind
    tokens: tuple[str, ...]
    values: tuple[str, ...]
    # For product names: the brand, and whether the phrase may stand without its brand.
    brand: str = ""
    standalone: bool = True
    # False for translations: matched only as written.
    typo_tolerant: bool = True

    @property
    def squashed(self) -> str:
        """The phrase without spaces or punctuation: "air max" -> "airmax"."""
        return "".join(self.tokens)


@dataclass(frozen=True)
class Mentions:
    """The catalog values a text names, each list sorted and without repeats."""

    brands: tuple[str, ...] = ()
    product_names: tuple[str, ...] = ()
    colors: tuple[str, ...] = ()
    materials: tuple[str, ...] = ()
    # The colour values of each colour phrase, in text order ("white with blue": the
    # values having white, then those having blue).
    color_groups: tuple[tuple[str, ...], ...] = ()
    # Where each colour phrase is: (first token, token after the last), in text order.
    color_spans: tuple[tuple[int, int], ...] = ()
    # Colours the text rules out ("not navy"): left out of every colour named, even of a
    # family that holds them ("blue, not navy").
    excluded_colors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Vocabulary:
    """Every brand, product name, colour and material of the catalog, ready for matching."""

    brands: tuple[str, ...]
    product_names: tuple[str, ...]
    colors: tuple[str, ...]
    materials: tuple[str, ...]
    brand_of_name: Mapping[str, str]
    terms: tuple[Term, ...]
    # What each model offers, read from its name and description ("waterproof", "boot").
    offers: Mapping[str, Needs]
    # The materials each model comes in.
    materials_of: Mapping[str, frozenset[str]]
    # Each model's catalog description, as written.
    descriptions: Mapping[str, str]
    _exact: Mapping[str, tuple[Term, ...]] = field(repr=False, compare=False)
    _by_first_letter: Mapping[tuple[int, str], tuple[Term, ...]] = field(repr=False, compare=False)
    _longest: int = field(repr=False, compare=False)
    # Every word of every term, to tell catalog words from other capitalised words.
    _words: frozenset[str] = field(repr=False, compare=False, default=frozenset())

    @classmethod
    def build(
        cls,
        *,
        brand_of_name: Mapping[str, str],
        colors: Iterable[str],
        materials: Iterable[str],
        descriptions: Mapping[str, str] | None = None,
        materials_by_name: Mapping[str, Iterable[str]] | None = None,
    ) -> Vocabulary:
        """Builds the vocabulary from the catalog's product names (with their brand),
        colours, materials and descriptions (by product name)."""
        names = dict(sorted(brand_of_name.items()))
        color_list = sorted({c for c in colors if c.strip()})
        material_list = sorted({m for m in materials if m.strip()})
        terms: list[Term] = []
        for brand in sorted(set(names.values())):
            terms.extend(_with_variants(Term(TermKind.BRAND, normalise_words(brand), (brand,))))
            terms.extend(_brand_short_form(brand, [n for n, b in names.items() if b == brand]))
        for name, brand in names.items():
            terms.extend(_name_terms(name, brand))
        terms.extend(_part_terms(TermKind.COLOR, color_list, colour_families()))
        terms.extend(_part_terms(TermKind.MATERIAL, material_list))
        terms = [t for t in terms if t.tokens]
        exact: dict[str, list[Term]] = defaultdict(list)
        by_first: dict[tuple[int, str], list[Term]] = defaultdict(list)
        for term in terms:
            exact[term.squashed].append(term)
            by_first[(len(term.tokens), term.tokens[0][0])].append(term)
        return cls(
            brands=tuple(sorted(set(names.values()))),
            product_names=tuple(names),
            colors=tuple(color_list),
            materials=tuple(material_list),
            brand_of_name=names,
            terms=tuple(terms),
            offers={
                name: profile(name, (descriptions or {}).get(name, ""), brand=brand)
                for name, brand in names.items()
            },
            materials_of={n: frozenset(m) for n, m in (materials_by_name or {}).items()},
            descriptions=dict(descriptions or {}),
            _exact={k: tuple(v) for k, v in exact.items()},
            _by_first_letter={k: tuple(v) for k, v in by_first.items()},
            _longest=max((len(t.tokens) for t in terms), default=1),
            _words=frozenset(w for t in terms for w in t.tokens),
        )

    def is_single_part(self, value: str) -> bool:
        """True for a colour or material of one part ("Blue", not "Blue/White")."""
        return _PART_SEPARATOR not in value

    def find(self, text: str) -> Mentions:
        """The brands, product names, colours and materials the text names."""
        tokens = tokenize(text)
        negated = negated_tokens(tokens)
        candidates = list(self._candidates(tokens))
        found = [m for m in candidates if not negated[m[1]]]
        # A colour ruled out ("not navy") leaves the families that hold it ("blue"),
        # unless the customer also asks for that very colour ("never owned green shoes,
        # anything green").
        asked = {t.values for t, _, _ in found if t.kind is TermKind.COLOR}
        excluded = sorted(
            {
                v
                for t, start, _ in candidates
                if negated[start] and t.kind is TermKind.COLOR and t.values not in asked
                for v in t.values
            }
        )
        brands_named = {t.values[0] for t, _, _ in found if t.kind is TermKind.BRAND}
        admissible = [
            (term, start, end)
            for term, start, end in found
            if not (end < len(tokens) and tokens[end].norm in _DATE_WORDS and not term.standalone)
            and not (term.kind is TermKind.COLOR and self._inside_a_name(tokens, start, end))
            and (
                term.standalone
                or term.brand in brands_named
                or (tokens[start].capitalised and not tokens[start].sentence_start)
                # "Arizona sandal?", "Ghost runners": a footwear word right after it.
                or (
                    tokens[start].capitalised
                    and end < len(tokens)
                    and tokens[end].norm in _FOOTWEAR
                )
            )
        ]
        # Longest phrase wins, so "Nike Air Max" is one product name rather than a brand
        # and a model, and "Cherry Red" is not also "Red".
        admissible.sort(key=lambda m: (-(m[2] - m[1]), m[1]))
        taken = [False] * len(tokens)
        chosen: dict[TermKind, set[str]] = defaultdict(set)
        groups: list[tuple[int, int, tuple[str, ...]]] = []
        for term, start, end in admissible:
            if any(taken[start:end]):
                continue
            taken[start:end] = [True] * (end - start)
            chosen[term.kind].update(term.values)
            if term.kind is TermKind.COLOR:
                groups.append((start, end, term.values))
        return Mentions(
            brands=tuple(sorted(chosen[TermKind.BRAND])),
            product_names=tuple(sorted(chosen[TermKind.PRODUCT_NAME])),
            colors=tuple(sorted(chosen[TermKind.COLOR])),
            materials=tuple(sorted(chosen[TermKind.MATERIAL])),
            color_groups=tuple(values for _, _, values in sorted(groups)),
            color_spans=tuple((start, end) for start, end, _ in sorted(groups)),
            excluded_colors=tuple(excluded),
        )

    def _inside_a_name(self, tokens: Sequence[Token], start: int, end: int) -> bool:
        """A capitalised colour word in a run of capitalised words mid-sentence is part of a
        name ("the Blue Ridge Mountains", "Black Forest"), unless the next word is the
        catalog's own ("Black Nike")."""
        if not tokens[start].capitalised or tokens[start].sentence_start or end >= len(tokens):
            return False
        after = tokens[end]
        return after.capitalised and not after.sentence_start and after.norm not in self._words

    def _candidates(self, tokens: Sequence[Token]) -> Iterable[tuple[Term, int, int]]:
        """Every (term, start, end) whose phrase matches tokens[start:end]."""
        words = [t.norm for t in tokens]
        for start in range(len(words)):
            for end in range(start + 1, min(len(words), start + self._longest + 1) + 1):
                window = words[start:end]
                seen: set[int] = set()
                # Exact, ignoring spaces: "air max", "airmax" and "air-max" are one phrase.
                for variant in _plural_variants("".join(window)):
                    for term in self._exact.get(variant, ()):
                        seen.add(id(term))
                        yield term, start, end
                # Small typos, word by word, in a phrase of the same number of words.
                for term in self._by_first_letter.get((len(window), window[0][0]), ()):
                    if (
                        id(term) not in seen
                        and term.typo_tolerant
                        and _words_close(
                            window,
                            term.tokens,
                            proper=term.kind is not TermKind.COLOR
                            and term.kind is not TermKind.MATERIAL,
                        )
                    ):
                        yield term, start, end


def _name_terms(name: str, brand: str) -> list[Term]:
    """The full product name, and the model part without the brand ("Air Max")."""
    name_tokens = normalise_words(name)
    brand_tokens = normalise_words(brand)
    terms = _with_variants(Term(TermKind.PRODUCT_NAME, name_tokens, (name,), brand=brand))
    shared = 0
    while (
        shared < min(len(name_tokens), len(brand_tokens))
        and name_tokens[shared] == brand_tokens[shared]
    ):
        shared += 1
    model = name_tokens[shared:]
    if shared and model:
        distinct = (
            len(model) > 1
            or any(ch.isdigit() for ch in model[0])
            or len(model[0]) >= _DISTINCT_MODEL_LETTERS
        )
        terms.extend(
            _with_variants(
                Term(TermKind.PRODUCT_NAME, model, (name,), brand=brand, standalone=distinct)
            )
        )
    return terms


def _brand_short_form(brand: str, names: Sequence[str]) -> list[Term]:
    """The name a brand goes by when all its models start with it but the brand is written
    longer ("On" for "On Running", whose models are "On Cloud 5"...). Like a short model
    name it counts only when capitalised mid-sentence ("Hoka or On?", not "on Monday")."""
    brand_tokens = normalise_words(brand)
    firsts = {normalise_words(n)[:1] for n in names}
    if len(firsts) != 1:
        return []
    (first,) = firsts
    if not first or (first == brand_tokens[:1] and len(brand_tokens) == 1):
        return []
    if first != brand_tokens[:1]:
        return []
    return [Term(TermKind.BRAND, first, (brand,), standalone=False, typo_tolerant=False)]


def _part_terms(
    kind: TermKind, values: Sequence[str], families: Mapping[str, Sequence[str]] | None = None
) -> list[Term]:
    """Terms for colours or materials: a single part ("Red") stands for every catalog value
    that has it ("Red", "Red/Black"); a full combined value stands for itself only. A
    basic colour of `families` stands for every value of its family (see
    `data/colours.toml`), even when no catalog value is named after it ("beige")."""
    by_part: dict[str, set[str]] = defaultdict(set)
    terms: list[Term] = []
    for value in values:
        parts = [p.strip() for p in value.split(_PART_SEPARATOR) if p.strip()]
        for part in parts:
            by_part[part].add(value)
        if len(parts) > 1:
            terms.extend(_with_variants(Term(kind, normalise_words(value), (value,))))
    # A shade named after its colour ("Cherry Red") is also that colour, when the catalog
    # has the colour itself.
    for part in list(by_part):
        *_, last = normalise_words(part) or ("",)
        for other in list(by_part):
            if other != part and normalise_words(other) == (last,):
                by_part[other] |= by_part[part]
    # Family members are found among the catalog's own parts, before any family is added.
    own_parts = {part: set(owners) for part, owners in by_part.items()}
    for basic, shades in (families or {}).items():
        members = {
            value
            for part, owners in own_parts.items()
            if _in_family(normalise_words(part), basic, shades)
            for value in owners
        }
        named = [part for part in by_part if normalise_words(part) == (basic,)]
        for part in named or [basic]:
            if members:
                by_part[part] |= members
    for part, owners in sorted(by_part.items()):
        terms.extend(_with_variants(Term(kind, normalise_words(part), tuple(sorted(owners)))))
    return terms


def _in_family(words: tuple[str, ...], basic: str, shades: Sequence[str]) -> bool:
    """Whether a catalog colour of these words is of the basic colour's family: named
    after it ("Cherry Red"), or a shade of it, alone or qualified ("Walnut", "Dark
    Walnut", "Cherry Red")."""
    return bool(words) and (
        words[-1] == basic or " ".join(words) in shades or any(w in shades for w in words)
    )


def colour_families() -> Mapping[str, Sequence[str]]:
    """Basic colour -> its shade names (`data/colours.toml`)."""
    shades: Mapping[str, Sequence[str]] = wordlists.data("services.product", "colours")["shades"]
    return shades


def _with_variants(term: Term) -> list[Term]:
    """The term and one copy per known spelling variant or translation of one of its
    words."""
    out = [term]
    for i, word in enumerate(term.tokens):
        for variants, tolerant in (
            (SPELLING_VARIANTS.get(word, ()), True),
            (TRANSLATIONS.get(word, ()), False),
        ):
            for variant in variants:
                tokens = (*term.tokens[:i], variant, *term.tokens[i + 1 :])
                out.append(
                    Term(
                        term.kind,
                        tokens,
                        term.values,
                        brand=term.brand,
                        standalone=term.standalone,
                        typo_tolerant=tolerant and term.typo_tolerant,
                    )
                )
    return out


def _plural_variants(word: str) -> tuple[str, ...]:
    """The word and the forms it may have in the catalog: "maxes" -> "maxe", "max"."""
    variants = [word]
    if len(word) > 3 and word.endswith("s"):
        variants.append(word[:-1])
    if len(word) > 4 and word.endswith("es"):
        variants.append(word[:-2])
    if len(word) >= 4 and not word.endswith("s"):
        variants.append(word + "s")  # "croc" for "Crocs"
    return tuple(variants)


def allowed_typos(word: str) -> int:
    """How many edits a catalog word of this length tolerates: none up to five letters
    (short words collide: back/black, blue/glue), one up to eight, then two."""
    if any(ch.isdigit() for ch in word) or len(word) <= 5:
        return 0
    return 1 if len(word) <= 8 else 2


def _word_close(word: str, target: str, *, proper: bool = False) -> bool:
    """Whether a customer's word is the catalog word, allowing a few typos. The first
    letter must agree: a different first letter is more often another word
    ("weather"/"leather") than a typo. Names (`proper`) of four or five letters also
    allow one extra letter ("Hokka", "Nikey"), and of five one changed letter ("Asiks"):
    a name misspelt rarely turns into another English word that way."""
    if word == target:
        return True
    allowed = allowed_typos(target)
    name_typo = (
        len(word) == len(target) + 1
        or len(target) == len(word) == 5
        or (len(word) == len(target) and sorted(word) == sorted(target))  # "Niek"
    )
    if proper and allowed == 0 and 4 <= len(target) <= 5 and word[:1] == target[:1] and name_typo:
        return edit_distance(word, target) <= 1
    if allowed == 0 or not word or word[0] != target[0]:
        return False
    if any(ch.isdigit() for ch in word) or abs(len(word) - len(target)) > allowed:
        return False
    return edit_distance(word, target) <= allowed


def _words_close(words: Sequence[str], targets: Sequence[str], *, proper: bool = False) -> bool:
    """Word-by-word closeness; the last word may be a plural."""
    if len(words) != len(targets):
        return False
    *head, last = words
    if not all(_word_close(w, t, proper=proper) for w, t in zip(head, targets[:-1], strict=True)):
        return False
    return any(_word_close(v, targets[-1], proper=proper) for v in _plural_variants(last))


def edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: insertions, deletions, substitutions and swaps
    of two neighbouring letters each count one. (difflib's ratio does not count a swap
    as one typo and its thresholds shift with word length, hence this small function.)"""
    before_previous: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], before_previous[j - 2] + 1)
        before_previous, previous = previous, current
    return previous[-1]
