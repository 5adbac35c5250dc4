"""The CloudNativePG Cluster's bootstrap is enough for the migration Jobs and the services.

On a real PostgreSQL (the embedded one the integration tests use), the rendered Cluster's
`postInitApplicationSQL` runs as the operator would run it (superuser, in the crm database
owned by the initdb owner), then every service's migrations run as its owner role exactly as
`crm-<service> migrate` does in its Job, and the runtime roles can do what the services
do and no more: the catalog's role only reads, no runtime role can create anything.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from crmctl.stack import (
    SERVICE_BY_NAME,
    SERVICES,
    free_port,
    postgres_process,
    role_names,
    wait_for_port,
)
from services.common.db import apply_migrations
from tests.deploy.test_manifests import get

DATABASE = "crm"
# A runtime role may not create: refused by privileges (or, for the catalog's read-only
# role, before that by its read-only transactions).
REFUSED = (asyncpg.InsufficientPrivilegeError, asyncpg.ReadOnlySQLTransactionError)


@pytest_asyncio.fixture(loop_scope="session")
async def server() -> AsyncIterator[str]:
    """A throw-away PostgreSQL; yields the superuser's DSN base (postgresql://host:port)."""
    state = Path(tempfile.mkdtemp(prefix="crm-cnpg-bootstrap-"))
    port = free_port()
    process, folders = postgres_process(state, port, durable=False)
    process.start()
    try:
        await asyncio.to_thread(wait_for_port, port, 60, process.process)
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres")
                break
            except (OSError, asyncpg.CannotConnectNowError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
        # What CloudNativePG's initdb does with `database: crm, owner: crm`.
        cluster = get("prod", "Cluster", "crm-db")
        initdb = cluster["spec"]["bootstrap"]["initdb"]
        await conn.execute(f'CREATE ROLE "{initdb["owner"]}" LOGIN')
        await conn.execute(f'CREATE DATABASE "{initdb["database"]}" OWNER "{initdb["owner"]}"')
        await conn.close()
        yield f"postgresql://{{role}}@127.0.0.1:{port}/{DATABASE}"
    finally:
        await asyncio.to_thread(process.stop)
        folders.discard()
        shutil.rmtree(state, ignore_errors=True)


async def test_bootstrap_then_migrations_as_the_jobs_run_them(server: str) -> None:
    cluster = get("prod", "Cluster", "crm-db")
    superuser = await asyncpg.connect(server.format(role="postgres"))
    try:
        for statement in cluster["spec"]["bootstrap"]["initdb"]["postInitApplicationSQL"]:
            await superuser.execute(statement)
    finally:
        await superuser.close()

    managed = {r["name"] for r in cluster["spec"]["managed"]["roles"]}
    for service in SERVICES:
        if not service.schema:
            continue
        owner, runtime = role_names(service.schema)
        assert {owner, runtime} <= managed
        applied = await apply_migrations(
            server.format(role=owner),
            schema=service.schema,
            folder=SERVICE_BY_NAME[service.name].migrations,
            runtime_role=runtime,
        )
        assert applied, f"{service.name}: no migration applied"

        app = await asyncpg.connect(
            server.format(role=runtime), server_settings={"search_path": service.schema}
        )
        try:
            for statement in (
                "CREATE TABLE intruder (id int)",
                "CREATE SCHEMA intruder",
                "CREATE TEMPORARY TABLE intruder (id int)",
            ):
                with pytest.raises(REFUSED):
                    await app.execute(statement)
            if service.name == "product":
                assert await app.fetchval("SELECT count(*) FROM products") == 0
                with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
                    await app.execute("DELETE FROM products")
        finally:
            await app.close()
