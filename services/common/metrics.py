"""Prometheus metrics: what every service exports, and the orchestrator's job metrics.

Every service counts its gRPC calls by method and status code and times them; the
orchestrator adds e-mails by topic and outcome, time per stage of a job, the consumer's
backlog and the jobs that ran out of deliveries. `serve_metrics` exposes them over HTTP
(`METRICS_PORT`); the Kubernetes pods are scraped there.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Gauge, Histogram, start_http_server

# Call and stage times run from a millisecond (a cached lookup) to seconds (a model call).
_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

GRPC_CALLS = Counter(
    "crm_grpc_server_handled_total",
    "gRPC calls handled, by method and status code.",
    ["method", "code"],
)
GRPC_SECONDS = Histogram(
    "crm_grpc_server_handling_seconds",
    "Time to handle a gRPC call, by method.",
    ["method"],
    buckets=_SECONDS,
)
EMAILS = Counter(
    "crm_emails_total",
    "E-mail jobs concluded, by outcome (draft_ready, manual_handling, failed) and topic.",
    ["outcome", "topic"],
)
STAGE_SECONDS = Histogram(
    "crm_job_stage_seconds",
    "Time spent in each stage of a job (sender check, memory, classify, workflow, publish).",
    ["stage"],
    buckets=_SECONDS,
)
CONSUMER_PENDING = Gauge(
    "crm_consumer_pending_messages",
    "E-mail events in the stream not yet delivered to the orchestrator (consumer lag).",
)
CONSUMER_UNACKED = Gauge(
    "crm_consumer_ack_pending_messages",
    "E-mail events delivered to the orchestrator and not yet acknowledged.",
)
MODEL_CPU = Counter(
    "crm_model_cpu_seconds",
    "CPU time of local model inference (the encoder, the classifier's heads), by model: "
    "what sets the ceiling on throughput; everything else a service does is overhead.",
    ["model"],
)
MODEL_TOKENS = Counter(
    "crm_model_tokens_total",
    "Language-model tokens, by task, model and kind (input, cached_input, output).",
    ["task", "model", "kind"],
)
MODEL_OVER_BUDGET = Counter(
    "crm_model_calls_over_budget_total",
    "Model calls not made because they would exceed a token budget (per call, or the job's "
    "remaining tokens); tier 0 answered instead.",
    ["task", "budget"],
)
MODEL_COST = Counter(
    "crm_model_cost_usd_total",
    "Language-model cost in USD by the configured price table, by task and model.",
    ["task", "model"],
)
DECISIONS = Counter(
    "crm_decisions_total",
    "Reviewers' decisions carried out, by verdict (approve, approve_edited, reject), topic "
    "and the tier that wrote the reply.",
    ["verdict", "topic", "tier"],
)
DECISION_EDIT_CHARS = Histogram(
    "crm_decision_edit_chars",
    "Size of a reviewer's edit: characters changed between the drafted and the sent reply.",
    ["topic"],
    buckets=(0, 10, 50, 100, 250, 500, 1000, 2500),
)
DECISION_THUMBS = Counter(
    "crm_decision_thumbs_total",
    "Reviewers' thumbs, for the job and for the case, by topic.",
    ["scope", "thumb", "topic"],
)
DECISION_SECONDS = Histogram(
    "crm_decision_seconds",
    "Time from a draft to its decision, by topic.",
    ["topic"],
    buckets=(10, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600),
)
DECISIONS_REFUSED = Counter(
    "crm_decisions_refused_total",
    "Decisions refused, by reason.",
    ["reason"],
)
RATE_LIMITED = Counter(
    "crm_rate_limited_total",
    "E-mails sent to a person because their customer exceeded the per-customer rate limit.",
)
DEAD_LETTERS = Counter(
    "crm_dead_letters_total",
    "Events put on the dead-letter stream (last delivery, or a service down past the retry "
    "horizon), by original subject.",
    ["subject"],
)


def serve_metrics(port: int, host: str = "0.0.0.0") -> int:
    """Starts the /metrics HTTP endpoint in a background thread; returns the bound port
    (0 picks a free one)."""
    server, _thread = start_http_server(port, addr=host)
    return int(server.server_port)


@contextmanager
def model_cpu(model: str) -> Iterator[None]:
    """Counts the calling thread's CPU time inside the block as model inference. Exact
    when the model computes in the calling thread (the encoder at one thread, the default;
    with more, its worker threads' time is not seen)."""
    started = time.thread_time()
    try:
        yield
    finally:
        MODEL_CPU.labels(model).inc(time.thread_time() - started)
