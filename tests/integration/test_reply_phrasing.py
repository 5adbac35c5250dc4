"""The LLM tier of reply writing against a local OpenAI-compatible server: a grounded
rephrasing is used, one that invents a fact is rejected, a failing model changes nothing."""

from __future__ import annotations

import openai
import pytest

from services.common.model_calls import ModelCallRecord
from services.orchestrator.phrasing import LlmPhraser
from tests.fakes.openai_server import FakeOpenAI, Reply

DRAFT = (
    "Hello,\n\nTracking number FDX486159753 (FedEx, Nike Air Max): it is 2 days past the "
    "promised window (January 25 to January 27). When it arrives, we will refund $6.00.\n\n"
    "Kind regards,\nCustomer Support"
)
FACTS = ["tracking_number: FDX486159753 days_late: 2 amount: 6.00"]

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _phrase(*replies: Reply) -> tuple[str, str, str]:
    fake = FakeOpenAI().start()
    fake.replies.extend(replies)
    try:
        client = openai.AsyncOpenAI(
            api_key="test", base_url=fake.base_url, timeout=2, max_retries=0
        )
        phraser = LlmPhraser(client, "fake-model")
        result = await phraser.phrase(DRAFT, "where is my parcel?", FACTS, ["Nike Air Max"])
        return result.text, result.tier, result.fallback_reason
    finally:
        fake.stop()


async def test_a_grounded_rephrasing_is_used() -> None:
    better = (
        "Hi there,\n\nSo sorry about the wait: your Nike Air Max (FDX486159753) is 2 days "
        "late; its window closed on January 27. Once it arrives we'll refund $6.00.\n\n"
        "Kind regards,\nCustomer Support"
    )
    text, tier, reason = await _phrase(Reply({"reply": better}))
    assert (text, tier, reason) == (better, "llm", "")


async def test_a_rephrasing_with_an_invented_amount_is_rejected_for_the_template() -> None:
    text, tier, reason = await _phrase(Reply({"reply": "We'll refund $25.00 today, promise!"}))
    assert (text, tier) == (DRAFT, "0")
    assert "amount 25.00" in reason


async def test_a_failing_model_leaves_the_template_reply() -> None:
    text, tier, reason = await _phrase(Reply(status=500))
    assert (text, tier) == (DRAFT, "0") and "failed" in reason


async def test_the_phrasing_call_is_recorded_with_its_tokens() -> None:
    fake = FakeOpenAI().start()
    fake.replies.append(Reply({"reply": DRAFT}))
    try:
        client = openai.AsyncOpenAI(api_key="test", base_url=fake.base_url, max_retries=0)
        calls: list[ModelCallRecord] = []
        await LlmPhraser(client, "gpt-4.1-mini").phrase(DRAFT, "where?", FACTS, [], calls)
    finally:
        fake.stop()
    assert [(c.task, c.model, c.succeeded) for c in calls] == [("reply", "gpt-4.1-mini", True)]
    assert calls[0].input_tokens > 0 and calls[0].cost_usd > 0
