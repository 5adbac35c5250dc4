"""What each language-model call used and cost, and token counts that work offline.

Every LLM-tier call goes through `ModelCaller.parse`, which records a `ModelCallRecord`
(task, model, tokens, cost by the price table, success) into the list the caller keeps
for its job, counts tokens and cost in Prometheus, and marks the call as an OpenTelemetry
span with the GenAI attributes (which Langfuse shows as a generation when its keys are
set). Prices are USD per million tokens; override them with `LLM_PRICES` (JSON).

Token counting before a call (`count_tokens`) uses the `bpe-openai` package, whose BPE
tables are compiled into it: no download at run time, unlike tiktoken. For OpenAI's
gpt-4o/4.1/5 families it is the same o200k_base encoding, so counts of a text are exact;
chat framing adds a few tokens per message, which `count_message_tokens` approximates
(3 per message plus 3, OpenAI's published rule). For other providers' models the count is
an o200k_base estimate.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

import openai
from opentelemetry import trace
from pydantic import BaseModel

from crm.v1 import types_pb2
from services.common.metrics import MODEL_COST, MODEL_OVER_BUDGET, MODEL_TOKENS

log = logging.getLogger(__name__)
_TRACER = trace.get_tracer(__name__)

T = TypeVar("T", bound=BaseModel)

_MILLION = Decimal(1_000_000)
_COST_PLACES = Decimal("0.000001")


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input: Decimal
    cached_input: Decimal
    output: Decimal


# List prices per million tokens (USD) of the models the settings name by default.
DEFAULT_PRICES: Mapping[str, Price] = {
    "gpt-4.1": Price(Decimal("2.00"), Decimal("0.50"), Decimal("8.00")),
    "gpt-4.1-mini": Price(Decimal("0.40"), Decimal("0.10"), Decimal("1.60")),
    "gpt-4.1-nano": Price(Decimal("0.10"), Decimal("0.025"), Decimal("0.40")),
    "gpt-4o": Price(Decimal("2.50"), Decimal("1.25"), Decimal("10.00")),
    "gpt-4o-mini": Price(Decimal("0.15"), Decimal("0.075"), Decimal("0.60")),
}


def prices_from(overrides: Mapping[str, Mapping[str, float | str]]) -> dict[str, Price]:
    """The default table with `overrides` ({"model": {"input": .., "cached_input": ..,
    "output": ..}}) applied."""
    table = dict(DEFAULT_PRICES)
    for model, p in overrides.items():
        table[model] = Price(
            Decimal(str(p["input"])),
            Decimal(str(p.get("cached_input", p["input"]))),
            Decimal(str(p["output"])),
        )
    return table


@dataclass(frozen=True)
class ModelCallRecord:
    """One model call: what it used and what it cost."""

    task: str
    model: str
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: Decimal = Decimal("0.000000")
    succeeded: bool = True

    def to_proto(self) -> types_pb2.ModelCall:
        """The record as the contract's ModelCall."""
        return types_pb2.ModelCall(
            task=self.task,
            model=self.model,
            input_tokens=self.input_tokens,
            cached_input_tokens=self.cached_input_tokens,
            output_tokens=self.output_tokens,
            cost_usd=str(self.cost_usd),
            succeeded=self.succeeded,
        )


def call_cost(price: Price | None, input_tokens: int, cached: int, output: int) -> Decimal:
    """The cost of one call; zero for a model missing from the price table."""
    if price is None:
        return Decimal("0.000000")
    uncached = max(0, input_tokens - cached)
    total = (
        uncached * price.input + cached * price.cached_input + output * price.output
    ) / _MILLION
    return total.quantize(_COST_PLACES)


def total_cost(calls: Sequence[types_pb2.ModelCall]) -> str:
    """The sum of the calls' costs, as the draft carries it."""
    return str(sum((Decimal(c.cost_usd or "0") for c in calls), Decimal("0.000000")))


@dataclass(frozen=True)
class TokenBudget:
    """Limits of one model call: a longer prompt is not sent (tier 0 answers), and the
    answer is cut at `max_output_tokens`."""

    max_input_tokens: int = 8_000
    max_output_tokens: int = 1_000


DEFAULT_BUDGET = TokenBudget()


class OverBudget(ValueError):
    """A model call not made because it would exceed its token budget."""


