"""Connecting to NATS as the mesh's own clients do (the orchestrator, crmctl): the servers
from a comma-separated URL list, authentication and TLS from NatsClientSettings."""

from __future__ import annotations

from typing import Any

import nats
from nats.aio.client import Client as NATS

from services.common.settings import NatsClientSettings


async def connect_nats(
    servers: str, *, name: str, auth: NatsClientSettings | None = None, **options: Any
) -> NATS:
    """Connects with the authentication and TLS of `auth` (read from the environment when
    not given: NATS_USER / NATS_PASSWORD, NATS_TOKEN or NATS_CREDS, NATS_TLS_CA_FILE...)."""
    settings = auth if auth is not None else NatsClientSettings()
    return await nats.connect(
        servers=[s.strip() for s in servers.split(",") if s.strip()],
        name=name,
        **settings.nats_connect_options(),
        **options,
    )
