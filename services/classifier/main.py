"""Entry point of the classifier service: settings, the tier-0 model, the gRPC server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from openai import AsyncOpenAI
from pydantic import Field

from crm.v1 import classifier_pb2, classifier_pb2_grpc
from services.classifier import heads
from services.classifier.handler import ClassifierHandler, TriageTiers
from services.classifier.language import LanguageReader
from services.classifier.llm import LlmTriager
from services.classifier.triage import Triager
from services.common import encoder
from services.common.llm import LlmSettings, make_client
from services.common.runtime import serve_grpc, service_main
from services.common.server import Deferred, Servicer
from services.common.settings import ServiceSettings

SERVICE = "classifier"
FULL_NAME = classifier_pb2.DESCRIPTOR.services_by_name["ClassifierService"].full_name


class ClassifierSettings(ServiceSettings, LlmSettings):
    """Environment of the classifier service."""

    grpc_port: int = Field(50051, description="gRPC port of the classifier service.")
    encoder_threads: int = Field(
        1,
        description="Threads of the tier-0 encoder per e-mail. 1 gives the most e-mails per "
        "core; more lowers one e-mail's latency on an idle machine.",
    )


@contextlib.asynccontextmanager
async def _load_tiers(
    settings: ClassifierSettings, client: AsyncOpenAI | None, tiers: Deferred[TriageTiers]
) -> AsyncIterator[None]:
    """Tier 0 loaded off the event loop, and the LLM tier when a client is configured;
    the client is closed when the service stops."""
    local = await asyncio.to_thread(load_tier0, settings.encoder_threads)
    llm = (
        LlmTriager(
            client, settings.llm_model_classify, local, settings.prices, settings.token_budget
        )
        if client is not None
        else None
    )
    tiers.set(TriageTiers(local, llm))
    yield
    if client is not None:
        await client.close()


async def serve(settings: ClassifierSettings) -> None:
    """Serves until SIGTERM; NOT_SERVING until the tier-0 model is loaded."""
    tiers: Deferred[TriageTiers] = Deferred("tier-0 encoder and heads")
    client = make_client(settings)
    register = classifier_pb2_grpc.add_ClassifierServiceServicer_to_server
    await serve_grpc(
        settings,
        Servicer(ClassifierHandler(tiers), register, FULL_NAME),
        _load_tiers(settings, client, tiers),
        llm_tier=settings.llm_enabled,
    )


def load_tier0(threads: int = 1) -> Triager:
    """Tier 0: the pinned encoder, the trained heads and the language identifier."""
    return Triager(encoder.load(threads), heads.load(), LanguageReader())


def main() -> None:
    """`crm-classifier`."""
    service_main(SERVICE, ClassifierSettings, serve)


if __name__ == "__main__":
    main()
