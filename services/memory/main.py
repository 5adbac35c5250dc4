"""Entry point of the memory service: settings, pool, gRPC server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
from pydantic import Field

from crm.v1 import memory_pb2, memory_pb2_grpc
from services.common.llm import LlmSettings, make_client
from services.common.model_calls import count_tokens
from services.common.runtime import database, serve_grpc, service_main
from services.common.server import Deferred, Servicer
from services.common.settings import DatabaseSettings
from services.memory.context import DEFAULT_TOKEN_BUDGET
from services.memory.handler import MemoryHandler
from services.memory.model_summaries import ModelSummariser

SERVICE = "memory"
MIGRATIONS = Path(__file__).parent / "migrations"
FULL_NAME = memory_pb2.DESCRIPTOR.services_by_name["MemoryService"].full_name


class MemorySettings(DatabaseSettings, LlmSettings):
    """Environment of the memory service."""

    grpc_port: int = Field(50054, description="gRPC port of the memory service.")
    memory_context_tokens: int = Field(
        DEFAULT_TOKEN_BUDGET,
        description="Default token budget of a case context's summaries (o200k_base tokens).",
    )


def _summariser(settings: MemorySettings) -> ModelSummariser | None:
    """The cheap model for summaries when the LLM tier is configured; tier 0 otherwise."""
    client = make_client(settings)
    if client is None:
        return None
    return ModelSummariser(
        client, settings.llm_model_summarise, settings.prices, budget=settings.token_budget
    )


@contextlib.asynccontextmanager
async def _warm_pool(settings: MemorySettings, pool: Deferred[asyncpg.Pool]) -> AsyncIterator[None]:
    """The token tables loaded (rather than on the first context request), then the pool."""
    await asyncio.to_thread(count_tokens, "warm up")
    async with database(settings, service=SERVICE, migrations=MIGRATIONS) as db:
        pool.set(db)
        yield


async def serve(settings: MemorySettings) -> None:
    """Serves until SIGTERM; health is SERVING only while the pool is open."""
    pool: Deferred[asyncpg.Pool] = Deferred("database pool")
    handler = MemoryHandler(pool, settings.memory_context_tokens, _summariser(settings))
    register = memory_pb2_grpc.add_MemoryServiceServicer_to_server
    await serve_grpc(settings, Servicer(handler, register, FULL_NAME), _warm_pool(settings, pool))


def main() -> None:
    """`crm-memory [serve|migrate]`."""
    service_main(SERVICE, MemorySettings, serve, migrations=MIGRATIONS)


if __name__ == "__main__":
    main()
