"""Entry point of the product service: settings, pool, vocabulary, gRPC server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
from pydantic import Field

from crm.v1 import product_pb2, product_pb2_grpc
from services.common import encoder
from services.common.llm import LlmSettings, make_client
from services.common.runtime import database, serve_grpc, service_main
from services.common.server import Deferred, Servicer
from services.common.settings import ShopDaySettings
from services.product import store
from services.product.guard import MAX_LIMIT
from services.product.handler import ProductHandler
from services.product.llm import LlmProductReader
from services.product.meaning import Meaning
from services.product.search import DEFAULT_LIMIT
from services.product.vocabulary import Vocabulary

log = logging.getLogger(__name__)

SERVICE = "product"
SCHEMA = SERVICE  # the runtime's default: the schema bears the service's name
MIGRATIONS = Path(__file__).parent / "migrations"
FULL_NAME = product_pb2.DESCRIPTOR.services_by_name["ProductService"].full_name


class ProductSettings(ShopDaySettings, LlmSettings):
    """Environment of the product service."""

    grpc_port: int = Field(50052, description="gRPC port of the product service.")
    search_statement_timeout_ms: int = Field(
        2_000, gt=0, description="Longest a search's SQL statements may run, in milliseconds."
    )
    search_max_rows: int = Field(
        DEFAULT_LIMIT, gt=0, le=MAX_LIMIT, description="Most products one search returns."
    )

    encoder_threads: int = Field(
        1,
        ge=1,
        description="Threads of the encoder that reads needs the thesaurus does not know.",
    )
    vocabulary_refresh_seconds: float = Field(
        300.0,
        ge=0,
        description="How often the catalog's brands, names, colours and materials are re-read, "
        "so catalog changes are understood without a restart; 0 reads them only at start-up.",
    )


async def refresh_vocabulary(
    pool: asyncpg.Pool, vocabulary: Deferred[Vocabulary], every_seconds: float
) -> None:
    """Re-reads the vocabulary periodically; a failed read keeps the previous one."""
    while True:
        await asyncio.sleep(every_seconds)
        try:
            vocabulary.set(await store.load_vocabulary(pool))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            log.warning(
                "catalog vocabulary refresh failed; keeping the previous one", exc_info=True
            )


def _llm_reader(settings: ProductSettings) -> LlmProductReader | None:
    """The LLM tier when a key or endpoint is configured; tier 0 alone otherwise."""
    client = make_client(settings)
    return (
        None
        if client is None
        else LlmProductReader(
            client,
            settings.llm_model_product,
            settings.llm_model_match,
            settings.prices,
            settings.token_budget,
        )
    )


@contextlib.asynccontextmanager
async def _open_catalog(
    settings: ProductSettings, pool: Deferred[asyncpg.Pool], vocabulary: Deferred[Vocabulary]
) -> AsyncIterator[None]:
    """The pool and the catalog's vocabulary, re-read periodically while the service runs."""
    async with database(settings, service=SERVICE, migrations=MIGRATIONS) as db:
        pool.set(db)
        words = await store.load_vocabulary(db)
        vocabulary.set(words)
        log.info(
            "catalog vocabulary loaded",
            extra={
                "brands": len(words.brands),
                "product_names": len(words.product_names),
                "colors": len(words.colors),
                "materials": len(words.materials),
            },
        )
        refresher = (
            asyncio.create_task(
                refresh_vocabulary(db, vocabulary, settings.vocabulary_refresh_seconds)
            )
            if settings.vocabulary_refresh_seconds > 0
            else None
        )
        yield
        if refresher is not None:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher


async def serve(settings: ProductSettings) -> None:
    """Serves until SIGTERM; health is SERVING once the pool is open and the catalog's
    vocabulary is loaded."""
    pool: Deferred[asyncpg.Pool] = Deferred("database pool")
    vocabulary: Deferred[Vocabulary] = Deferred("catalog vocabulary")
    meaning = Meaning(await asyncio.to_thread(encoder.load, settings.encoder_threads))
    handler = ProductHandler(
        pool,
        vocabulary,
        settings.today,
        statement_timeout_ms=settings.search_statement_timeout_ms,
        max_rows=settings.search_max_rows,
        llm=_llm_reader(settings),
        meaning=meaning,
    )
    register = product_pb2_grpc.add_ProductServiceServicer_to_server
    await serve_grpc(
        settings,
        Servicer(handler, register, FULL_NAME),
        _open_catalog(settings, pool, vocabulary),
    )


def main() -> None:
    """`crm-product [serve|migrate]`."""
    service_main(SERVICE, ProductSettings, serve, migrations=MIGRATIONS)


if __name__ == "__main__":
    main()
