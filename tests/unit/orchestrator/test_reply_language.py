"""The reply language: chosen from the reading (the customer's when its catalogue is
complete, else English with a note), each catalogue loaded once, dates and amounts as
Babel writes them in the language, and the draft's reply with its English rendering."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from babel.dates import format_date
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po, write_po
from babel.numbers import format_currency
from google.protobuf.timestamp_pb2 import Timestamp
from jinja2 import UndefinedError

from crm.v1 import classifier_pb2, events_pb2, types_pb2
from services.orchestrator import reply_language
from services.orchestrator.pipeline import render_reply
from services.orchestrator.replies import Reply
from services.orchestrator.reply_language import (
    CATALOGUES,
    DOMAIN,
    ENGLISH,
    LOCALES,
    Catalogues,
    Choice,
    Wording,
    choose,
    format_day,
    format_money,
)
from services.orchestrator.workflows import Workflow

ROOT = Path(__file__).resolve().parents[3]
# The languages the issue asks replies for, besides English.
LANGUAGES = ("es", "de", "fr", "it", "pt", "nl", "pl")
DAY = date(2026, 1, 23)


def _po(directory: Path, language: str, messages: dict[str, str], fuzzy: bool = False) -> None:
    catalog = Catalog(locale=language, domain=DOMAIN)
    for msgid, msgstr in messages.items():
        catalog.add(msgid, msgstr, flags=("fuzzy",) if fuzzy else ())
    path = directory / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    path.parent.mkdir(parents=True)
    with path.open("wb") as out:
        write_po(out, catalog)


@pytest.fixture
def spanish(tmp_path: Path) -> Catalogues:
    """Catalogues with a complete Spanish one, an empty German one and a half-done Dutch one."""
    _po(tmp_path, "es", {"Hello": "Hola", "Kind regards": "Saludos cordiales"})
    _po(tmp_path, "de", {})
    catalog = Catalog(locale="nl", domain=DOMAIN)
    catalog.add("Hello", "Hallo")
    catalog.add("Kind regards", "")
    (tmp_path / "nl" / "LC_MESSAGES").mkdir(parents=True)
    with (tmp_path / "nl" / "LC_MESSAGES" / f"{DOMAIN}.po").open("wb") as out:
        write_po(out, catalog)
    return Catalogues(tmp_path)


# --- choosing the reply language ---------------------------------------------------------


def test_a_language_with_a_complete_catalogue_is_the_reply_language(spanish: Catalogues) -> None:
    assert spanish.languages == {"en", "es"}
    assert spanish.choose("es") == Choice("es", "")
    assert spanish.choose("ES") == spanish.choose("es-MX") == Choice("es", "")
    assert spanish.choose("en") == Choice("en", "")


def test_a_language_without_a_catalogue_gets_english_and_a_note(spanish: Catalogues) -> None:
    language, note = spanish.choose("sv")
    assert language == ENGLISH
    assert note == (
        "the customer wrote in Swedish (sv); there are no reply templates in that language,"
        " so the reply is in English"
    )
    assert spanish.choose("xx").note.startswith("the customer wrote in the language xx;")


def test_an_empty_or_partly_translated_catalogue_does_not_make_a_reply_language(
    spanish: Catalogues, tmp_path: Path
) -> None:
    # An empty catalogue (German) and one with a message left untranslated (Dutch) would
    # give a reply in English or in two languages: English, and the note says so.
    for code, name in (("de", "German (de)"), ("nl", "Dutch (nl)")):
        assert spanish.choose(code) == Choice(
            "en",
            f"the customer wrote in {name}; there are no reply templates in that language,"
            " so the reply is in English",
        )
    fuzzy = tmp_path / "fuzzy"
    _po(fuzzy, "it", {"Hello": "Ciao"}, fuzzy=True)
    assert Catalogues(fuzzy).languages == {"en"}


@pytest.mark.parametrize("language", ["und", "", "  "])
def test_a_language_the_reading_could_not_tell_is_english_without_a_note(
    spanish: Catalogues, language: str
) -> None:
    assert spanish.choose(language) == Choice("en", "")


def test_the_shipped_catalogues_each_give_their_language_or_english_with_a_note() -> None:
    assert set(LANGUAGES) <= set(CATALOGUES.present())
    assert ENGLISH in reply_language.reply_languages()
    for language in CATALOGUES.present():
        chosen = choose(language)
        if language in reply_language.reply_languages():
            assert chosen == Choice(language, "")
        else:
            assert chosen.language == ENGLISH and f"({language})" in chosen.note


# --- wording: translations and templates ---------------------------------------------------


def test_the_wording_translates_python_text_and_templates(spanish: Catalogues) -> None:
    words = spanish.wording("es")
    assert words.language == "es"
    assert words.gettext("Hello") == "Hola"
    assert words.gettext("Not in the catalogue") == "Not in the catalogue"
    template = words.environment.from_string(
        "{% trans %}Hello{% endtrans %}, {{ _('Kind regards') }}: {{ when | day }}, {{ fee | money }}"
    )
    rendered = template.render(when=DAY, fee=types_pb2.Money(amount="1.50", currency_code="USD"))
    assert rendered == (
        f"Hola, Saludos cordiales: {format_date(DAY, format='long', locale='es')},"
        f" {format_currency(Decimal('1.50'), 'USD', locale='es')}"
    )
    with pytest.raises(UndefinedError):
        words.environment.from_string("{{ missing }}").render()


def test_a_language_without_a_catalogue_is_worded_in_english(spanish: Catalogues) -> None:
    for language in ("sv", "de", "und", ""):
        words = spanish.wording(language)
        assert words is spanish.wording(ENGLISH)
        assert words.language == ENGLISH and words.gettext("Hello") == "Hello"


def test_plurals_follow_the_languages_rule(tmp_path: Path) -> None:
    catalog = Catalog(locale="pl", domain=DOMAIN)
    catalog.add(("%(n)d day", "%(n)d days"), ("%(n)d dzień", "%(n)d dni", "%(n)d dni"))
    catalog.add(("%(n)d pair", "%(n)d pairs"), ("%(n)d para", "%(n)d pary", "%(n)d par"))
    (tmp_path / "pl" / "LC_MESSAGES").mkdir(parents=True)
    with (tmp_path / "pl" / "LC_MESSAGES" / f"{DOMAIN}.po").open("wb") as out:
        write_po(out, catalog)
    words = Catalogues(tmp_path).wording("pl")
    pairs = [words.ngettext("%(n)d pair", "%(n)d pairs", n) % {"n": n} for n in (1, 3, 5)]
    assert pairs == ["1 para", "3 pary", "5 par"]
    template = words.environment.from_string("{{ ngettext('%(num)d day', '%(num)d days', n) }}")
    assert template.render(n=1) == "1 day"  # no such msgid: the English plural rule's text


def test_each_catalogue_is_read_and_compiled_once(
    spanish: Catalogues, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []
    real = read_po

    def counting(*args: Any, **kwargs: Any) -> Catalog:
        reads.append(kwargs["locale"])
        return real(*args, **kwargs)

    monkeypatch.setattr(reply_language, "read_po", counting)
    first = spanish.wording("es")
    for _ in range(3):
        assert spanish.wording("es") is first
        assert spanish.translations("es") is first.translations
        assert spanish.choose("es").language == "es"
    assert sorted(reads) == ["de", "es", "nl"]  # each present catalogue once, no more


def test_the_shipped_environments_are_built_once_per_language() -> None:
    assert reply_language.environment("es") is reply_language.environment("es")
    assert reply_language.wording("en") is reply_language.wording("und")


@pytest.mark.parametrize(
    "name", sorted(p.name for p in (ROOT / "services/orchestrator/templates").glob("*.txt.j2"))
)
def test_every_reply_template_compiles_with_the_i18n_extension(name: str) -> None:
    for language in (ENGLISH, *LANGUAGES):
        assert reply_language.wording(language).template(name) is not None


# --- dates and amounts -------------------------------------------------------------------


@pytest.mark.parametrize("language", [ENGLISH, *LANGUAGES])
def test_days_are_written_in_full_as_babel_writes_them(language: str) -> None:
    ts = Timestamp()
    ts.FromDatetime(datetime(2026, 1, 23, 22, 30, tzinfo=UTC))
    expected = format_date(DAY, format="long", locale=language)
    assert format_day(DAY, language) == expected
    assert format_day(ts, language) == expected  # a timestamp is its UTC day
    words = reply_language.wording(language)
    assert words.day(DAY) == format_date(DAY, format="long", locale=words.language)


@pytest.mark.parametrize("language", [ENGLISH, *LANGUAGES])
@pytest.mark.parametrize(
    ("amount", "currency"), [("1.5", "USD"), ("1234.50", "USD"), ("6.00", ""), ("20", "EUR")]
)
def test_amounts_are_written_as_babel_writes_them(
    language: str, amount: str, currency: str
) -> None:
    money = types_pb2.Money(amount=amount, currency_code=currency)
    expected = format_currency(Decimal(amount), currency or "USD", locale=language)
    assert format_money(money, language) == expected


@pytest.mark.parametrize("language", ["und", "", "xx", "not a language"])
def test_an_unknown_language_is_formatted_in_english(language: str) -> None:
    assert format_day(DAY, language) == format_date(DAY, format="long", locale="en")
    assert format_money(types_pb2.Money(amount="1.50"), language) == "$1.50"


# --- the catalogue files -----------------------------------------------------------------


def _msgids(catalog: Catalog) -> set[Any]:
    return {m.id for m in catalog if m.id}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalogue_parses_with_its_language_and_plural_rule(language: str) -> None:
    path = LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as po:
        catalog = read_po(po, domain=DOMAIN)
    assert str(catalog.locale) == language
    assert catalog.charset == "utf-8"
    # The header's plural rule is CLDR's for the language (ngettext depends on it).
    assert catalog.plural_forms == Catalog(locale=language).plural_forms
    with (LOCALES / f"{DOMAIN}.pot").open("rb") as pot:
        template = read_po(pot)
    # `make messages` merged the template into it: every message to translate is there.
    assert _msgids(template) <= _msgids(catalog)


def test_the_template_catalogue_holds_what_the_replies_mark_for_translation(
    tmp_path: Path,
) -> None:
    """Marked wording not in locales/replies.pot means `make messages` was not run."""
    out = tmp_path / "replies.pot"
    # The extraction `make messages` runs (pybabel extract), in process.
    status = CommandLineInterface().run(  # type: ignore[no-untyped-call]
        [
            "pybabel",
            "--quiet",
            "extract",
            "--mapping-file",
            str(ROOT / "babel.cfg"),
            "--output-file",
            str(out),
            str(ROOT / "services/orchestrator"),
        ]
    )
    assert not status
    with out.open("rb") as fresh, (LOCALES / f"{DOMAIN}.pot").open("rb") as kept:
        assert _msgids(read_po(fresh)) == _msgids(read_po(kept))


# --- the draft's reply, in its language and in English ----------------------------------


def _greeting(answer: str, words: Wording) -> Reply:
    _ = words.gettext
    return Reply(text=f"{_('Hello')} {answer}. {_('Kind regards')}", summary="Greeted.")


WORKFLOW: Workflow[Any] = Workflow(
    service="test",
    assess=lambda _q, _c: None,  # type: ignore[arg-type,return-value]
    join_facts=lambda _a, _d: None,
    reply=_greeting,
)


def _draft(language: str) -> events_pb2.DraftReady:
    return events_pb2.DraftReady(classification=classifier_pb2.Classification(language=language))


def test_a_reply_in_the_customers_language_carries_its_english_rendering(
    spanish: Catalogues,
) -> None:
    draft = _draft("es")
    reply = render_reply(WORKFLOW, "Ana", draft, spanish)
    assert reply.text == draft.reply == "Hola Ana. Saludos cordiales"
    assert draft.reply_language == "es" and draft.reply_language_note == ""
    assert draft.reply_in_english == "Hello Ana. Kind regards"
    assert draft.reply_summary == "Greeted." and draft.reply_tier == "0"


def test_an_english_reply_has_no_second_rendering(spanish: Catalogues) -> None:
    draft = _draft("en")
    render_reply(WORKFLOW, "Ann", draft, spanish)
    assert (draft.reply, draft.reply_language) == ("Hello Ann. Kind regards", "en")
    assert draft.reply_in_english == "" and draft.reply_language_note == ""


def test_a_reply_in_english_for_want_of_a_catalogue_says_why(spanish: Catalogues) -> None:
    draft = _draft("sv")
    render_reply(WORKFLOW, "Anna", draft, spanish)
    assert (draft.reply, draft.reply_language, draft.reply_in_english) == (
        "Hello Anna. Kind regards",
        "en",
        "",
    )
    assert "Swedish (sv)" in draft.reply_language_note
