"""A test of every reply (issue 19, part 7): each reply template rendered in each reply
language for each shape of facts (`reply_facts.py`), and checked for what a customer must
never read: a placeholder left unfilled, English left untranslated, a word said twice in a
row, an amount or a date of the facts missing or not written the language's way, and a
tracking or order number the facts do not hold."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Collection, Iterator
from decimal import Decimal
from typing import Any

import pytest
from babel.dates import format_date
from babel.numbers import format_currency
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from crm.v1 import delivery_pb2, product_pb2, types_pb2
from services.common.identifiers import find_order_numbers, find_tracking_numbers, normalise
from services.orchestrator import replies
from services.orchestrator.reply_language import CATALOGUES, ENGLISH, wording
from services.product import declines
from services.product.needs import FOOTWEAR_CONCEPTS
from tests.unit.orchestrator.reply_facts import Case, cases

LANGUAGES = ("en", "es", "de", "fr", "it", "pt", "nl", "pl")
CASES = cases()


def _render(case: Case, language: str) -> replies.Reply:
    reply: Callable[[Any, Any], replies.Reply] = getattr(replies, case.reply)
    return reply(case.answer, wording(language))


# --- what the facts say, as the reply must say it -------------------------------------


def _day(ts: Timestamp, language: str) -> str:
    return format_date(ts.ToDatetime().date(), format="long", locale=language)


def _money(m: types_pb2.Money, language: str) -> str:
    return format_currency(Decimal(m.amount), m.currency_code or "USD", locale=language)


def _usd(amount: str, language: str) -> str:
    return format_currency(Decimal(amount), "USD", locale=language)


def _stated(answer: Message, language: str) -> Iterator[str]:
    """Every amount and date of the facts the reply states, as Babel writes it in the
    language: what a customer reads must be each fact, in the language's own form."""
    if isinstance(answer, delivery_pb2.AssessDeliveriesResponse):
        for s in answer.shipments:
            if s.status == delivery_pb2.SHIPMENT_STATUS_CANCELLED:
                continue
            if s.status != delivery_pb2.SHIPMENT_STATUS_DELIVERED or s.days_late > 0:
                yield _day(s.expected_start_time, language)
                yield _day(s.expected_end_time, language)
            if s.HasField("delivered_time"):
                yield _day(s.delivered_time, language)
            if s.days_late > 0:
                for r in s.fee_refunds:
                    yield _money(r.amount, language)
                    done = r.status == "completed" and r.HasField("complete_time")
                    yield _day(r.complete_time if done else r.request_time, language)
                if not s.fee_refunds and s.HasField("fee_refunded"):
                    yield _money(s.fee_refunded, language)
        for a in answer.actions:
            if a.HasField("amount"):
                yield _money(a.amount, language)
    elif isinstance(answer, delivery_pb2.AssessBillingResponse):
        for o in answer.orders:
            for c in o.charges:
                yield _money(c.amount, language)
                yield _day(c.charge_time, language)
            for r in o.refunds:
                yield _money(r.amount, language)
                if r.status == "completed":
                    yield _day(r.complete_time, language)
                elif r.status == "pending":
                    yield _day(r.request_time, language)
            if not o.charges:  # a billing dispute: what it owes, was charged, is refunded
                yield _money(o.owed, language)
                yield _money(o.charged, language)
                yield _money(o.overcharge, language)
                if Decimal(o.refunded.amount or "0") > 0:
                    yield _money(o.refunded, language)
    elif isinstance(answer, delivery_pb2.AssessComplaintResponse):
        for i in answer.items:
            yield _day(i.delivered_time, language)
        for a in answer.actions:
            if a.resolution == "refund":
                yield _money(a.amount, language)
    elif isinstance(answer, product_pb2.MatchProductsResponse) and answer.answerable:
        for p in [*answer.matches[: replies.MAX_PRODUCTS_LISTED], *answer.alternatives[:3]]:
            yield _usd(p.product.price, language)
            if p.status == product_pb2.AVAILABILITY_STATUS_INCOMING and p.incoming:
                yield _day(p.incoming[0].expected_time, language)
        for price in (answer.constraints.price_min, answer.constraints.price_max):
            if price:
                yield _usd(price, language)


def _identifiers(answer: Message) -> tuple[set[str], set[int]]:
    """The tracking and order numbers the facts hold (any field of the answer)."""
    text = str(answer)
    tracking = {normalise(t) for t in re.findall(r'"([A-Z0-9]{8,})"', text)}
    orders = {int(n) for n in re.findall(r"\b(\d{3,10})\b", text)}
    return tracking, orders


# --- the checks --------------------------------------------------------------------------

# A placeholder of Python (%(name)s, %s, %d) or Jinja2 left in the text, or a brace of any.
_UNFILLED = re.compile(r"%\(|%[sd]\b|\{|\}")


def _repeated_adjacent_words(text: str) -> list[str]:
    """Words said twice in a row within a sentence, case and punctuation ignored
    ("running, running"; not "...this order. Order 1999: ..."). Numbers are not words:
    two equal numbers in a row are not reported, and a number stands between the words
    around it ("de 18 de enero")."""
    repeated = []
    for sentence in re.split(r"(?<=[.?!:;])\s+|\n+", text):
        words = [w.strip(',.;:!?()"«»¿¡\u2013-').lower() for w in sentence.split()]
        repeated += [
            a for a, b in itertools.pairwise(words) if a and a == b and not re.search(r"\d", a)
        ]
    return repeated


