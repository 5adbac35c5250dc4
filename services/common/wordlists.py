"""Word and pattern tables kept as data, not code: the words a rule looks for (harm claims,
quoted-reply headers, order words, ...) live in TOML files a reviewer can read and change
without reading Python. Each file is read once and each table's pattern compiled once.

A package's tables live in its `data/` folder, one file per module that reads them
(`services/classifier/data/signals.toml` for `services/classifier/signals.py`). A file
holds tables; a table holds one section per language:

    [harm]
    about = "What the table finds and how its module reads it."
    frame = '\\b(?:{patterns})\\b'     # optional; default '{patterns}'
    flags = ["IGNORECASE"]            # optional; names of `re` flags

    [harm.en]
    patterns = ['injur\\w*', 'blood'] # regular expressions, one entry each
    examples = ["I injured my ankle", "there was blood"]
    counter_examples = ["bloody brilliant"]  # optional

A section is named by its language (ISO 639-1: `en`, `de`, ...) or `any` for what is no
language (carrier names, chat-template tokens). Its lists fill the frame's slots: each
`{name}` in the frame becomes the alternation of the `name` lists of every section, in
file order (`{patterns}` is the usual one; a frame such as
'(?:{my})\\s+(?:{money})' lets each language give its own words for both parts while any
combination still matches, as the hand-written patterns did).

Every data file is checked by tests/unit/common/test_wordlists.py: it loads, its patterns
compile, every example of a section matches the table, every entry of a section matches
at least one of the section's examples through that entry, and no counter-example
matches the table.

A table may also map its words to values (number words to numbers): a slot written as a
TOML table of entry = value instead of a list, its keys being the entries, in file order:

    [number_words.en]
    words = {one = 1, two = 2, three = 3}
    examples = ["size one", ...]

`Table.values("words")` gives entry -> value over every section; an entry may be given
only once in a table. Such entries are used as written, so they are plain words.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

ANY = "any"  # the section of entries of no language (formats, tokens)
DEFAULT_FRAME = "{patterns}"
EXAMPLES = "examples"
COUNTER_EXAMPLES = "counter_examples"
# A pattern that never matches: fills a slot left out when checking one entry.
NEVER = "(?!)"

_TABLE_KEYS = frozenset({"about", "frame", "flags"})
# Regex quantifiers ({2}, {0,3}) hold digits, slots lower-case letters only.
_SLOT = re.compile(r"\{([a-z_]+)\}")
_LANGUAGE = re.compile(r"[a-z]{2}")


class WordTableError(ValueError):
    """A data file that does not hold well-formed tables."""


@dataclass(frozen=True)
class Section:
    """One language's entries of a table."""

    language: str
    # Slot name to its entries (regular expressions), in file order.
    slots: Mapping[str, tuple[str, ...]]
    examples: tuple[str, ...]
    counter_examples: tuple[str, ...]
    # Slot name to entry -> value, for the slots written as a table (entry = value).
    values: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def entries(self) -> Iterator[tuple[str, str]]:
        """Each entry with its slot."""
        for slot, patterns in self.slots.items():
            for pattern in patterns:
                yield slot, pattern


@dataclass(frozen=True)
class Table:
    """A named table: its frame, its sections and its pattern, compiled once."""

    name: str
    about: str
    frame: str
    flags: re.RegexFlag
    sections: tuple[Section, ...]
    pattern: re.Pattern[str]

    def slot(self, name: str) -> list[str]:
        """Every entry of a slot, section after section."""
        return _slot(self.sections, name)

    def values(self, name: str) -> dict[str, Any]:
        """Entry -> value of a slot written as a table (`words = {one = 1}`), section
        after section; empty when the slot gives no values."""
        return {e: v for section in self.sections for e, v in section.values.get(name, {}).items()}

    def source(self, **replaced: list[str]) -> str:
        """The table's regular expression; `replaced` puts other entries in a slot (an
        empty list: a slot that never matches)."""
        return _source(self.frame, self.sections, replaced)

    def compiled(self, **replaced: list[str]) -> re.Pattern[str]:
        """`source` compiled with the table's flags (for checking single entries)."""
        return re.compile(self.source(**replaced), self.flags)


@dataclass(frozen=True)
class WordTables:
    """The tables of one data file."""

    source: str
    tables: Mapping[str, Table]

    def __getitem__(self, name: str) -> Table:
        try:
            return self.tables[name]
        except KeyError:
            raise KeyError(f"{self.source}: no table [{name}]") from None

    def pattern(self, name: str) -> re.Pattern[str]:
        """The compiled pattern of a table."""
        return self[name].pattern


