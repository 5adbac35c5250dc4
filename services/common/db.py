"""One asyncpg pool per process, and the migration runner every service shares.

Migrations are plain SQL files named NNNN_what.sql in the service's migrations/ folder.
They run in order, once each, as the schema owner role, under an advisory lock so that
several replicas (or a Kubernetes Job and a replica) can start at the same time.

TLS to PostgreSQL is set in the DSN and passed through to asyncpg as it is, e.g.
`postgresql://orchestrator_app@db:5432/crm?sslmode=verify-full&sslrootcert=/etc/crm/pg/ca.crt`
(also `sslcert`/`sslkey` for client certificates); see docs/runbook.md.
"""

from __future__ import annotations

import logging
import ssl
import zlib
from pathlib import Path
from urllib.parse import urlparse

import asyncpg
from tenacity import retry, retry_if_exception, stop_after_delay, wait_exponential

log = logging.getLogger(__name__)

# Token in migration files replaced by the quoted runtime role name.
RUNTIME_ROLE_TOKEN = "{{runtime_role}}"
_CONNECT_ERRORS = (OSError, asyncpg.CannotConnectNowError, asyncpg.TooManyConnectionsError)


def retryable_connect_error(exc: BaseException) -> bool:
    """True for errors worth retrying while PostgreSQL starts or is unreachable; a server
    certificate that fails verification is a configuration error and fails at once."""
    return isinstance(exc, _CONNECT_ERRORS) and not isinstance(exc, ssl.SSLCertVerificationError)


def role_of(dsn: str) -> str:
    """The user name in a PostgreSQL DSN."""
    return urlparse(dsn).username or ""


async def connect(dsn: str, timeout_seconds: float) -> asyncpg.Connection:
    """Connects, retrying while the server is starting or unreachable."""

    @retry(
        retry=retry_if_exception(retryable_connect_error),
        wait=wait_exponential(multiplier=0.2, max=3),
        stop=stop_after_delay(timeout_seconds),
        reraise=True,
    )
    async def attempt() -> asyncpg.Connection:
        return await asyncpg.connect(dsn)

    return await attempt()


async def create_pool(
    dsn: str, *, schema: str, application: str, min_size: int, max_size: int, timeout_seconds: float
) -> asyncpg.Pool:
    """Opens the process's pool, retrying while PostgreSQL is not reachable yet."""

    @retry(
        retry=retry_if_exception(retryable_connect_error),
        wait=wait_exponential(multiplier=0.2, max=3),
        stop=stop_after_delay(timeout_seconds),
        reraise=True,
    )
    async def attempt() -> asyncpg.Pool:
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            server_settings={"search_path": schema, "application_name": application},
        )
        assert pool is not None
        return pool

    return await attempt()


def migration_files(folder: Path) -> list[Path]:
    """The migration files of a folder, in the order they apply."""
    return sorted(p for p in folder.glob("*.sql") if p.name[:4].isdigit())


async def apply_migrations(
    dsn: str, *, schema: str, folder: Path, runtime_role: str, timeout_seconds: float = 60.0
) -> list[str]:
    """Applies the pending migrations of one schema; returns the names applied now."""
    conn = await connect(dsn, timeout_seconds)
    applied_now: list[str] = []
    lock_key = zlib.crc32(f"migrations:{schema}".encode())
    quoted_role = '"' + runtime_role.replace('"', '""') + '"'
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", lock_key)
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{schema}".schema_migrations ('
            " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {
            r["version"]
            for r in await conn.fetch(f'SELECT version FROM "{schema}".schema_migrations')
        }
        for path in migration_files(folder):
            if path.name in done:
                continue
            sql = path.read_text().replace(RUNTIME_ROLE_TOKEN, quoted_role)
            async with conn.transaction():
                await conn.execute(f'SET LOCAL search_path TO "{schema}"')
                await conn.execute(sql)
                await conn.execute(
                    f'INSERT INTO "{schema}".schema_migrations (version) VALUES ($1)', path.name
                )
            applied_now.append(path.name)
            log.info("migration applied", extra={"schema": schema, "migration": path.name})
    finally:
        try:
            await conn.execute("SELECT pg_advisory_unlock($1)", lock_key)
        finally:
            await conn.close()
    return applied_now
