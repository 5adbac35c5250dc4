"""OpenTelemetry tracing across the mesh: one trace per e-mail, from the NATS event to the
draft.

gRPC calls are traced by the OpenTelemetry gRPC instrumentation (server and client), which
carries the trace context in call metadata. NATS messages carry it in their headers (W3C
`traceparent`), injected by whoever publishes (the CRM, `crmctl`, the orchestrator) and
extracted by the consumer. Spans are exported by OTLP/HTTP when
`OTEL_EXPORTER_OTLP_ENDPOINT` is set, and written as JSON lines to `TRACES_FILE` when that
is set (tests, local debugging). With neither, spans are still created (logs carry trace
ids) but not exported.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from opentelemetry import propagate, trace
from opentelemetry.instrumentation.grpc import (
    GrpcAioInstrumentorClient,
    GrpcAioInstrumentorServer,
    filters,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

# Span attribute names of our own, next to the OpenTelemetry semantic conventions.
JOB_ID = "crm.job_id"
CASE_ID = "crm.case_id"
CUSTOMER_ID = "crm.customer_id"
TOPIC = "crm.topic"
OUTCOME = "crm.outcome"
DELIVERY_ATTEMPT = "messaging.nats.delivery_attempt"

_configured = False
_langfuse: object | None = None


class JsonLinesSpanExporter(SpanExporter):
    """Appends each finished span as one JSON line to a file (several processes may share
    it: each line is written with one call under a lock)."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._out: IO[str] = path.open("a", encoding="utf-8")

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = "".join(s.to_json(indent=None) + "\n" for s in spans)
        with self._lock:
            self._out.write(lines)
            self._out.flush()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            self._out.close()


def tracing_wanted() -> bool:
    """True when spans go somewhere: OTLP, a traces file or Langfuse. Without any, the
    instrumentation is left off (it costs throughput and nobody would see the spans)."""
    return any(
        os.environ.get(name)
        for name in (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "TRACES_FILE",
            "LANGFUSE_PUBLIC_KEY",
        )
    )


def configure_tracing(service: str) -> None:
    """Sets up the process's tracer provider and the gRPC instrumentation when spans are
    exported anywhere; call once, before any gRPC server or channel is created."""
    global _configured
    if _configured or not tracing_wanted():
        return
    provider = TracerProvider(resource=Resource.create({"service.name": f"crm-{service}"}))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    ):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    traces_file = os.environ.get("TRACES_FILE", "")
    if traces_file:
        provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(Path(traces_file))))
    trace.set_tracer_provider(provider)
    if os.environ.get("LANGFUSE_PUBLIC_KEY") and os.environ.get("LANGFUSE_SECRET_KEY"):
        # Langfuse's SDK is OpenTelemetry-based: on our provider it exports the model-call
        # spans (GenAI attributes) as generations with model, tokens and cost.
        from langfuse import Langfuse

        global _langfuse
        _langfuse = Langfuse(tracer_provider=provider)
    # Health checks and reflection are probes and tooling, not work: no spans for them.
    probes = filters.any_of(filters.health_check(), filters.service_prefix("grpc.reflection"))
    GrpcAioInstrumentorServer(filter_=filters.negate(probes)).instrument()  # type: ignore[no-untyped-call]
    GrpcAioInstrumentorClient(filter_=filters.negate(probes)).instrument()  # type: ignore[no-untyped-call]
    _configured = True


def shutdown_tracing() -> None:
    """Flushes spans still buffered (on a graceful stop)."""
    flush = getattr(_langfuse, "flush", None)
    if callable(flush):
        flush()
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.shutdown()


def tracer(name: str) -> trace.Tracer:
    """The tracer of one module."""
    return trace.get_tracer(name)


def inject_headers(headers: dict[str, str]) -> dict[str, str]:
    """`headers` with the current trace context added (for a NATS publish)."""
    propagate.inject(headers)
    return headers


def context_from_headers(headers: Mapping[str, str] | None) -> object:
    """The trace context a NATS message carries (an empty one when it carries none)."""
    return propagate.extract(dict(headers or {}))


def current_trace_id() -> str:
    """The current trace id as 32 hex digits, or "" outside any span."""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else ""
