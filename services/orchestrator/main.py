"""Entry point of the orchestrator: pool, NATS connection, channels, consumer, gRPC server."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
from pathlib import Path

import asyncpg
from nats.aio.client import Client as NATS
from pydantic import Field

from crm.v1 import (
    classifier_pb2_grpc,
    delivery_pb2_grpc,
    memory_pb2_grpc,
    orchestrator_pb2,
    orchestrator_pb2_grpc,
    product_pb2_grpc,
)
from services.common.llm import LlmSettings, make_client
from services.common.nats_client import connect_nats
from services.common.runtime import database, listen, service_main
from services.common.server import (
    Deferred,
    Servicer,
    open_channel,
    serve_until_stopped,
    shut_down,
)
from services.common.settings import DatabaseSettings, GrpcClientSettings, NatsClientSettings
from services.orchestrator import console, jetstream, reviewers
from services.orchestrator.consumer import CustomerLimits, EmailConsumer
from services.orchestrator.decision_consumer import DecisionConsumer
from services.orchestrator.examples import ApprovedExamples
from services.orchestrator.handler import OrchestratorHandler
from services.orchestrator.intake import DEFAULT_MAX_BODY_CHARS
from services.orchestrator.phrasing import LlmPhraser
from services.orchestrator.pipeline import MeshClients
from services.orchestrator.retry import RetryPolicy

SERVICE = "orchestrator"
MIGRATIONS = Path(__file__).parent / "migrations"
FULL_NAME = orchestrator_pb2.DESCRIPTOR.services_by_name["OrchestratorService"].full_name


class OrchestratorSettings(DatabaseSettings, LlmSettings, NatsClientSettings, GrpcClientSettings):
    """Environment of the orchestrator (NATS authentication and TLS, and TLS to the
    services, come from NatsClientSettings and GrpcClientSettings)."""

    grpc_port: int = Field(50055, description="gRPC port of the orchestrator.")
    nats_url: str = Field("nats://127.0.0.1:4222", description="NATS server(s), comma-separated.")
    classifier_address: str = Field("127.0.0.1:50051", description="host:port of the classifier.")
    product_address: str = Field("127.0.0.1:50052", description="host:port of the product service.")
    delivery_address: str = Field(
        "127.0.0.1:50053", description="host:port of the delivery service."
    )
    memory_address: str = Field("127.0.0.1:50054", description="host:port of the memory service.")
    call_timeout_seconds: float = Field(5.0, description="Deadline of each call to a service.")
    retry_horizon_seconds: float = Field(
        300.0,
        description="How long a job waits for an unavailable service before it fails with "
        "DEPENDENCY_UNAVAILABLE, counted from the event's publication.",
    )
    retry_delays_seconds: tuple[float, ...] = Field(
        (1.0, 2.0, 5.0, 10.0, 20.0, 30.0),
        description="Redelivery delays while a service is unavailable (the last one repeats).",
    )
    concurrency: int = Field(32, description="Jobs handled at once by this replica.")
    max_body_chars: int = Field(
        DEFAULT_MAX_BODY_CHARS,
        description="Longest body (after quotes and HTML are removed) the agent takes on; "
        "longer e-mails go to manual handling before any model runs.",
    )
    ack_wait_seconds: float = Field(
        30.0, description="Redeliver an event not acknowledged within this time (crashed replica)."
    )
    max_deliver: int = Field(
        100, description="Deliveries of one event at most; the last one always yields an outcome."
    )
    max_ack_pending: int = Field(
        256, description="Unacknowledged events across all replicas (backpressure)."
    )
    duplicate_window_seconds: float = Field(
        600.0,
        description="JetStream de-duplicates events with the same Nats-Msg-Id within this window.",
    )
    llm_max_tokens_per_job: int = Field(
        20_000,
        description="Tokens all model calls of one job may use (classification, product, "
        "reply); a call that could go beyond is not made and tier 0 answers.",
    )
    llm_few_shot_examples: int = Field(
        3,
        description="LLM tier of reply writing: how many replies reviewers approved for the "
        "same topic are shown as examples (0: none).",
    )
    jetstream_replicas: int = Field(
        1, description="Copies of each stream in the NATS cluster (3 in production)."
    )
    rate_limit_per_customer: int = Field(
        20,
        description="E-mails of one customer the agent drafts for within the window; the "
        "rest go to a person (manual handling, RATE_LIMITED). 0 turns the limit off.",
    )
    rate_limit_window_seconds: float = Field(3600.0, description="The rate limit's window.")
    console_host: str = Field("0.0.0.0", description="Address the review console listens on.")
    console_port: int = Field(
        8080, description="HTTP port of the review console (0: any free port); -1 turns it off."
    )
    console_secure_cookies: bool = Field(
        False, description="Send the console's cookies over HTTPS only (set it behind TLS)."
    )
    console_session_hours: float = Field(12.0, description="How long a reviewer stays signed in.")

    def console_settings(self) -> console.ConsoleSettings:
        """The review console's settings."""
        return console.ConsoleSettings(
            host=self.console_host,
            port=self.console_port,
            secure_cookies=self.console_secure_cookies,
            session_hours=self.console_session_hours,
        )

    def consumer_limits(self) -> jetstream.ConsumerLimits:
        """The JetStream stream and consumer settings derived from this environment."""
        return jetstream.ConsumerLimits(
            ack_wait_seconds=self.ack_wait_seconds,
            max_deliver=self.max_deliver,
            max_ack_pending=self.max_ack_pending,
            duplicate_window_seconds=self.duplicate_window_seconds,
            replicas=self.jetstream_replicas,
        )


