"""The CRM contract over NATS JetStream: subjects, streams and the orchestrator's consumer.

Provisioning is explicit and idempotent: the orchestrator applies it at start-up and the
same function serves a Kubernetes Job (`crm-orchestrator provision`).
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError

# Subjects (the contract with the CRM).
EMAIL_RECEIVED = "crm.v1.email.received"
DRAFT_READY = "crm.v1.job.draft_ready"
MANUAL_HANDLING = "crm.v1.job.manual_handling"
JOB_FAILED = "crm.v1.job.failed"
JOB_OUTCOMES = "crm.v1.job.>"
# Reviewers' decisions in (from the CRM or the console), and what they led to out.
DRAFT_DECIDED = "crm.v1.draft.decided"
REPLY_APPROVED = "crm.v1.reply.approved"
ACTIONS_EXECUTED = "crm.v1.actions.executed"
DECISION_REFUSED = "crm.v1.decision.refused"

# Streams and the durable consumer.
EMAILS_STREAM = "CRM_EMAILS"
JOBS_STREAM = "CRM_JOBS"
ORCHESTRATOR_CONSUMER = "orchestrator"
DECISIONS_STREAM = "CRM_DECISIONS"
RESULTS_STREAM = "CRM_RESULTS"
DECISIONS_CONSUMER = "orchestrator-decisions"


@dataclass(frozen=True)
class ConsumerLimits:
    """How the orchestrator's durable consumer redelivers and applies backpressure."""

    ack_wait_seconds: float
    max_deliver: int
    max_ack_pending: int
    duplicate_window_seconds: float


def streams(limits: ConsumerLimits) -> list[StreamConfig]:
    """Both streams: e-mails in (from the CRM) and job outcomes out (to the CRM)."""
    common = {
        "retention": RetentionPolicy.LIMITS,
        "storage": StorageType.FILE,
        "duplicate_window": limits.duplicate_window_seconds,
        "max_age": 14 * 24 * 3600.0,
    }
    return [
        StreamConfig(name=EMAILS_STREAM, subjects=[EMAIL_RECEIVED], **common),  # type: ignore[arg-type]
        StreamConfig(name=JOBS_STREAM, subjects=[JOB_OUTCOMES], **common),  # type: ignore[arg-type]
        StreamConfig(name=DECISIONS_STREAM, subjects=[DRAFT_DECIDED], **common),  # type: ignore[arg-type]
        StreamConfig(
            name=RESULTS_STREAM,
            subjects=[REPLY_APPROVED, ACTIONS_EXECUTED, DECISION_REFUSED],
            **common,  # type: ignore[arg-type]
        ),
    ]


def orchestrator_consumer(limits: ConsumerLimits) -> ConsumerConfig:
    """Durable pull consumer with explicit acks; max_ack_pending is the backpressure.

    Backoff is applied per NAK by the orchestrator (RetryPolicy), not with the consumer's
    BackOff list: measured on nats-server 2.15, with a consumer BackOff of (30, 60, 120) s, a
    second 1 s NAK led to no redelivery within the 12 s observed (without BackOff: every 1 s).
    """
    return _pull_consumer(ORCHESTRATOR_CONSUMER, EMAIL_RECEIVED, limits)


def _pull_consumer(name: str, subject: str, limits: ConsumerLimits) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=name,
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=limits.ack_wait_seconds,
        max_deliver=limits.max_deliver,
        max_ack_pending=limits.max_ack_pending,
        filter_subject=subject,
    )


async def provision(js: JetStreamContext, limits: ConsumerLimits) -> None:
    """Creates or updates the streams and the consumer (safe to run any number of times)."""
    for config in streams(limits):
        try:
            await js.stream_info(config.name or "")
            await js.update_stream(config)
        except NotFoundError:
            await js.add_stream(config)
    await js.add_consumer(EMAILS_STREAM, orchestrator_consumer(limits))
    await js.add_consumer(DECISIONS_STREAM, decisions_consumer(limits))


def decisions_consumer(limits: ConsumerLimits) -> ConsumerConfig:
    """Durable pull consumer of reviewers' decisions, explicit acks."""
    return _pull_consumer(DECISIONS_CONSUMER, DRAFT_DECIDED, limits)
