"""The LLM tier of reply writing against a local OpenAI-compatible server: a grounded
rephrasing is used, one that invents a fact is rejected, a failing model changes nothing,
replies reviewers approved are shown as examples, and a reply in another language is
written in it and checked with its amounts and dates in that language's forms."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date

import asyncpg
import openai
import pytest

from crm.v1 import events_pb2, types_pb2
from crmctl.events import publish_email
from services.common.model_calls import ModelCallRecord, TokenBudget
from services.orchestrator import decision_store as store
from services.orchestrator.examples import ApprovedExamples
from services.orchestrator.phrasing import LlmPhraser
from services.orchestrator.reply_language import format_day, format_money
from tests.conftest import Mesh
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.integration.test_email_to_draft import new_email

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


async def test_replies_reviewers_approved_for_the_topic_are_shown_as_examples(
    mesh: Mesh,
) -> None:
    email = new_email(4, "Late", "Where is my parcel FDX486159753? It is late.")
    await publish_email(mesh.js, email)
    _, draft = await mesh.outcomes.wait_for(email.job_id)
    assert isinstance(draft, events_pb2.DraftReady)
    approved = "Hi Thomas! Dreadfully sorry about FDX486159753. Warmly, the Shoe Team"
    decision = events_pb2.DraftDecided(
        decision_id=f"decision-{uuid.uuid4()}",
        job_id=draft.job_id,
        case_id=draft.case_id,
        customer_id=draft.customer_id,
        reviewer_id="reviewer-1",
        verdict=events_pb2.DECISION_VERDICT_APPROVE_EDITED,
        edited_reply=approved,
    )  # no action accepted: the ledger stays as it is
    await mesh.js.publish("crm.v1.draft.decided", decision.SerializeToString())
    pool = await asyncpg.create_pool(
        mesh.stack.runtime_dsn("orchestrator"), server_settings={"search_path": "orchestrator"}
    )
    fake = FakeOpenAI().start()
    try:
        for _ in range(200):
            stored = await store.get_decision(pool, decision.decision_id)
            if stored is not None and stored.state == "done":
                break
            await asyncio.sleep(0.05)
        client = openai.AsyncOpenAI(api_key="test", base_url=fake.base_url, max_retries=0)
        for count in (2, 0):
            fake.replies.append(Reply({"reply": DRAFT}))
            phraser = LlmPhraser(client, "fake-model", examples=ApprovedExamples(pool, count=count))
            await phraser.phrase(DRAFT, "where?", FACTS, topic="TOPIC_DELIVERY_DELAY")
    finally:
        fake.stop()
        await pool.close()
    with_examples, without = (json.dumps(r["messages"]) for r in fake.requests)
    assert "Dreadfully sorry" in with_examples and "<approved_examples>" in with_examples
    assert "Dreadfully sorry" not in without and "<approved_examples>" not in without


async def test_a_prompt_over_the_per_call_token_budget_is_not_sent() -> None:
    fake = FakeOpenAI().start()
    fake.replies.append(Reply({"reply": DRAFT}))
    try:
        client = openai.AsyncOpenAI(api_key="test", base_url=fake.base_url, max_retries=0)
        phraser = LlmPhraser(client, "fake-model", budget=TokenBudget(max_input_tokens=50))
        result = await phraser.phrase(DRAFT, "where is my parcel? " * 40, FACTS)
    finally:
        fake.stop()
    assert fake.requests == []
    assert (result.text, result.tier) == (DRAFT, "0")
    assert "per-call budget is 50" in result.fallback_reason


async def test_a_call_that_could_overrun_the_jobs_token_budget_is_not_sent() -> None:
    fake = FakeOpenAI().start()
    fake.replies.append(Reply({"reply": DRAFT}))
    try:
        client = openai.AsyncOpenAI(api_key="test", base_url=fake.base_url, max_retries=0)
        phraser = LlmPhraser(client, "fake-model")
        result = await phraser.phrase(DRAFT, "where?", FACTS, tokens_left=600)
        allowed = await phraser.phrase(DRAFT, "where?", FACTS, tokens_left=5_000)
    finally:
        fake.stop()
    assert len(fake.requests) == 1  # only the second call was made
    assert fake.requests[0]["max_completion_tokens"] == 1_000
    assert result.tier == "0" and "job's budget has 600 left" in result.fallback_reason
    assert allowed.tier == "llm"


# A Spanish draft as the templates render it: amounts and dates in Spanish forms (Babel).
REFUND = types_pb2.Money(amount="6.00", currency_code="USD")
SPANISH_DRAFT = (
    "Hola:\n\nNúmero de seguimiento FDX486159753 (FedEx, Nike Air Max): lleva 2 días de"
    f" retraso (la entrega estaba prevista entre el {format_day(date(2026, 1, 25), 'es')} y el"
    f" {format_day(date(2026, 1, 27), 'es')}). Cuando llegue, le reembolsaremos"
    f" {format_money(REFUND, 'es')}.\n\nSaludos cordiales,\nAtención al cliente"
)


async def _phrase_in_spanish(reply: str) -> tuple[str, str, str, str]:
    fake = FakeOpenAI().start()
    fake.replies.append(Reply({"reply": reply}))
    try:
        client = openai.AsyncOpenAI(
            api_key="test", base_url=fake.base_url, timeout=2, max_retries=0
        )
        result = await LlmPhraser(client, "fake-model").phrase(
            SPANISH_DRAFT, "¿dónde está mi paquete?", FACTS, ["Nike Air Max"], language="es"
        )
    finally:
        fake.stop()
    [request] = fake.requests
    return result.text, result.tier, result.fallback_reason, json.dumps(request["messages"])


async def test_a_spanish_rephrasing_with_the_facts_in_spanish_forms_is_used() -> None:
    better = (
        "¡Hola!\n\nSentimos mucho la espera: sus Nike Air Max (FDX486159753) llevan 2 días de"
        " retraso; el plazo terminó el 27 de enero. En cuanto lleguen, le devolveremos"
        " 6,00 US$.\n\nSaludos cordiales,\nAtención al cliente"
    )
    text, tier, reason, prompt = await _phrase_in_spanish(better)
    assert (text, tier, reason) == (better, "llm", "")
    assert "<reply_language>Spanish (es)</reply_language>" in prompt


async def test_a_spanish_rephrasing_with_an_invented_amount_and_date_is_rejected() -> None:
    invented = (
        "¡Hola! Le devolveremos 25,00 US$ el 3 de febrero de 2026 por FDX486159753."
        "\n\nSaludos cordiales,\nAtención al cliente"
    )
    text, tier, reason, _ = await _phrase_in_spanish(invented)
    assert (text, tier) == (SPANISH_DRAFT, "0")
    assert "amount 25.00" in reason and "date 3 febrero" in reason
