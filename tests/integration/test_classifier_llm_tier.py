"""The classifier service with the LLM tier configured: the model answers, or tier 0 does."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest
import pytest_asyncio

from crm.v1 import classifier_pb2, types_pb2
from crmctl.stack import SERVICE_BY_NAME, ManagedProcess, free_port, wait_for_port
from tests.fakes.openai_server import FakeOpenAI, Reply

if TYPE_CHECKING:
    from crm.v1.classifier_pb2_grpc import ClassifierServiceAsyncStub as Stub
else:
    from crm.v1.classifier_pb2_grpc import ClassifierServiceStub as Stub

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def llm_classifier() -> AsyncIterator[tuple[Stub, FakeOpenAI]]:
    fake = FakeOpenAI().start()
    port = free_port()
    proc = ManagedProcess(
        "classifier-llm",
        SERVICE_BY_NAME["classifier"].command,
        Path(tempfile.mkdtemp()) / "classifier-llm.log",
        env={
            "GRPC_PORT": str(port),
            "LLM_BASE_URL": fake.base_url,
            "LLM_TIMEOUT_SECONDS": "1",
            "LLM_MAX_RETRIES": "0",
        },
    )
    proc.start()
    try:
        wait_for_port(port, 30, proc.process)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub: Stub = Stub(channel)
            await channel.channel_ready()
            yield stub, fake
    finally:
        proc.stop()
        fake.stop()


async def classify(stub: Stub, body: str) -> classifier_pb2.Classification:
    for _ in range(50):  # the service answers NOT_READY until its model is loaded
        try:
            reply = await stub.ClassifyEmail(
                classifier_pb2.ClassifyEmailRequest(job_id="j", customer_id=1, body=body)
            )
            return reply.classification
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.UNAVAILABLE:
                raise
            await asyncio.sleep(0.2)
    raise AssertionError("classifier never became ready")


async def test_service_answers_from_the_model_when_it_responds(
    llm_classifier: tuple[Stub, FakeOpenAI],
) -> None:
    stub, fake = llm_classifier
    fake.replies.append(
        Reply(
            {
                "topic": "transaction_inquiry",
                "urgency": "none",
                "urgency_reason": "",
                "requests": ["transaction_inquiry: refund status"],
                "reply_needed": True,
                "continues_open_request": False,
                "language": "en",
                "confidence": 0.8,
                "reasons": ["asks about refund status"],
            }
        )
    )
    c = await classify(stub, "Has my refund for order 1003 been processed yet?")
    assert c.tier == types_pb2.TIER_LLM and not c.fell_back
    assert c.topic == types_pb2.TOPIC_TRANSACTION_INQUIRY
    # Code, not the model, reads the identifiers: the same at every tier.
    assert list(c.identifiers.order_numbers) == ["1003"]
    assert c.urgency_level == types_pb2.URGENCY_LEVEL_NONE and c.language == "en"


async def test_service_falls_back_to_tier_0_and_says_so(
    llm_classifier: tuple[Stub, FakeOpenAI],
) -> None:
    stub, fake = llm_classifier
    fake.replies.append(Reply(status=503))
    c = await classify(stub, "Where is my parcel FDX486159753? It is late.")
    assert c.tier == types_pb2.TIER_LOCAL and c.fell_back
    assert c.topic == types_pb2.TOPIC_DELIVERY_DELAY
