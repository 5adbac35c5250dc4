"""Tracking and order numbers found in customers' free text, however they typed them."""

from __future__ import annotations

import re

import pytest

from crm.v1 import types_pb2
from services.common import wordlists
from services.common.identifiers import (
    FORMATS,
    MAX_ORDER_NUMBERS,
    MAX_TRACKING_NUMBERS,
    Identifiers,
    TrackingFormat,
    _flexible,
    _formats,
    find_order_numbers,
    find_tracking_numbers,
    from_proto,
    is_tracking_number,
    known_order_numbers,
    known_tracking_numbers,
    mask_tracking_numbers,
    normalise,
    read_identifiers,
    to_proto,
)


@pytest.mark.parametrize(
    "number", ["FDX123456789", "UPS987654321", "USPS456789123", "DHL123456789"]
)
def test_shop_labels_of_every_carrier_are_found(number: str) -> None:
    assert find_tracking_numbers(f"Where is my parcel {number}? Thanks") == [number]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("fdx123456789", "FDX123456789"),
        ("FDX 123 456 789", "FDX123456789"),
        ("fdx-123-456-789", "FDX123456789"),
        ("Ups 987654321", "UPS987654321"),
        ("usps\u00a0456\u2013789\u2013123", "USPS456789123"),
        ("1z 999 aa1 01 2345 6784", "1Z999AA10123456784"),
    ],
)
def test_lower_case_spaces_and_dashes_inside_a_number_are_tolerated(
    typed: str, expected: str
) -> None:
    assert find_tracking_numbers(f"my tracking number is {typed}, please check") == [expected]


def test_several_numbers_are_found_in_order_of_appearance() -> None:
    text = "Two parcels: USPS456789123 arrived, but UPS159753486 and FDX111222333 did not."
    assert find_tracking_numbers(text) == ["USPS456789123", "UPS159753486", "FDX111222333"]


def test_the_same_number_written_twice_differently_is_reported_once_at_first_position() -> None:
    text = "FDX111222333 is late. Also UPS987654321. Again: fdx 111 222 333!"
    assert find_tracking_numbers(text) == ["FDX111222333", "UPS987654321"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("UPS: 1Z999AA10123456784", "1Z999AA10123456784"),
        ("international parcel EA123456789US", "EA123456789US"),
        ("usps 9400 1000 0000 0000 0000 00", "9400100000000000000000"),
        ("label 92001901755477000000", "92001901755477000000"),
        ("FedEx ground 9612019000000000000000", "9612019000000000000000"),
        ("DHL parcel JJD000390007682123456", "JJD000390007682123456"),
    ],
)
def test_public_carrier_formats_are_found_without_any_context(text: str, expected: str) -> None:
    assert find_tracking_numbers(text) == [expected]


def test_bare_twelve_digit_fedex_number_counts_after_a_carrier_word() -> None:
    assert find_tracking_numbers("FedEx tracking: 1234 5678 9012") == ["123456789012"]


def test_bare_digit_numbers_without_a_carrier_word_are_ignored() -> None:
    assert find_tracking_numbers("My reference is 123456789012 and 1234567890.") == []


def test_ten_digit_dhl_waybill_counts_only_after_dhl() -> None:
    assert find_tracking_numbers("DHL waybill 1234567890") == ["1234567890"]
    # A phone number after "FedEx" is still a phone number.
    assert find_tracking_numbers("The FedEx parcel never came, call 555-123-4567") == []


def test_phone_order_and_card_numbers_are_not_tracking_numbers() -> None:
    text = (
        "About the FedEx delivery of order 1001: call me on +1 555 123 4567 or 5551234567; "
        "I paid with card 4111 1111 1111 1111."
    )
    assert find_tracking_numbers(text) == []


def test_a_carrier_word_inside_another_word_gives_no_context() -> None:
    assert find_tracking_numbers("Our running groups meet at 123456789012") == []


def test_a_number_glued_to_other_letters_is_not_taken() -> None:
    assert find_tracking_numbers("ref XFDX123456789 / FDX1234567890") == []


def test_a_number_in_a_link_or_brackets_is_found() -> None:
    text = "see https://shop.example/track?id=FDX123456789 (UPS987654321)"
    assert find_tracking_numbers(text) == ["FDX123456789", "UPS987654321"]


def test_ordinary_english_is_not_mistaken_for_an_s10_number() -> None:
    assert find_tracking_numbers("it is 123456789 us dollars, so 123456789 us cents") == []


def test_text_without_numbers_yields_nothing() -> None:
    assert find_tracking_numbers("Hi, my shoes have not arrived yet. Can you help?") == []
    assert find_tracking_numbers("") == []


def test_at_most_the_cap_of_numbers_is_returned() -> None:
    text = " ".join(f"FDX{n:09d}" for n in range(MAX_TRACKING_NUMBERS + 5))
    found = find_tracking_numbers(text)
    assert len(found) == MAX_TRACKING_NUMBERS
    assert found[0] == "FDX000000000"