@cache
def data(package: str, name: str) -> Mapping[str, Any]:
    """The parsed TOML file `data/<name>.toml` of a package, read once (do not modify)."""
    resource = resources.files(package).joinpath("data", f"{name}.toml")
    try:
        with resource.open("rb") as file:
            return tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise WordTableError(f"{_where(package, name)}: {error}") from error


@cache
def load(package: str, name: str) -> WordTables:
    """The tables of `data/<name>.toml` of a package, read and compiled once."""
    where = _where(package, name)
    raw = data(package, name)
    return WordTables(where, {key: _table(where, key, value) for key, value in raw.items()})


def _where(package: str, name: str) -> str:
    return f"{package.replace('.', '/')}/data/{name}.toml"


def _strings(where: str, key: str, value: Any, *, required: bool) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise WordTableError(f"{where}: {key} must be a list of non-empty strings")
    if required and not value:
        raise WordTableError(f"{where}: {key} is empty")
    return tuple(value)


def _section(where: str, language: str, raw: Mapping[str, Any], slots: set[str]) -> Section:
    where = f"{where}.{language}"
    if language != ANY and not _LANGUAGE.fullmatch(language):
        raise WordTableError(f"{where}: a section is a language code (en, de, ...) or {ANY!r}")
    unknown = set(raw) - slots - {EXAMPLES, COUNTER_EXAMPLES}
    if unknown:
        raise WordTableError(f"{where}: unknown keys {sorted(unknown)} (slots: {sorted(slots)})")
    entries: dict[str, tuple[str, ...]] = {}
    values: dict[str, Mapping[str, Any]] = {}
    for slot, value in raw.items():
        if slot not in slots:
            continue
        if isinstance(value, dict):  # entry = value
            values[slot] = dict(value)
            value = list(value)
        entries[slot] = _strings(where, slot, value, required=True)
    if not entries:
        raise WordTableError(f"{where}: no entries")
    return Section(
        language,
        entries,
        _strings(where, EXAMPLES, raw.get(EXAMPLES), required=True),
        _strings(where, COUNTER_EXAMPLES, raw.get(COUNTER_EXAMPLES, []), required=False),
        values,
    )


def _table(where: str, name: str, raw: Any) -> Table:
    where = f"{where} [{name}]"
    if not isinstance(raw, dict):
        raise WordTableError(f"{where}: a table, not a value")
    about, frame = raw.get("about"), raw.get("frame", DEFAULT_FRAME)
    if not isinstance(about, str) or not about.strip():
        raise WordTableError(f"{where}: `about` must say what the table finds")
    if not isinstance(frame, str):
        raise WordTableError(f"{where}: `frame` must be a string")
    slots = set(_SLOT.findall(frame))
    if not slots:
        raise WordTableError(f"{where}: the frame has no slot such as {{patterns}}")
    flags = re.RegexFlag(0)
    for flag in _strings(where, "flags", raw.get("flags", []), required=False):
        if flag not in re.RegexFlag.__members__:
            raise WordTableError(f"{where}: unknown flag {flag!r} (IGNORECASE, MULTILINE, ...)")
        flags |= re.RegexFlag[flag]
    sections = []
    for key, value in raw.items():
        if key in _TABLE_KEYS:
            continue
        if not isinstance(value, dict):
            raise WordTableError(f"{where}: unknown key {key!r}")
        sections.append(_section(where, key, value, slots))
    filled = {slot for section in sections for slot in section.slots}
    if missing := slots - filled:
        raise WordTableError(f"{where}: no section fills {sorted(missing)}")
    for slot in slots:
        valued = [e for section in sections for e in section.values.get(slot, {})]
        if twice := sorted({e for e in valued if valued.count(e) > 1}):
            raise WordTableError(f"{where}: {slot} gives a value to {twice} more than once")
    try:
        pattern = re.compile(_source(frame, sections, {}), flags)
    except re.error as error:
        raise WordTableError(f"{where}: the pattern does not compile: {error}") from error
    return Table(name, about.strip(), frame, flags, tuple(sections), pattern)


def _slot(sections: Sequence[Section], name: str) -> list[str]:
    return [p for section in sections for p in section.slots.get(name, ())]


def _source(frame: str, sections: Sequence[Section], replaced: Mapping[str, list[str]]) -> str:
    """The frame with each slot filled: `replaced`'s entries for it, else those of every
    section, as alternatives; a slot without entries never matches."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        entries = replaced[name] if name in replaced else _slot(sections, name)
        return "|".join(entries) or NEVER

    return _SLOT.sub(fill, frame)
