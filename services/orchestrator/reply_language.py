"""The language a reply is written in, and how it is worded and formatted in it.

A reply is in the customer's language (the reading's `Classification.language`) when the
shop has a complete reply catalogue for it, else in English with a note saying why.
The catalogues are gettext catalogues of the reply wording (`replies.py` and
`templates/*.txt.j2`), one per language in `locales/<lang>/LC_MESSAGES/replies.po`,
extracted and merged by `make messages` (Babel, mapped in `babel.cfg`); English is the
wording in the code itself and needs none. A catalogue is used once every message in it
is translated (none empty, none fuzzy): an empty or partly translated catalogue would
give a reply in two languages, so that language is answered in English until it is done.

Each .po is compiled in memory (Babel's `write_mo`) the first time its language is
needed, once per process: nothing is compiled at build time, so the wheel and the images
carry the .po files only and no step can be forgotten.

Dates and amounts are written the way the language writes them (Babel's CLDR data:
"23 de enero de 2026", "1,50 US$"); the grounding check of LLM-phrased replies reads the
same forms back (`grounding.py`). A language that is unknown, empty or "und" (not
identified) is English everywhere here.

To render a reply in a language, ask for its `Wording` (`wording(language)`): its
`gettext`/`ngettext` for wording in Python, `template(name)` for the Jinja2 templates
(with `jinja2.ext.i18n`: `{% trans %}`, `_()`, `gettext()`, `ngettext()`, and the `day`
and `money` filters), and `day()`/`money()`/`number()` for dates, amounts and sizes.
"""

from __future__ import annotations

import gettext
import threading
from datetime import UTC, date
from decimal import Decimal
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any, NamedTuple, cast

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import Translations
from google.protobuf.timestamp_pb2 import Timestamp
from jinja2 import Environment, PackageLoader, StrictUndefined, Template

from crm.v1 import types_pb2

ENGLISH = "en"
# The reading's language when it could not tell (BCP 47 "undetermined").
UNDETERMINED = "und"
# The gettext domain of the reply catalogues: locales/<lang>/LC_MESSAGES/replies.po.
DOMAIN = "replies"
LOCALES = Path(__file__).with_name("locales")
DEFAULT_CURRENCY = "USD"


def primary_subtag(language: str) -> str:
    """The BCP 47 primary language subtag, lower case ("pt-BR" -> "pt"); "" when empty."""
    return language.strip().replace("_", "-").split("-", 1)[0].lower()


@cache
def locale_of(language: str) -> Locale:
    """The Babel locale dates and amounts are formatted with: the language's own when
    Babel knows it, else English (also for "" and "und")."""
    code = primary_subtag(language)
    if code in ("", UNDETERMINED):
        return Locale.parse(ENGLISH)
    try:
        return Locale.parse(code)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(ENGLISH)


def language_name(language: str) -> str:
    """The language named in English with its code ("Swedish (sv)"); "the language xx"
    for a code Babel does not know."""
    code = primary_subtag(language)
    name: str | None = Locale.parse(ENGLISH).languages.get(code)
    return f"{name} ({code})" if name else f"the language {code}"


def _day(day: date | Timestamp) -> date:
    return day.ToDatetime(UTC).date() if isinstance(day, Timestamp) else day


def format_day(day: date | Timestamp, language: str) -> str:
    """A day as the language writes it in full ("January 23, 2026", "23 de enero de
    2026"); a timestamp stands for its UTC day."""
    return format_date(_day(day), format="long", locale=locale_of(language))


def format_money(money: types_pb2.Money, language: str) -> str:
    """An amount with its currency as the language writes it ("$1.50", "1,50 US$");
    no currency code means US dollars."""
    amount = Decimal(money.amount or "0")
    currency = money.currency_code or DEFAULT_CURRENCY
    return format_currency(amount, currency, locale=locale_of(language))


def format_number(value: float | Decimal, language: str) -> str:
    """A number as the language writes it, with no more decimals than it has ("9.5",
    "9,5", "11")."""
    return format_decimal(value, locale=locale_of(language))


class Choice(NamedTuple):
    """The language a reply is written in and, when it is English only because the
    customer's language has no catalogue, a note saying so in plain words."""

    language: str
    note: str


def _complete(catalog: Catalog) -> bool:
    """True when the catalogue has messages and translates every one (no empty, no
    fuzzy translation)."""
    messages = [m for m in catalog if m.id]
    return bool(messages) and all(
        not m.fuzzy and (all(m.string) if isinstance(m.string, tuple) else bool(m.string))
        for m in messages
    )


