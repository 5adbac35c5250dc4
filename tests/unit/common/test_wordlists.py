"""The word-table data files (services/*/data/*.toml) and their loader: every file loads,
every pattern compiles, every example matches its table, every entry is matched by one of
its section's examples through that entry, and no counter-example matches."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common import wordlists
from services.common.wordlists import Section, Table, WordTableError

ROOT = Path(__file__).resolve().parents[3]
# Data files of another shape, with tests of their own.
OTHER_SHAPES = {
    "services/common/data/tracking_formats.toml",  # test_identifiers.py
    "services/product/data/colours.toml",  # tests/unit/product/test_colour_families.py
    "services/product/data/needs.toml",  # tests/unit/product/test_needs.py
}
FILES = sorted(
    p.relative_to(ROOT).as_posix()
    for p in ROOT.glob("services/*/data/*.toml")
    if p.relative_to(ROOT).as_posix() not in OTHER_SHAPES
)


def tables_of(path: str) -> wordlists.WordTables:
    package, name = path.rsplit("/data/", 1)
    return wordlists.load(package.replace("/", "."), name.removesuffix(".toml"))


SECTIONS = [
    pytest.param(table, section, id=f"{path}:{table.name}.{section.language}")
    for path in FILES
    for table in tables_of(path).tables.values()
    for section in table.sections
]


def test_the_word_tables_are_found() -> None:
    assert {
        "services/classifier/data/signals.toml",
        "services/common/data/identifiers.toml",
        "services/common/data/injection.toml",
        "services/common/data/mail.toml",
        "services/delivery/data/returns.toml",
        "services/memory/data/context.toml",
        "services/product/data/clauses.toml",
        "services/product/data/declines.toml",
        "services/product/data/measures.toml",
        "services/product/data/vocabulary.toml",
    } <= set(FILES)


@pytest.mark.parametrize("path", FILES)
def test_the_file_loads_and_every_pattern_compiles(path: str) -> None:
    tables = tables_of(path)
    assert tables.tables, f"{path} holds no table"
    for table in tables.tables.values():
        assert table.sections and table.about
        for section in table.sections:
            for slot, entry in section.entries():
                re.compile(entry, table.flags)  # alone
                table.compiled(**{slot: [entry]})  # in its frame


@pytest.mark.parametrize(("table", "section"), SECTIONS)
def test_every_example_matches_the_table(table: Table, section: Section) -> None:
    missed = [e for e in section.examples if not table.pattern.search(e)]
    assert not missed, f"[{table.name}.{section.language}] examples not matched: {missed}"


def found(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [m.span() for m in pattern.finditer(text)]


def uncovered(table: Table, section: Section) -> list[str]:
    """The entries of a section that no example of it shows. An entry shows in an
    example when, alone in its slot, it finds something there, and not what the table
    finds with that slot left empty: the example is found through the entry (for an
    optional slot, a longer match)."""
    missing = []
    for slot, entry in section.entries():
        alone, without = table.compiled(**{slot: [entry]}), table.compiled(**{slot: []})
        if not any(found(alone, e) not in ([], found(without, e)) for e in section.examples):
            missing.append(entry)
    return missing


@pytest.mark.parametrize(("table", "section"), SECTIONS)
def test_every_entry_matches_an_example_of_its_own(table: Table, section: Section) -> None:
    missing = uncovered(table, section)
    assert not missing, f"[{table.name}.{section.language}] entries no example shows: {missing}"


@pytest.mark.parametrize(("table", "section"), SECTIONS)
def test_no_counter_example_matches(table: Table, section: Section) -> None:
    matched = [e for e in section.counter_examples if table.pattern.search(e)]
    assert not matched, f"[{table.name}.{section.language}] counter-examples matched: {matched}"


# --- the loader ---------------------------------------------------------------------------


def test_a_file_is_read_and_compiled_once() -> None:
    first = wordlists.load("services.classifier", "signals")
    assert wordlists.load("services.classifier", "signals") is first
    assert first.pattern("harm") is first["harm"].pattern


def test_slots_take_the_entries_of_every_section_in_file_order() -> None:
    table = wordlists.load("services.delivery", "returns")["refund_wish"]
    assert table.slot("my")[:2] == ["mein", "mi"]
    assert "(?:mein|mi|mon|" in table.pattern.pattern
    assert table.compiled(my=[]).pattern.count(wordlists.NEVER) == 1


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An importable package `wordlists_probe` whose data/t.toml a test writes."""
    root = tmp_path / "wordlists_probe"
    (root / "data").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "wordlists_probe", raising=False)
    wordlists.load.cache_clear()
    wordlists.data.cache_clear()
    yield root
    sys.modules.pop("wordlists_probe", None)
    wordlists.load.cache_clear()
    wordlists.data.cache_clear()


