"""Entry point of the delivery service: settings, pool, gRPC server."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from pydantic import Field

from crm.v1 import delivery_pb2, delivery_pb2_grpc
from services.common.runtime import database, serve_grpc, service_main
from services.common.server import Deferred, Servicer
from services.common.settings import ShopDaySettings
from services.delivery.handler import DeliveryHandler
from services.delivery.store import LedgerReader, PostgresLedger

SERVICE = "delivery"
MIGRATIONS = Path(__file__).parent / "migrations"
FULL_NAME = delivery_pb2.DESCRIPTOR.services_by_name["DeliveryService"].full_name


class DeliverySettings(ShopDaySettings):
    """Environment of the delivery service."""

    grpc_port: int = Field(50053, description="gRPC port of the delivery service.")


@contextlib.asynccontextmanager
async def _open_ledger(
    settings: DeliverySettings, ledger: Deferred[LedgerReader]
) -> AsyncIterator[None]:
    """The ledger on the service's pool, while the pool is open."""
    async with database(settings, service=SERVICE, migrations=MIGRATIONS) as db:
        ledger.set(PostgresLedger(db))
        yield


async def serve(settings: DeliverySettings) -> None:
    """Serves until SIGTERM; health is SERVING only while the pool is open."""
    ledger: Deferred[LedgerReader] = Deferred("database pool")
    handler = DeliveryHandler(ledger, settings.today)
    register = delivery_pb2_grpc.add_DeliveryServiceServicer_to_server
    await serve_grpc(
        settings,
        Servicer(handler, register, FULL_NAME),
        _open_ledger(settings, ledger),
        shop_today=str(settings.shop_today),
    )


def main() -> None:
    """`crm-delivery [serve|migrate]`."""
    service_main(SERVICE, DeliverySettings, serve, migrations=MIGRATIONS)


if __name__ == "__main__":
    main()