def test_normalise_removes_separators_and_upper_cases() -> None:
    assert normalise(" 1z-999 aa1 ") == "1Z999AA1"


def test_is_tracking_number_accepts_bare_formats_without_context() -> None:
    assert is_tracking_number("123456789012")
    assert is_tracking_number("fdx 123 456 789")
    assert not is_tracking_number("FDX12345")
    assert not is_tracking_number("hello")
    assert not is_tracking_number("")


def test_known_numbers_are_normalised_deduplicated_and_filtered() -> None:
    raw = ["fdx123456789", "FDX 123 456 789", "not a number", "", "UPS987654321"]
    assert known_tracking_numbers(raw) == ["FDX123456789", "UPS987654321"]


def test_order_numbers_are_read_only_where_a_word_or_hash_says_so() -> None:
    assert find_order_numbers("charged twice for order 1003 and Bestellung Nr. 1006") == [
        1003,
        1006,
    ]
    assert find_order_numbers("#1002 please") == [1002]
    assert find_order_numbers("I paid $129.99 on 2026-01-12, call 5551234") == []


@pytest.mark.parametrize(
    "text",
    [
        "Objednávka 1016. Můžete to zkontrolovat?",  # Czech
        "bileğimi incittim. Sipariş 1016.",  # Turkish
        "am fost taxat de două ori pentru comanda 1016",  # Romanian
        "Mitä teen? Tilaus 1016.",  # Finnish
        "trukket to ganger for ordre 1016",  # Danish, Norwegian
    ],
)
def test_order_words_case_memory_knew_are_read_too(text: str) -> None:
    assert find_order_numbers(text) == [1016]


def test_known_order_numbers_keep_only_digit_strings_without_repeats_up_to_the_cap() -> None:
    assert known_order_numbers(
        [" 1003", "1003", "#1004", "12", "\u0661\u0660\u0660\u0665", "", "1006"]
    ) == [1003, 1006]
    many = [str(1000 + n) for n in range(MAX_ORDER_NUMBERS + 5)]
    assert known_order_numbers(many) == [1000 + n for n in range(MAX_ORDER_NUMBERS)]


def test_identifiers_are_read_once_and_travel_as_the_proto_message() -> None:
    found = read_identifiers("Order #1004: parcel fdx486159753 and 1Z999AA10123456784 are late")
    assert found == Identifiers(["FDX486159753", "1Z999AA10123456784"], ["1004"])
    message = to_proto(found)
    assert message == types_pb2.Identifiers(
        tracking_numbers=["FDX486159753", "1Z999AA10123456784"], order_numbers=["1004"]
    )
    assert from_proto(message) == found
    assert read_identifiers("thanks, all good") == Identifiers()


def test_tracking_numbers_are_masked_for_reading_and_other_numbers_are_kept() -> None:
    text = "Parcel fdx-741-852-963 and UPS987654321 are late (order 1011, call 555-123-4567)."
    assert mask_tracking_numbers(text) == (
        "Parcel tracking number and tracking number are late (order 1011, call 555-123-4567)."
    )
    assert mask_tracking_numbers("no numbers here") == "no numbers here"


# --- data/tracking_formats.toml -----------------------------------------------------------

FORMAT_ENTRIES = wordlists.data("services.common", "tracking_formats")["format"]


def test_the_formats_are_those_of_the_data_file_in_its_order() -> None:
    assert [(f.name, f.carrier) for f in FORMATS] == [
        (e["name"], e["carrier"]) for e in FORMAT_ENTRIES
    ]
    assert all(entry["examples"] for entry in FORMAT_ENTRIES), "every format has an example"


@pytest.mark.parametrize(
    ("fmt", "entry"),
    [
        pytest.param(f, e, id=f"{f.carrier} {f.name}")
        for f, e in zip(FORMATS, FORMAT_ENTRIES, strict=True)
    ],
)
def test_each_format_finds_its_examples_and_no_counter_example(
    fmt: TrackingFormat, entry: dict[str, list[str]]
) -> None:
    whole = re.compile(fmt.pattern, re.IGNORECASE | re.ASCII)
    for example in entry["examples"]:
        found = find_tracking_numbers(example)
        assert found, f"{example!r}: nothing found"
        assert all(whole.fullmatch(n) for n in found), f"{example!r}: {found} not {fmt.name}"
    for counter in entry.get("counter_examples", []):
        assert find_tracking_numbers(counter) == [], counter


def test_a_spec_repeats_a_character_with_a_count() -> None:
    assert _flexible("DHL#{9}") == _flexible("DHL#########")
    assert _flexible("[CE]A#{2}") == _flexible("[CE]A##")


def test_a_format_with_an_unknown_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    entries = [dict(FORMAT_ENTRIES[0], digit_only=True)]
    monkeypatch.setattr(wordlists, "data", lambda package, name: {"format": entries})
    with pytest.raises(wordlists.WordTableError, match="digit_only"):
        _formats()
