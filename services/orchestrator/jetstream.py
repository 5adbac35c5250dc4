"""The CRM contract over NATS JetStream: subjects, streams and the orchestrator's consumer.

Provisioning is explicit and idempotent: the orchestrator applies it at start-up and the
same function serves a Kubernetes Job (`crm-orchestrator provision`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from nats.aio.msg import Msg
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

from services.common.metrics import DEAD_LETTERS

log = logging.getLogger(__name__)

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
# Events the orchestrator gave up on (last delivery, or a service down past the retry
# horizon), kept as they arrived for an operator to inspect and re-drive (`crmctl dlq`).
DEAD_LETTER_PREFIX = "crm.v1.dead_letter"
DEAD_LETTER_SUBJECTS = f"{DEAD_LETTER_PREFIX}.>"
# Headers of a dead letter, and of an event re-driven from one.
ORIGINAL_SUBJECT = "Crm-Original-Subject"
ORIGINAL_SEQUENCE = "Crm-Original-Sequence"
DEAD_LETTER_REASON = "Crm-Dead-Letter-Reason"
DEAD_LETTER_JOB = "Crm-Job-Id"
DELIVERIES = "Crm-Deliveries"
REPLAY = "Crm-Replay"

# Streams and the durable consumer.
EMAILS_STREAM = "CRM_EMAILS"
JOBS_STREAM = "CRM_JOBS"
ORCHESTRATOR_CONSUMER = "orchestrator"
DECISIONS_STREAM = "CRM_DECISIONS"
RESULTS_STREAM = "CRM_RESULTS"
DEAD_LETTERS_STREAM = "CRM_DEAD_LETTERS"
DECISIONS_CONSUMER = "orchestrator-decisions"


@dataclass(frozen=True)
class ConsumerLimits:
    """How the orchestrator's durable consumer redelivers and applies backpressure."""

    ack_wait_seconds: float
    max_deliver: int
    max_ack_pending: int
    duplicate_window_seconds: float
    # Copies of each stream in a NATS cluster (3 in production; 1 on a single server).
    replicas: int = 1


def streams(limits: ConsumerLimits) -> list[StreamConfig]:
    """The streams: e-mails and decisions in (from the CRM), outcomes and results out (to
    the CRM), and the dead letters."""
    common = {
        "retention": RetentionPolicy.LIMITS,
        "storage": StorageType.FILE,
        "duplicate_window": limits.duplicate_window_seconds,
        "max_age": 14 * 24 * 3600.0,
        "num_replicas": limits.replicas,
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
        StreamConfig(
            name=DEAD_LETTERS_STREAM,
            subjects=[DEAD_LETTER_SUBJECTS],
            **{**common, "max_age": 30 * 24 * 3600.0},  # type: ignore[arg-type]
        ),
    ]


def dead_letter_subject(original_subject: str) -> str:
    """Where an event of `original_subject` is dead-lettered: crm.v1.dead_letter.<subject
    without the crm.v1 prefix>."""
    return f"{DEAD_LETTER_PREFIX}.{original_subject.removeprefix('crm.v1.')}"


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


async def dead_letter(js: JetStreamContext, msg: Msg, job_id: str, reason: str) -> None:
    """Publishes an event the orchestrator gave up on to the dead-letter stream, with where
    it came from and why; its message id makes a second attempt a no-op."""
    meta = msg.metadata
    sequence = meta.sequence.stream if meta.sequence else 0
    await js.publish(
        dead_letter_subject(msg.subject),
        msg.data,
        headers={
            "Nats-Msg-Id": f"dead:{msg.subject}:{sequence}",
            ORIGINAL_SUBJECT: msg.subject,
            ORIGINAL_SEQUENCE: str(sequence),
            DELIVERIES: str(meta.num_delivered or 1),
            DEAD_LETTER_JOB: job_id,
            DEAD_LETTER_REASON: reason[:500],
        },
    )
    DEAD_LETTERS.labels(msg.subject).inc()
    log.warning("event dead-lettered", extra={"subject": msg.subject, "why": reason[:200]})