def _phraser(settings: OrchestratorSettings, pool: asyncpg.Pool) -> LlmPhraser | None:
    """The LLM tier of reply writing when a key or endpoint is configured, shown the
    latest approved replies of the topic as examples."""
    client = make_client(settings)
    if client is None:
        return None
    examples = ApprovedExamples(pool, settings.llm_few_shot_examples)
    return LlmPhraser(
        client,
        settings.llm_model_reply,
        settings.prices,
        budget=settings.token_budget,
        examples=examples,
    )


async def _connect_nats(settings: OrchestratorSettings) -> NATS:
    return await connect_nats(
        settings.nats_url,
        name=SERVICE,
        auth=settings,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=2,
    )


async def provision(settings: OrchestratorSettings) -> None:
    """Applies the streams and the consumer (also `crm-orchestrator provision`)."""
    nc = await _connect_nats(settings)
    try:
        await jetstream.provision(nc.jetstream(), settings.consumer_limits())
    finally:
        await nc.close()


async def serve(settings: OrchestratorSettings) -> None:
    """Serves until SIGTERM: NOT_SERVING until the pool, NATS and the consumer are ready.
    On SIGTERM, NOT_SERVING; the console and the consumers stop (in-flight jobs finish)
    before the gRPC server's graceful stop, and the connections close last."""
    pool: Deferred[asyncpg.Pool] = Deferred("database pool")
    register = orchestrator_pb2_grpc.add_OrchestratorServiceServicer_to_server
    server = await listen(settings, Servicer(OrchestratorHandler(pool), register, FULL_NAME))
    channels = {
        name: open_channel(address, settings.client_tls)
        for name, address in {
            "classifier": settings.classifier_address,
            "product": settings.product_address,
            "delivery": settings.delivery_address,
            "memory": settings.memory_address,
        }.items()
    }
    async with database(settings, service=SERVICE, migrations=MIGRATIONS) as db:
        pool.set(db)
        clients = MeshClients(
            classifier=classifier_pb2_grpc.ClassifierServiceStub(channels["classifier"]),
            product=product_pb2_grpc.ProductServiceStub(channels["product"]),
            delivery=delivery_pb2_grpc.DeliveryServiceStub(channels["delivery"]),
            memory=memory_pb2_grpc.MemoryServiceStub(channels["memory"]),
            timeout_seconds=settings.call_timeout_seconds,
            phraser=_phraser(settings, db),
            job_token_budget=settings.llm_max_tokens_per_job,
        )
        nc = await _connect_nats(settings)
        js = nc.jetstream()
        await jetstream.provision(js, settings.consumer_limits())
        consumer = EmailConsumer(
            js=js,
            pool=db,
            clients=clients,
            retry=RetryPolicy(
                horizon_seconds=settings.retry_horizon_seconds,
                delays_seconds=settings.retry_delays_seconds,
                max_deliver=settings.max_deliver,
            ),
            concurrency=settings.concurrency,
            max_body_chars=settings.max_body_chars,
            limits=CustomerLimits(
                settings.rate_limit_per_customer, settings.rate_limit_window_seconds
            ),
        )
        decisions = DecisionConsumer(
            js=js, pool=db, clients=clients, max_deliver=settings.max_deliver
        )
        stop = asyncio.Event()
        consuming = asyncio.create_task(consumer.run(stop))
        deciding = asyncio.create_task(decisions.run(stop))
        async with contextlib.AsyncExitStack() as web:
            if settings.console_port >= 0:
                await web.enter_async_context(console.serving(db, nc, settings.console_settings()))
            await serve_until_stopped(server)
        stop.set()
        await consuming  # in-flight jobs finish before the connections close
        await deciding
        await shut_down(server, settings.shutdown_grace_seconds)
        await nc.drain()
        for channel in channels.values():
            await channel.close()


def _add_reviewer_command(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="crm-orchestrator add-reviewer",
        description="Creates a reviewer of the review console (or resets its password). The "
        "password is read from REVIEWER_PASSWORD, or asked for.",
    )
    parser.add_argument("reviewer_id", help="sign-in name: lower-case letters, digits, . _ -")
    parser.add_argument("--name", default="", help="name shown in the console")
    args = parser.parse_args(argv)
    password = os.environ.get("REVIEWER_PASSWORD") or getpass.getpass("Password: ")
    try:
        reviewers.check_new_account(args.reviewer_id, password)
        asyncio.run(
            reviewers.save_account(
                OrchestratorSettings().database_url, args.reviewer_id, args.name, password
            )
        )
    except reviewers.InvalidReviewer as exc:
        raise SystemExit(f"crm-orchestrator add-reviewer: {exc}") from exc
    print(f"reviewer {args.reviewer_id} saved")


def main() -> None:
    """`crm-orchestrator [serve|migrate|provision|add-reviewer]`."""
    import sys

    if len(sys.argv) > 1 and sys.argv[1] == "provision":
        argparse.ArgumentParser(prog="crm-orchestrator provision").parse_args(sys.argv[2:])
        asyncio.run(provision(OrchestratorSettings()))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "add-reviewer":
        _add_reviewer_command(sys.argv[2:])
        return
    service_main(SERVICE, OrchestratorSettings, serve, migrations=MIGRATIONS)


if __name__ == "__main__":
    main()
