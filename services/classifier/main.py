"""Entry point of the classifier service: settings and the gRPC server (no database)."""

from __future__ import annotations

import logging

from pydantic import Field

from crm.v1 import classifier_pb2, classifier_pb2_grpc
from services.classifier.handler import ClassifierHandler
from services.common.runtime import service_main
from services.common.server import Servicer, create_server, shut_down, wait_for_stop_signal
from services.common.settings import ServiceSettings

log = logging.getLogger(__name__)

SERVICE = "classifier"
FULL_NAME = classifier_pb2.DESCRIPTOR.services_by_name["ClassifierService"].full_name


class ClassifierSettings(ServiceSettings):
    """Environment of the classifier service."""

    grpc_port: int = Field(50051, description="gRPC port of the classifier service.")


async def serve(settings: ClassifierSettings) -> None:
    """Serves until SIGTERM. Tier 0 needs nothing to load, so it is SERVING at once."""
    server = await create_server(
        settings.grpc_address,
        [
            Servicer(
                ClassifierHandler(),
                classifier_pb2_grpc.add_ClassifierServiceServicer_to_server,
                FULL_NAME,
            )
        ],
    )
    log.info("listening", extra={"port": server.port})
    await server.set_serving(True)
    await wait_for_stop_signal()
    await shut_down(server, settings.shutdown_grace_seconds)


def main() -> None:
    """`crm-classifier`."""
    service_main(SERVICE, ClassifierSettings, serve)


if __name__ == "__main__":
    main()
