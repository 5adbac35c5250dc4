"""Entry point of the delivery service: settings, pool, gRPC server."""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import Field

from crm.v1 import delivery_pb2, delivery_pb2_grpc
from services.common.runtime import database, service_main
from services.common.server import (
    Deferred,
    Servicer,
    create_server,
    shut_down,
    wait_for_stop_signal,
)
from services.common.settings import ShopDaySettings
from services.delivery.handler import DeliveryHandler
from services.delivery.store import LedgerReader, PostgresLedger

log = logging.getLogger(__name__)

SERVICE = "delivery"
SCHEMA = "delivery"
MIGRATIONS = Path(__file__).parent / "migrations"
FULL_NAME = delivery_pb2.DESCRIPTOR.services_by_name["DeliveryService"].full_name


class DeliverySettings(ShopDaySettings):
    """Environment of the delivery service."""

    grpc_port: int = Field(50053, description="gRPC port of the delivery service.")


async def serve(settings: DeliverySettings) -> None:
    """Serves until SIGTERM; health is SERVING only while the pool is open."""
    ledger: Deferred[LedgerReader] = Deferred("database pool")
    server = await create_server(
        settings.grpc_address,
        [
            Servicer(
                DeliveryHandler(ledger, settings.today),
                delivery_pb2_grpc.add_DeliveryServiceServicer_to_server,
                FULL_NAME,
            )
        ],
        tls=settings.server_tls,
        health_address=settings.grpc_health_address,
    )
    log.info("listening", extra={"port": server.port, "shop_today": str(settings.shop_today)})
    async with database(settings, service=SERVICE, schema=SCHEMA, migrations=MIGRATIONS) as db:
        ledger.set(PostgresLedger(db))
        await server.set_serving(True)
        log.info("serving")
        await wait_for_stop_signal()
        await shut_down(server, settings.shutdown_grace_seconds)


def main() -> None:
    """`crm-delivery [serve|migrate]`."""
    service_main(SERVICE, DeliverySettings, serve, schema=SCHEMA, migrations=MIGRATIONS)


if __name__ == "__main__":
    main()
