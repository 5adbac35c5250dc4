"""The LLM tier's configuration and client: any OpenAI-compatible endpoint, a model per task.

With neither an API key nor a base URL configured, the LLM tier is off and tier 0 answers.
"""

from __future__ import annotations

from openai import AsyncOpenAI
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.model_calls import Price, TokenBudget, prices_from


class LlmSettings(BaseSettings):
    """Model access, shared by every service that can use the LLM tier."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    llm_api_key: str = Field(
        "",
        validation_alias=AliasChoices("LLM_API_KEY", "OPENAI_API_KEY"),
        description="API key of the OpenAI-compatible endpoint (LLM_API_KEY or OPENAI_API_KEY).",
    )
    llm_base_url: str = Field(
        "", description="Base URL of any OpenAI-compatible endpoint; empty means OpenAI's."
    )
    llm_timeout_seconds: float = Field(
        8.0, description="Per-request timeout; on timeout or error tier 0 answers instead."
    )
    llm_max_retries: int = Field(1, description="Client retries before falling back to tier 0.")
    llm_model_classify: str = Field("gpt-4.1-mini", description="Model for triage.")
    llm_model_reply: str = Field(
        "gpt-4.1-mini", description="Model phrasing replies (grounded in the facts)."
    )
    llm_model_product: str = Field(
        "gpt-4.1-mini", description="Model writing catalog queries (text-to-SQL) for searches."
    )
    llm_model_match: str = Field(
        "gpt-4.1-mini", description="Model choosing the products that fit a need (matching)."
    )
    llm_model_summarise: str = Field(
        "gpt-4.1-nano", description="Cheap model summarising case messages for the memory."
    )
    llm_max_input_tokens: int = Field(
        8_000,
        description="Per model call: a prompt longer than this is not sent (tier 0 answers).",
    )
    llm_max_output_tokens: int = Field(1_000, description="Per model call: longest answer.")
    llm_prices: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description='Price table overrides, USD per million tokens, JSON: {"model": {"input": '
        '0.4, "cached_input": 0.1, "output": 1.6}}; merged over the built-in table.',
    )

    @property
    def prices(self) -> dict[str, Price]:
        """The price table: built-in list prices with LLM_PRICES applied."""
        return prices_from(self.llm_prices)

    @property
    def token_budget(self) -> TokenBudget:
        """The per-call token budget."""
        return TokenBudget(self.llm_max_input_tokens, self.llm_max_output_tokens)

    @property
    def llm_enabled(self) -> bool:
        """True when a key or an endpoint is configured."""
        return bool(self.llm_api_key or self.llm_base_url)


def make_client(settings: LlmSettings) -> AsyncOpenAI | None:
    """One client per process (it pools its HTTP connections), or None when the tier is off."""
    if not settings.llm_enabled:
        return None
    return AsyncOpenAI(
        api_key=settings.llm_api_key or "not-needed",  # local endpoints often need none
        base_url=settings.llm_base_url or None,
        timeout=settings.llm_timeout_seconds,
        max_retries=settings.llm_max_retries,
    )