GOOD = """
[words]
about = "Some words."
frame = '\\b(?:{patterns})\\b'
flags = ["IGNORECASE"]
[words.en]
patterns = ['shoes?']
examples = ["New shoes"]
"""


def test_a_well_formed_file_loads(package: Path) -> None:
    (package / "data" / "t.toml").write_text(GOOD)
    table = wordlists.load("wordlists_probe", "t")["words"]
    assert table.pattern.pattern == r"\b(?:shoes?)\b" and table.flags == re.IGNORECASE
    assert table.sections[0].language == "en" and table.sections[0].examples == ("New shoes",)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('about = "Some words."', "", "`about`"),
        ('["IGNORECASE"]', '["LOUD"]', "unknown flag"),
        ("[words.en]", "[words.english]", "language code"),
        ("patterns = ['shoes?']", "patterns = []", "patterns is empty"),
        ("patterns = ['shoes?']", "pattern = ['shoes?']", "unknown keys"),
        ("patterns = ['shoes?']", "patterns = ['shoes(']", "does not compile"),
        ('examples = ["New shoes"]', "", "examples must be"),
        ("{patterns})", "{patterns}|{others})", "no section fills ['others']"),
        ("frame = '\\b(?:{patterns})\\b'", "frame = 'shoes'", "no slot"),
        ("[words.en]", "bad = 1\n[words.en]", "unknown key 'bad'"),
        ("patterns = ['shoes?']", "patterns = ['shoes?'", "t.toml"),
    ],
)
def test_a_malformed_file_is_refused_with_where(
    package: Path, old: str, new: str, message: str
) -> None:
    assert old in GOOD
    (package / "data" / "t.toml").write_text(GOOD.replace(old, new))
    with pytest.raises(WordTableError, match=re.escape(message)):
        wordlists.load("wordlists_probe", "t")


VALUED = """
[numbers]
about = "Number words."
frame = '\\b(?:{words})\\b'
[numbers.en]
words = {one = 1, two = 2}
examples = ["one or two"]
[numbers.de]
words = {eins = 1}
examples = ["eins"]
"""


def test_a_slot_may_map_its_entries_to_values(package: Path) -> None:
    (package / "data" / "t.toml").write_text(VALUED)
    table = wordlists.load("wordlists_probe", "t")["numbers"]
    assert table.values("words") == {"one": 1, "two": 2, "eins": 1}
    assert list(table.values("words")) == table.slot("words") == ["one", "two", "eins"]
    assert table.pattern.pattern == r"\b(?:one|two|eins)\b" and table.values("other") == {}


def test_an_entry_given_a_value_twice_is_refused(package: Path) -> None:
    (package / "data" / "t.toml").write_text(VALUED.replace("eins = 1", "one = 1"))
    with pytest.raises(WordTableError, match=re.escape("words gives a value to ['one'] more")):
        wordlists.load("wordlists_probe", "t")


def test_an_unknown_table_is_named(package: Path) -> None:
    (package / "data" / "t.toml").write_text(GOOD)
    with pytest.raises(KeyError, match=r"wordlists_probe/data/t\.toml: no table \[colours\]"):
        wordlists.load("wordlists_probe", "t").pattern("colours")


def test_an_entry_without_an_example_of_its_own_is_found(package: Path) -> None:
    """The check above: an example matched only through another entry, or through another
    slot, does not show an entry; a longer match through an optional slot does."""
    (package / "data" / "t.toml").write_text(
        """
[words]
about = "Probe."
frame = '\\b(?:{patterns})\\b|(?:{lead}) (?:{noun})'
[words.en]
patterns = ['shoes?', 'boots?']
lead = ['new', 'old']
noun = ['laces']
examples = ["new shoes", "old laces"]
[words.de]
patterns = ['schuhe?']
noun = ['senkel']
examples = ["alte schuhe"]
[words.fr]
patterns = ['chaussures?']
examples = ["chaussures"]
[optional]
about = "Probe."
frame = '(?:{patterns}) (?:(?:{article}) )?'
[optional.en]
patterns = ['not']
article = ['a', 'the']
examples = ["not a refund"]
"""
    )
    tables = wordlists.load("wordlists_probe", "t")
    words, optional = tables["words"], tables["optional"]
    assert [uncovered(words, s) for s in words.sections] == [["boots?", "new"], ["senkel"], []]
    assert uncovered(optional, optional.sections[0]) == ["the"]