class ModelCaller:
    """Structured-output calls to an OpenAI-compatible model, each one recorded and each
    held to a token budget."""

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        prices: Mapping[str, Price],
        budget: TokenBudget = DEFAULT_BUDGET,
    ) -> None:
        self.client = client
        self.prices = prices
        self.budget = budget
        # Budgets count every prompt: load the token tables at start-up, not in the first
        # request (about half a second).
        count_tokens("warm up")

    async def parse(
        self,
        calls: list[ModelCallRecord],
        *,
        task: str,
        model: str,
        messages: list[dict[str, str]],
        response_format: type[T],
        temperature: float = 0.0,
        tokens_left: int | None = None,
    ) -> T | None:
        """The parsed answer (None when the model gave none); the call is appended to
        `calls` whether it succeeds or raises. Raises OverBudget, without calling, when the
        prompt is longer than the per-call budget allows, or when the prompt and the longest
        answer could exceed `tokens_left` (what the job's budget still allows)."""
        prompt_tokens = count_message_tokens(messages, model)
        if prompt_tokens > self.budget.max_input_tokens:
            MODEL_OVER_BUDGET.labels(task, "call").inc()
            raise OverBudget(
                f"the prompt has {prompt_tokens} tokens; the per-call budget is "
                f"{self.budget.max_input_tokens}"
            )
        if tokens_left is not None and prompt_tokens + self.budget.max_output_tokens > tokens_left:
            MODEL_OVER_BUDGET.labels(task, "job").inc()
            raise OverBudget(
                f"the call could use {prompt_tokens + self.budget.max_output_tokens} tokens; "
                f"the job's budget has {max(0, tokens_left)} left"
            )
        record = ModelCallRecord(task, model, succeeded=False)
        with _TRACER.start_as_current_span(
            f"chat {model}",
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": model,
                "crm.model_task": task,
            },
        ) as span:
            try:
                completion = await self.client.chat.completions.parse(
                    model=model,
                    messages=messages,  # type: ignore[arg-type]
                    response_format=response_format,
                    temperature=temperature,
                    max_completion_tokens=self.budget.max_output_tokens,
                )
                record = self._record(task, model, completion.usage, succeeded=True)
                return completion.choices[0].message.parsed
            finally:
                calls.append(record)
                span.set_attribute("gen_ai.usage.input_tokens", record.input_tokens)
                span.set_attribute("gen_ai.usage.output_tokens", record.output_tokens)
                span.set_attribute("crm.cost_usd", str(record.cost_usd))
                # Langfuse reads these as a generation with its usage and cost.
                span.set_attribute("langfuse.observation.type", "generation")
                span.set_attribute("langfuse.observation.model.name", model)
                span.set_attribute(
                    "langfuse.observation.usage_details",
                    json.dumps(
                        {
                            "input": record.input_tokens - record.cached_input_tokens,
                            "input_cached_tokens": record.cached_input_tokens,
                            "output": record.output_tokens,
                        }
                    ),
                )
                span.set_attribute(
                    "langfuse.observation.cost_details",
                    json.dumps({"total": float(record.cost_usd)}),
                )
                MODEL_TOKENS.labels(task, model, "input").inc(record.input_tokens)
                MODEL_TOKENS.labels(task, model, "cached_input").inc(record.cached_input_tokens)
                MODEL_TOKENS.labels(task, model, "output").inc(record.output_tokens)
                MODEL_COST.labels(task, model).inc(float(record.cost_usd))

    def _record(self, task: str, model: str, usage: Any, *, succeeded: bool) -> ModelCallRecord:
        if usage is None:
            return ModelCallRecord(task, model, succeeded=succeeded)
        prompt = int(usage.prompt_tokens or 0)
        details = getattr(usage, "prompt_tokens_details", None)
        cached = int(getattr(details, "cached_tokens", 0) or 0)
        output = int(usage.completion_tokens or 0)
        price = self.prices.get(model)
        return ModelCallRecord(
            task, model, prompt, cached, output, call_cost(price, prompt, cached, output), succeeded
        )


@cache
def _encoding(model: str) -> Any:
    # Imported on first use: loading the package takes about half a second.
    import bpe_openai  # type: ignore[import-untyped]

    try:
        return bpe_openai.encoding_for_model(model)
    except Exception:  # an unknown model: o200k_base is the closest general estimate
        return bpe_openai.get_encoding("o200k_base")


def count_tokens(text: str, model: str = "gpt-4.1-mini") -> int:
    """Tokens of `text` for `model`, offline."""
    return len(_encoding(model).encode(text))


def count_message_tokens(messages: Sequence[Mapping[str, str]], model: str = "gpt-4.1-mini") -> int:
    """Prompt tokens of a chat request: each message's content plus OpenAI's framing."""
    return sum(3 + count_tokens(m.get("content", ""), model) for m in messages) + 3
