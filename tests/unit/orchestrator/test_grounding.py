"""The grounding check rejects any amount, date, number or product not in the facts, read
in the reply language's forms as well as in English ones."""

from __future__ import annotations

from datetime import date

import pytest

from crm.v1 import types_pb2
from services.orchestrator.grounding import check
from services.orchestrator.reply_language import format_day, format_money

FACTS = [
    "Tracking number FDX486159753 (FedEx, Nike Air Max): 2 days past the window "
    "(January 25 to January 27). When it arrives, we will refund $6.00 of the fee.",
]


def test_a_rephrasing_of_the_same_facts_is_grounded() -> None:
    reply = (
        "Sorry! Your Nike Air Max (FDX486159753) is two days late; its window closed on "
        "January 27. Once it arrives we'll refund $6.00 of your delivery fee."
    )
    assert check(reply, FACTS, ["Nike Air Max", "Adidas Ultraboost"]).grounded


def test_an_invented_amount_date_number_or_product_is_rejected() -> None:
    verdict = check(
        "We will refund $12.00 by February 3 for order 1099; try the Adidas Ultraboost.",
        FACTS,
        ["Nike Air Max", "Adidas Ultraboost"],
    )
    assert not verdict.grounded
    assert set(verdict.unsupported) == {
        "amount 12.00", "date february 3", "number 1099", "product Adidas Ultraboost",
    }  # fmt: skip


def test_another_tracking_number_is_rejected() -> None:
    assert not check("Parcel UPS987654321 is on its way.", FACTS).grounded


# --- replies in other languages: amounts and dates as the language writes them ----------

LANGUAGES = ("es", "de", "fr", "it", "pt", "nl", "pl")
FEE = types_pb2.Money(amount="1.50", currency_code="USD")
LARGE = types_pb2.Money(amount="1234.50", currency_code="USD")
WINDOW_END = date(2026, 1, 23)


def _draft(language: str) -> list[str]:
    """A tier-0 draft with its amounts and dates in the language's forms, and the facts."""
    return [
        f"FDX486159753: {format_day(WINDOW_END, language)}."
        f" {format_money(FEE, language)}; {format_money(LARGE, language)}.",
        'amount: "1.50" currency_code: "USD"',
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_languages_own_forms_of_the_facts_are_grounded(language: str) -> None:
    reply = (
        f"{format_money(LARGE, language)} + {format_money(FEE, language)}:"
        f" {format_day(WINDOW_END, language)} (FDX486159753)"
    )
    assert check(reply, _draft(language), language=language).grounded
    # Plain spaces for the no-break ones Babel writes, and English forms, read the same.
    assert check(" ".join(reply.split()), _draft(language), language=language).grounded
    assert check("$1.50, $1,234.50, January 23", _draft(language), language=language).grounded


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_invented_amount_or_date_in_the_languages_forms_is_rejected(language: str) -> None:
    reply = (
        f"{format_money(types_pb2.Money(amount='2.50', currency_code='USD'), language)},"
        f" {format_money(types_pb2.Money(amount='1234.00'), language)},"
        f" {format_day(date(2026, 2, 3), language)}"
    )
    verdict = check(reply, _draft(language), language=language)
    assert {u for u in verdict.unsupported if not u.startswith("date")} == {
        "amount 2.50",
        "amount 1234.00",
    }
    [invented_day] = [u for u in verdict.unsupported if u.startswith("date")]
    assert invented_day.startswith("date 3 ")
    # An English form of an amount not in the facts is read too.
    assert check("$1.75", _draft(language), language=language).unsupported == ("amount 1.75",)


def test_an_english_form_is_not_misread_in_the_languages_forms() -> None:
    # "$6.50" in a Spanish reply is six dollars fifty (not six, nor 650), and
    # "US$ 1.234,50" is 1234.50 (not 1.23 read the English way).
    facts = ["6,00 US$; US$ 1.234,50"]
    assert check("$6.50", facts, language="es").unsupported == ("amount 6.50",)
    assert check("US$ 1.234,50", facts, language="pt").grounded
    assert check("US$ 1.234,50", ["$1.23"], language="pt").unsupported == ("amount 1234.50",)


def test_an_unknown_language_reads_english_forms() -> None:
    assert check("We refund $6.00 on January 27.", FACTS, language="und").grounded
    assert check("We refund $6.00 on 27 January.", FACTS, language="xx").grounded