# Words that are names, not wording: they may stand in any language's reply as in English.
_NAMES = re.compile(
    r"\b(?:FedEx|UPS|USPS|DHL|Nike|Adidas|Brooks|Merrell|Hoka|Saucony|Asics|Pegasus|Air|Max"
    r"|Ultraboost|Ghost|Moab|Clifton|Ride|Gel-Kayano|SQL|US|kg)\b"
)


# Fact fields whose words a reply quotes as their source writes them (the carrier's reason,
# the ledger's refund reason, the catalog's colour and material), like names.
_QUOTED_FIELDS = ("delay_reason", "reason", "color", "material")


def _quoted(message: Message) -> set[str]:
    """The quoted words among the facts, at any depth of `message`."""
    found: set[str] = set()
    for field, value in message.ListFields():
        values = value if field.is_repeated else [value]
        for v in values:
            if isinstance(v, Message):
                found |= _quoted(v)
            elif field.name in _QUOTED_FIELDS and isinstance(v, str) and v:
                found.add(v)
    return found


def _english_sentences(text: str, quoted: Collection[str] = ()) -> list[str]:
    """The English rendering's sentences (and list items and headings) that say something in
    words: with names, quoted fact words, numbers, amounts and dates taken out, at least two
    words remain ("Kind regards," and "Customer Support" too)."""
    pieces = re.split(r"(?<=[.?!:;])\s+|\n+|\s+\(|\)\s*", text)
    sentences = []
    for piece in pieces:
        piece = piece.strip(" -")
        words = piece
        for q in sorted(quoted, key=len, reverse=True):
            words = re.sub(re.escape(q), " ", words, flags=re.IGNORECASE)
        words = _NAMES.sub(" ", words)
        words = re.sub(r"[$]?[\d][\d.,/]*", " ", words)
        if len(re.findall(r"[A-Za-z]{2,}", words)) >= 2:
            sentences.append(piece)
    return sentences


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.reply}:{c.name}")
def test_every_reply_reads_right_in_every_language(case: Case, language: str) -> None:
    reply = _render(case, language)
    text = reply.text

    # No placeholder left unfilled.
    assert not _UNFILLED.search(text), text

    # No word said twice in a row.
    assert _repeated_adjacent_words(text) == [], text

    # Every amount and date of the facts, as the language writes it.
    missing = [x for x in _stated(case.answer, language) if x not in text]
    assert missing == [], (missing, text)

    # No tracking or order number the facts do not hold.
    tracking, orders = _identifiers(case.answer)
    assert set(find_tracking_numbers(text)) <= tracking, text
    assert set(find_order_numbers(text)) <= orders, text

    # The summary is for reviewers: English in every language.
    assert reply.summary == _render(case, ENGLISH).summary

    # Nothing left in English.
    if language != ENGLISH:
        english = _render(case, ENGLISH).text
        left = [s for s in _english_sentences(english, _quoted(case.answer)) if s in text]
        assert left == [], (left, text)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_is_a_reply_language(language: str) -> None:
    assert language in CATALOGUES.languages
    assert wording(language).language == language


def test_the_matrix_covers_every_fact_shape_the_issue_names() -> None:
    names = {f"{c.reply}:{c.name}" for c in CASES}
    for shape in (
        "delivery_reply:late delivered",
        "delivery_reply:late in transit",
        "delivery_reply:on time",
        "delivery_reply:delivered",
        "delivery_reply:not shipped yet",
        "delivery_reply:free shipping",
        "delivery_reply:already refunded",
        "delivery_reply:multiple parcels",
        "delivery_reply:unmatched numbers",
        "delivery_reply:address problem",
        "billing_reply:overcharge",
        "transaction_reply:charges and refunds",
        "complaint_reply:refund",
        "complaint_reply:replacement",
        "product_reply:matches",
        "product_reply:alternatives",
        "product_reply:no match",
        "product_reply:decline: injection",
    ):
        assert shape in names


# --- the wording that comes with the facts ------------------------------------------------


def test_every_decline_reason_of_the_product_service_is_translated() -> None:
    reasons = {
        declines.DECLINE_NOTHING_SPECIFIC,
        declines.DECLINE_WHOLE_CATALOG,
        declines.DECLINE_BEYOND_CATALOG,
        declines.DECLINE_INJECTION,
    }
    assert reasons == set(replies._DECLINES)


def test_a_decline_reason_the_shop_does_not_know_is_not_given_in_english_elsewhere() -> None:
    declined = product_pb2.MatchProductsResponse(
        answerable=False, decline_reason="the model found nothing to look up"
    )
    assert (
        "the model found nothing to look up" in replies.product_reply(declined, wording("en")).text
    )
    text = replies.product_reply(declined, wording("de")).text
    assert "the model found nothing to look up" not in text
    assert wording("de").gettext(replies._DECLINED) in text


def test_every_need_of_the_product_services_thesaurus_is_said_in_words() -> None:
    concepts = {c.replace("_", " ") for c in FOOTWEAR_CONCEPTS}
    kinds, degrees = set(replies._FOOTWEAR_KINDS), set(replies._DEGREES)
    assert concepts - kinds - degrees == set(replies._NEEDS)


def test_a_carriers_reason_the_shop_does_not_know_is_quoted_as_given() -> None:
    s = delivery_pb2.ShipmentAssessment(
        tracking_number="FDX486159753",
        order_id=1035,
        carrier="FedEx",
        status=delivery_pb2.SHIPMENT_STATUS_IN_TRANSIT,
        delay_reason="held at customs",
    )
    assert "held at customs" in replies.shipment_sentence(s, wording("fr"))
