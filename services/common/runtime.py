"""What every service's entry point shares: the command line (serve | migrate), the gRPC
server's life (bound and NOT_SERVING while the service starts, SERVING until SIGTERM, then
the graceful stop) and the database start-up (migrations under the owner role, then the
runtime pool). An entry point says only what is particular to its service: its settings,
its servicer and what it starts before it serves."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from pydantic import ValidationError

from services.common.db import apply_migrations, create_pool, role_of
from services.common.logs import configure_logging
from services.common.metrics import serve_metrics
from services.common.server import (
    GrpcServer,
    Servicer,
    create_server,
    serve_until_stopped,
    shut_down,
)
from services.common.settings import DatabaseSettings, ServiceSettings
from services.common.tracing import configure_tracing, shutdown_tracing

log = logging.getLogger(__name__)

S = TypeVar("S", bound=ServiceSettings)


async def migrate(settings: DatabaseSettings, schema: str, folder: Path) -> list[str]:
    """Applies pending migrations as the schema owner; the same call serves a Kubernetes Job."""
    if not settings.migration_database_url:
        raise RuntimeError("MIGRATION_DATABASE_URL is not set")
    runtime_role = settings.db_runtime_role or role_of(settings.database_url)
    return await apply_migrations(
        settings.migration_database_url,
        schema=schema,
        folder=folder,
        runtime_role=runtime_role,
        timeout_seconds=settings.db_connect_timeout_seconds,
    )


@contextlib.asynccontextmanager
async def database(
    settings: DatabaseSettings, *, service: str, migrations: Path, schema: str | None = None
) -> AsyncIterator[asyncpg.Pool]:
    """Migrates (when configured), then opens the process's one pool as the runtime role;
    the schema bears the service's name unless `schema` says otherwise."""
    schema = schema or service
    if settings.migrate_on_start and settings.migration_database_url:
        applied = await migrate(settings, schema, migrations)
        log.info("migrations up to date", extra={"schema": schema, "applied": applied})
    pool = await create_pool(
        settings.database_url,
        schema=schema,
        application=service,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        timeout_seconds=settings.db_connect_timeout_seconds,
    )
    try:
        yield pool
    finally:
        await pool.close()


async def listen(settings: ServiceSettings, servicer: Servicer, **details: object) -> GrpcServer:
    """The service's gRPC server, bound on its port (TLS and health port as configured)
    and NOT_SERVING; logs the port with `details`."""
    server = await create_server(
        settings.grpc_address,
        [servicer],
        tls=settings.server_tls,
        health_address=settings.grpc_health_address,
    )
    log.info("listening", extra={"port": server.port, **details})
    return server


async def serve_grpc(
    settings: ServiceSettings,
    servicer: Servicer,
    started: AbstractAsyncContextManager[object] | None = None,
    **details: object,
) -> None:
    """Serves until SIGTERM: NOT_SERVING while `started` starts what the servicer needs
    (pool, model), SERVING once it has; on SIGTERM NOT_SERVING, the graceful stop of the
    calls in flight, and only then does `started` close what it opened."""
    server = await listen(settings, servicer, **details)
    async with started or contextlib.nullcontext():
        await serve_until_stopped(server)
        await shut_down(server, settings.shutdown_grace_seconds)


def service_main(
    service: str,
    settings_type: type[S],
    serve: Callable[[S], Coroutine[Any, Any, None]],
    *,
    schema: str | None = None,
    migrations: Path | None = None,
) -> None:
    """Runs `crm-<service> [serve|migrate]` with settings from the environment; the
    schema bears the service's name unless `schema` says otherwise."""
    parser = argparse.ArgumentParser(prog=f"crm-{service}", description=f"The {service} service.")
    commands = ["serve", "migrate"] if migrations else ["serve"]
    parser.add_argument("command", nargs="?", default="serve", choices=commands)
    args = parser.parse_args()
    try:
        settings = settings_type()
    except ValidationError as exc:
        print(f"crm-{service}: invalid configuration:\n{exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    configure_logging(service, settings.log_level)
    if args.command == "migrate":
        assert isinstance(settings, DatabaseSettings) and migrations
        schema = schema or service
        applied = asyncio.run(migrate(settings, schema, migrations))
        log.info("migrations applied", extra={"schema": schema, "applied": applied})
        return
    if settings.metrics_port is not None:
        port = serve_metrics(settings.metrics_port, settings.metrics_host)
        log.info("metrics endpoint listening", extra={"port": port})
    configure_tracing(service)
    try:
        asyncio.run(serve(settings))
    finally:
        shutdown_tracing()
