"""Model calls: cost by the price table, offline token counts, and a stable prompt prefix."""

from __future__ import annotations

from decimal import Decimal

from crm.v1 import types_pb2
from services.common.model_calls import (
    DEFAULT_PRICES,
    Price,
    call_cost,
    count_message_tokens,
    count_tokens,
    prices_from,
    total_cost,
)


def test_cost_charges_cached_prompt_tokens_at_the_cached_price() -> None:
    price = Price(Decimal("0.40"), Decimal("0.10"), Decimal("1.60"))
    assert call_cost(price, 1_000_000, 0, 0) == Decimal("0.400000")
    assert call_cost(price, 1_000_000, 1_000_000, 0) == Decimal("0.100000")
    assert call_cost(price, 2_000, 1_000, 500) == Decimal("0.001300")
    assert call_cost(None, 5_000, 0, 5_000) == Decimal("0.000000")


def test_price_overrides_are_merged_over_the_built_in_table() -> None:
    table = prices_from({"my-model": {"input": 1, "output": 2}})
    assert table["my-model"] == Price(Decimal("1"), Decimal("1"), Decimal("2"))
    assert table["gpt-4.1-mini"] == DEFAULT_PRICES["gpt-4.1-mini"]


def test_the_draft_total_is_the_sum_of_its_calls() -> None:
    calls = [types_pb2.ModelCall(cost_usd="0.000120"), types_pb2.ModelCall(cost_usd="0.000300")]
    assert total_cost(calls) == "0.000420"
    assert total_cost([]) == "0.000000"


def test_tokens_are_counted_offline_with_the_o200k_encoding() -> None:
    # o200k_base: "Hello world" is two tokens, as tiktoken counts it.
    assert count_tokens("Hello world", "gpt-4.1-mini") == 2
    assert count_tokens("Hello world", "some-other-provider-model") == 2
    assert count_message_tokens([{"role": "user", "content": "Hello world"}]) == 2 + 3 + 3
