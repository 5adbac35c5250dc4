"""Entry point of the memory service: settings, pool, gRPC server."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import asyncpg
from pydantic import Field

from crm.v1 import memory_pb2, memory_pb2_grpc
from services.common.llm import LlmSettings, make_client
from services.common.model_calls import count_tokens
from services.common.runtime import database, service_main
from services.common.server import (
    Deferred,
    Servicer,
    create_server,
    shut_down,
    wait_for_stop_signal,
)
from services.common.settings import DatabaseSettings
from services.memory.context import DEFAULT_TOKEN_BUDGET
from services.memory.handler import MemoryHandler
from services.memory.model_summaries import ModelSummariser

log = logging.getLogger(__name__)

SERVICE = "memory"
SCHEMA = "memory"
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


async def serve(settings: MemorySettings) -> None:
    """Serves until SIGTERM; health is SERVING only while the pool is open."""
    pool: Deferred[asyncpg.Pool] = Deferred("database pool")
    server = await create_server(
        settings.grpc_address,
        [
            Servicer(
                MemoryHandler(pool, settings.memory_context_tokens, _summariser(settings)),
                memory_pb2_grpc.add_MemoryServiceServicer_to_server,
                FULL_NAME,
            )
        ],
        tls=settings.server_tls,
        health_address=settings.grpc_health_address,
    )
    log.info("listening", extra={"port": server.port})
    # Load the token tables now rather than on the first context request.
    await asyncio.to_thread(count_tokens, "warm up")
    async with database(settings, service=SERVICE, schema=SCHEMA, migrations=MIGRATIONS) as db:
        pool.set(db)
        await server.set_serving(True)
        log.info("serving")
        await wait_for_stop_signal()
        await shut_down(server, settings.shutdown_grace_seconds)


def main() -> None:
    """`crm-memory [serve|migrate]`."""
    service_main(SERVICE, MemorySettings, serve, schema=SCHEMA, migrations=MIGRATIONS)


if __name__ == "__main__":
    main()