class Catalogues:
    """The reply catalogues of one locales folder: which languages replies can be
    written in, and each language's wording, loaded once."""

    def __init__(self, directory: Path = LOCALES) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._catalogs: dict[str, Catalog] = {}
        self._wordings: dict[str, Wording] = {}
        self._languages: frozenset[str] | None = None

    def path(self, language: str) -> Path:
        """Where the language's catalogue is (whether or not it exists)."""
        return self.directory / language / "LC_MESSAGES" / f"{DOMAIN}.po"

    def present(self) -> list[str]:
        """The languages with a catalogue file, sorted."""
        return sorted(p.parents[1].name for p in self.directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))

    def catalog(self, language: str) -> Catalog:
        """The language's catalogue as parsed from its .po (read once)."""
        with self._lock:
            if language not in self._catalogs:
                with self.path(language).open("rb") as po:
                    self._catalogs[language] = read_po(po, locale=language, domain=DOMAIN)
            return self._catalogs[language]

    @property
    def languages(self) -> frozenset[str]:
        """The languages replies can be written in: English and every language whose
        catalogue is complete."""
        if self._languages is None:
            done = {lang for lang in self.present() if _complete(self.catalog(lang))}
            self._languages = frozenset({ENGLISH, *done})
        return self._languages

    def choose(self, language: str) -> Choice:
        """The reply language for a reading's language: the customer's when it has a
        catalogue, else English (with a note unless the language was not identified)."""
        code = primary_subtag(language)
        if code in self.languages:
            return Choice(code, "")
        if code in ("", UNDETERMINED):
            return Choice(ENGLISH, "")
        return Choice(
            ENGLISH,
            f"the customer wrote in {language_name(code)}; there are no reply"
            " templates in that language, so the reply is in English",
        )

    def translations(self, language: str) -> gettext.NullTranslations:
        """The language's translations (compiled in memory from its .po); English, or a
        language replies are not written in, gets the wording in the code."""
        return self.wording(language).translations

    def wording(self, language: str) -> Wording:
        """How replies are worded in the language, built once per language; a language
        replies are not written in gets the English wording."""
        code = primary_subtag(language)
        if code not in self.languages:
            code = ENGLISH
        with self._lock:
            known = self._wordings.get(code)
        if known is not None:
            return known
        translations = self._compile(code) if code != ENGLISH else gettext.NullTranslations()
        made = Wording(code, translations, _environment(code, translations))
        with self._lock:
            return self._wordings.setdefault(code, made)

    def _compile(self, language: str) -> Translations:
        mo = BytesIO()
        write_mo(mo, self.catalog(language))
        mo.seek(0)
        return Translations(mo, domain=DOMAIN)


def _environment(language: str, translations: gettext.NullTranslations) -> Environment:
    """The reply templates' Jinja2 environment for one language: plain text, every
    variable required, gettext installed (new style: `_("%(n)s days", n=2)` formats),
    and the `day` and `money` filters in the language's forms."""
    env = Environment(
        loader=PackageLoader("services.orchestrator", "templates"),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,  # plain-text e-mail, not HTML
        extensions=["jinja2.ext.i18n"],
    )
    # Added to the environment by jinja2.ext.i18n; not in Environment's type.
    cast(Any, env).install_gettext_translations(translations, newstyle=True)

    def day(value: date | Timestamp) -> str:
        return format_day(value, language)

    def money(value: types_pb2.Money) -> str:
        return format_money(value, language)

    env.filters["day"] = day
    env.filters["money"] = money
    return env


class Wording:
    """How a reply is worded in one language: gettext for wording in Python (mark it
    with `_ = wording.gettext` then `_("...")`, so `make messages` extracts it), the
    reply templates with the same translations installed, and dates and amounts in the
    language's forms."""

    def __init__(
        self, language: str, translations: gettext.NullTranslations, environment: Environment
    ) -> None:
        self.language = language
        self.translations = translations
        self.environment = environment

    def gettext(self, message: str) -> str:
        """The message in this language (the English message when not translated)."""
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The singular or plural message for `n`, by the language's plural rule."""
        return self.translations.ngettext(singular, plural, n)

    def template(self, name: str) -> Template:
        """A reply template (templates/<name>) rendering in this language."""
        return self.environment.get_template(name)

    def day(self, day: date | Timestamp) -> str:
        """A day as this language writes it (see `format_day`)."""
        return format_day(day, self.language)

    def money(self, money: types_pb2.Money) -> str:
        """An amount as this language writes it (see `format_money`)."""
        return format_money(money, self.language)

    def number(self, value: float | Decimal) -> str:
        """A size or a weight as this language writes it (see `format_number`)."""
        return format_number(value, self.language)


# The catalogues shipped with the orchestrator (services/orchestrator/locales).
CATALOGUES = Catalogues()


def reply_languages() -> frozenset[str]:
    """The languages replies can be written in (English and each complete catalogue)."""
    return CATALOGUES.languages


def choose(language: str) -> Choice:
    """The reply language for the reading's language, and the note when it is English
    for want of a catalogue (see `Catalogues.choose`)."""
    return CATALOGUES.choose(language)


def wording(language: str) -> Wording:
    """How replies are worded in the language (English when it has no catalogue)."""
    return CATALOGUES.wording(language)


def translations(language: str) -> gettext.NullTranslations:
    """The language's reply translations (none for English)."""
    return CATALOGUES.translations(language)


def environment(language: str) -> Environment:
    """The reply templates' Jinja2 environment for the language, built once."""
    return CATALOGUES.wording(language).environment
