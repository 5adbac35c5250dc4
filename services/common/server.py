"""The gRPC server every service runs: health, reflection, call logging, graceful stop.

A service's entry point builds its servicers, calls `create_server`, starts its
dependencies (pools, migrations, models), flips health to SERVING, and waits for
SIGTERM (`serve_until_stopped`); then health says NOT_SERVING again before the graceful
stop (`shut_down`). services/common/runtime.py runs these steps from a service's settings.

Security in transit is configured by settings (services/common/tls.py): a server with a
certificate speaks TLS only (mutual TLS with a client CA), health and reflection included;
a channel with a CA bundle speaks TLS. An optional plaintext port serves only the health
service, for probes that cannot speak TLS.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import SERVICE_NAME as HEALTH_SERVICE_NAME
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection
from opentelemetry import trace

from crm.v1 import types_pb2
from services.common.context import METADATA_KEYS, outgoing_metadata
from services.common.errors import ServiceError
from services.common.metrics import GRPC_CALLS, GRPC_SECONDS
from services.common.tls import ClientTls, ServerTls, channel_credentials, server_credentials
from services.common.tracing import CUSTOMER_ID

log = logging.getLogger(__name__)

T = TypeVar("T")
Register = Callable[[Any, grpc.aio.Server], None]


@dataclass(frozen=True)
class Servicer:
    """A servicer with the generated function that registers it and its full name."""

    implementation: object
    register: Register
    full_name: str


class CallContextInterceptor(grpc.aio.ServerInterceptor):
    """Puts the caller's job/case/request ids into contextvars, logs each call, and turns
    ServiceError (or any unexpected exception) into a status with one ErrorInfo."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        method: str = handler_call_details.method
        invocation: Any = handler_call_details.invocation_metadata
        metadata = {k: v for k, v in (invocation or ()) if isinstance(v, str)}
        inner = handler.unary_unary
        quiet = method.startswith("/grpc.")

        async def logged(request: Any, context: Any) -> Any:
            tokens = [
                (var, var.set(metadata[key]))
                for key, var in METADATA_KEYS.items()
                if key in metadata
            ]
            span = trace.get_current_span()
            for key, var in METADATA_KEYS.items():
                if key in metadata:
                    span.set_attribute(f"crm.{var.name}", metadata[key])
            customer_id = getattr(request, "customer_id", None)
            if isinstance(customer_id, int) and customer_id:
                span.set_attribute(CUSTOMER_ID, customer_id)
            started = time.perf_counter()
            outcome = "OK"
            try:
                return await inner(request, context)
            except ServiceError as failure:
                outcome = failure.grpc_code.name
                await context.abort_with_status(failure.to_status())
            except asyncio.CancelledError:
                outcome = "CANCELLED"
                raise
            except Exception as exc:
                if context.code() not in (None, grpc.StatusCode.OK):
                    outcome = str(context.code())
                    raise  # the handler aborted on purpose
                outcome = "INTERNAL"
                log.exception("unhandled error", extra={"method": method})
                internal = ServiceError(
                    grpc.StatusCode.INTERNAL,
                    types_pb2.ERROR_CODE_INTERNAL,
                    f"internal error: {exc}",
                )
                await context.abort_with_status(internal.to_status())
            finally:
                elapsed = time.perf_counter() - started
                level = logging.DEBUG if quiet else logging.INFO
                log.log(
                    level,
                    "grpc call",
                    extra={
                        "method": method,
                        "code": outcome,
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
                if not quiet:
                    GRPC_CALLS.labels(method, outcome).inc()
                    GRPC_SECONDS.labels(method).observe(elapsed)
                for var, token in reversed(tokens):
                    var.reset(token)

        return grpc.unary_unary_rpc_method_handler(
            logged,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


@dataclass
class GrpcServer:
    """A started-but-not-yet-serving gRPC server and its health service."""

    server: grpc.aio.Server
    port: int
    health: health_aio.HealthServicer
    service_names: list[str] = field(default_factory=list)
    # The plaintext health-only listener (GRPC_HEALTH_PORT), when there is one.
    health_server: grpc.aio.Server | None = None
    health_port: int | None = None

    async def set_serving(self, serving: bool) -> None:
        """Sets overall health and every service's health to SERVING or NOT_SERVING."""
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ["", *self.service_names]:
            await self.health.set(name, status)


async def create_server(
    address: str,
    servicers: Sequence[Servicer],
    *,
    tls: ServerTls | None = None,
    health_address: str | None = None,
) -> GrpcServer:
    """Binds and starts a server with health (NOT_SERVING), reflection and the call
    interceptor: over TLS when `tls` is given (mutual TLS with a client CA), plaintext
    otherwise; plus, with `health_address`, a plaintext listener serving only health."""
    server = grpc.aio.server(
        interceptors=[CallContextInterceptor()],
        # Clients reconnect now and then, and so re-resolve DNS and find new replicas.
        options=[
            ("grpc.max_connection_age_ms", 300_000),
            ("grpc.max_connection_age_grace_ms", 30_000),
        ],
    )
    health = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    names = [s.full_name for s in servicers]
    for s in servicers:
        s.register(s.implementation, server)
    reflection.enable_server_reflection(
        [*names, HEALTH_SERVICE_NAME, reflection.SERVICE_NAME], server
    )
    if tls is None:
        port = server.add_insecure_port(address)
    else:
        port = server.add_secure_port(address, server_credentials(tls))
    if port == 0:
        raise RuntimeError(f"cannot bind gRPC server to {address}")
    health_server: grpc.aio.Server | None = None
    health_port: int | None = None
    if health_address is not None:
        # The same health servicer: both listeners say SERVING and NOT_SERVING together.
        health_server = grpc.aio.server()
        health_pb2_grpc.add_HealthServicer_to_server(health, health_server)
        health_port = health_server.add_insecure_port(health_address)
        if health_port == 0:
            raise RuntimeError(f"cannot bind the health listener to {health_address}")
    await server.start()
    if health_server is not None:
        await health_server.start()
    log.info(
        "gRPC transport",
        extra={
            "tls": tls is not None,
            "mutual_tls": tls is not None and tls.mutual,
            "health_port": health_port,
        },
    )
    grpc_server = GrpcServer(
        server=server,
        port=port,
        health=health,
        service_names=names,
        health_server=health_server,
        health_port=health_port,
    )
    await grpc_server.set_serving(False)
    return grpc_server


async def wait_for_stop_signal() -> None:
    """Returns when the process receives SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def serve_until_stopped(grpc_server: GrpcServer) -> None:
    """SERVING until SIGTERM or SIGINT, then NOT_SERVING for good (load balancers drain);
    the graceful stop that follows is `shut_down`'s."""
    await grpc_server.set_serving(True)
    log.info("serving")
    await wait_for_stop_signal()
    await grpc_server.health.enter_graceful_shutdown()


async def shut_down(grpc_server: GrpcServer, grace_seconds: float) -> None:
    """NOT_SERVING first so load balancers drain, then a graceful stop."""
    await grpc_server.health.enter_graceful_shutdown()
    await grpc_server.server.stop(grace_seconds)
    if grpc_server.health_server is not None:
        await grpc_server.health_server.stop(None)


class Deferred(Generic[T]):
    """A dependency that exists only once start-up has finished (a pool, a model).

    Handlers call `get()`; before the dependency is ready they answer UNAVAILABLE
    with reason NOT_READY instead of crashing.
    """

    def __init__(self, what: str) -> None:
        self._what = what
        self._value: T | None = None

    def set(self, value: T) -> None:
        """Makes the dependency available."""
        self._value = value

    def get(self) -> T:
        """The dependency, or a NOT_READY error while it is still starting."""
        if self._value is None:
            raise ServiceError(
                grpc.StatusCode.UNAVAILABLE,
                types_pb2.ERROR_CODE_NOT_READY,
                f"{self._what} is not ready yet",
            )
        return self._value


def found(value: T | None, message: str, **metadata: str) -> T:
    """What a handler looked up, or a NOT_FOUND error (with `metadata` in its ErrorInfo)
    when there is none."""
    if value is None:
        raise ServiceError(
            grpc.StatusCode.NOT_FOUND, types_pb2.ERROR_CODE_NOT_FOUND, message, metadata
        )
    return value


# Calls spread over every address the target resolves to (round robin: with
# dns:///<headless service>:<port>, every pod of a service); retries inside one call for
# brief blips (a pod restarting); longer outages are the orchestrator's business (it
# redelivers the job with backoff).
_SERVICE_CONFIG = """{
  "loadBalancingConfig": [{"round_robin": {}}],
  "methodConfig": [{
    "name": [{}],
    "retryPolicy": {
      "maxAttempts": 3,
      "initialBackoff": "0.1s",
      "maxBackoff": "1s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
}"""


class _OutgoingIdsInterceptor(grpc.aio.UnaryUnaryClientInterceptor):
    """Adds the current job/case/request ids to every outgoing call's metadata."""

    async def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        extra = outgoing_metadata()
        if extra:
            metadata = grpc.aio.Metadata(*(client_call_details.metadata or ()), *extra)
            client_call_details = grpc.aio.ClientCallDetails(
                client_call_details.method,
                client_call_details.timeout,
                metadata,
                client_call_details.credentials,
                client_call_details.wait_for_ready,
            )
        return await continuation(client_call_details, request)


def open_channel(target: str, tls: ClientTls | None = None) -> grpc.aio.Channel:
    """One channel per target per process, reused by every job: over TLS when `tls` is
    given (verifying the server against its CA, presenting a client certificate when it
    has one), plaintext otherwise."""
    options: list[tuple[str, Any]] = [
        ("grpc.service_config", _SERVICE_CONFIG),
        ("grpc.enable_retries", 1),
        ("grpc.keepalive_time_ms", 30_000),
        # Reconnect quickly after a dependency restarts.
        ("grpc.initial_reconnect_backoff_ms", 200),
        ("grpc.max_reconnect_backoff_ms", 2_000),
    ]
    interceptors = [_OutgoingIdsInterceptor()]
    if tls is None:
        return grpc.aio.insecure_channel(target, options=options, interceptors=interceptors)
    if tls.server_name:
        options.append(("grpc.ssl_target_name_override", tls.server_name))
    return grpc.aio.secure_channel(
        target, channel_credentials(tls), options=options, interceptors=interceptors
    )


def client_channel(target: str, tls: ClientTls | None) -> grpc.aio.Channel:
    """A bare channel for one-off calls by tools (crmctl): TLS when `tls` is given."""
    if tls is None:
        return grpc.aio.insecure_channel(target)
    options = [("grpc.ssl_target_name_override", tls.server_name)] if tls.server_name else None
    return grpc.aio.secure_channel(target, channel_credentials(tls), options=options)
