"""The orchestrator's JetStream consumer: one outcome per job, however often it is delivered.

For each e-mail event: parse it, register the delivery, and either find the outcome an
earlier delivery stored or run the pipeline to the job's outcome (a draft, manual
handling or a failure), or a retry while a dependency is down. Every outcome leaves
through `EmailConsumer._settle`: stored before it is published and acknowledged after, so
a crash anywhere leads to a redelivery that publishes the same outcome under the same
Nats-Msg-Id, never a second one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
import nats.errors
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from crm.v1 import events_pb2, types_pb2
from services.common.context import case_id_var, job_id_var
from services.common.metrics import (
    CONSUMER_PENDING,
    CONSUMER_UNACKED,
    EMAILS,
    RATE_LIMITED,
    STAGE_SECONDS,
)
from services.common.taxonomy import topic_name
from services.common.tracing import (
    CASE_ID,
    CUSTOMER_ID,
    DELIVERY_ATTEMPT,
    JOB_ID,
    OUTCOME,
    TOPIC,
    context_from_headers,
    inject_headers,
    tracer,
)
from services.orchestrator import jetstream, job_store
from services.orchestrator.intake import (
    Email,
    IntakeFailure,
    Rejection,
    gate,
    parse_event,
    rate_limit,
)
from services.orchestrator.pipeline import (
    DependencyUnavailable,
    JobError,
    MeshClients,
    check_sender,
    draft_for,
)
from services.orchestrator.retry import RetryPolicy
from services.orchestrator.states import JobState

log = logging.getLogger(__name__)
_TRACER = tracer(__name__)


@dataclass(frozen=True)
class CustomerLimits:
    """How many e-mails of one customer the agent drafts for within a window."""

    per_customer: int = 20
    window_seconds: float = 3600.0


@dataclass(frozen=True)
class _Delivery:
    """One delivery of an e-mail event, parsed."""

    msg: Msg
    attempt: int
    sequence: int
    email: Email | IntakeFailure

    @classmethod
    def of(cls, msg: Msg, attempt: int) -> _Delivery:
        meta = msg.metadata
        sequence = meta.sequence.stream if meta.sequence else 0
        msg_id = (msg.headers or {}).get("Nats-Msg-Id", "")
        return cls(msg, attempt, sequence, parse_event(msg.data, msg_id, sequence))

    @property
    def replayed(self) -> bool:
        """True for an event re-driven from the dead letters."""
        return bool((self.msg.headers or {}).get(jetstream.REPLAY))

    def age_seconds(self) -> float:
        """Seconds since the event was first published."""
        published = self.msg.metadata.timestamp
        return (datetime.now(UTC) - published).total_seconds() if published else 0.0


@dataclass(frozen=True)
class Retry:
    """No outcome yet: the event is delivered again after the delay."""

    delay_seconds: float


@dataclass(frozen=True)
class Outcome:
    """A job's one outcome before it is stored: the state it leaves the job in, the event
    published for the CRM (with what the log says of it), and, for an event given up on,
    why it goes to the dead-letter stream."""

    job_id: str
    case_id: str
    customer_id: int
    state: JobState
    subject: str
    event: Message
    log_level: int
    log_message: str
    log_extra: dict[str, object]
    # The classification's topic and urgency, for a draft.
    topic: types_pb2.Topic.ValueType | None = None
    urgent: bool = False
    dead_letter: str = ""


@dataclass
class EmailConsumer:
    """Pulls e-mail events and turns each into exactly one outcome."""

    js: JetStreamContext
    pool: asyncpg.Pool
    clients: MeshClients
    retry: RetryPolicy
    concurrency: int
    max_body_chars: int
    limits: CustomerLimits = field(default_factory=CustomerLimits)

    async def run(self, stop: asyncio.Event) -> None:
        """Fetches and handles events until `stop` is set, then lets in-flight jobs finish."""
        sub = await self.js.pull_subscribe_bind(
            jetstream.ORCHESTRATOR_CONSUMER, stream=jetstream.EMAILS_STREAM
        )
        in_flight: set[asyncio.Task[None]] = set()
        lag = asyncio.create_task(self._watch_lag(stop))
        while not stop.is_set():
            free = self.concurrency - len(in_flight)
            if free <= 0:
                await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                continue
            try:
                messages = await sub.fetch(free, timeout=0.5)
            except nats.errors.TimeoutError:
                continue
            except (nats.errors.Error, OSError) as exc:
                log.warning("fetch failed; retrying", extra={"error": str(exc)})
                await asyncio.sleep(0.5)
                continue
            for msg in messages:
                task = asyncio.create_task(self.handle(msg))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
        if in_flight:
            await asyncio.wait(in_flight)
        lag.cancel()
        with contextlib.suppress(Exception):
            await sub.unsubscribe()

    async def _watch_lag(self, stop: asyncio.Event, every_seconds: float = 5.0) -> None:
        """Keeps the consumer-lag gauges current (events waiting, events unacknowledged)."""
        while not stop.is_set():
            try:
                info = await self.js.consumer_info(
                    jetstream.EMAILS_STREAM, jetstream.ORCHESTRATOR_CONSUMER
                )
                CONSUMER_PENDING.set(info.num_pending or 0)
                CONSUMER_UNACKED.set(info.num_ack_pending or 0)
            except (nats.errors.Error, OSError) as exc:
                log.debug("consumer info unavailable", extra={"error": str(exc)})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_seconds)

    async def handle(self, msg: Msg) -> None:
        """Handles one delivery in the trace the event carries; never raises (a failure
        leaves the event for redelivery)."""
        meta = msg.metadata
        attempt = meta.num_delivered or 1
        with _TRACER.start_as_current_span(
            f"{msg.subject} process",
            context=context_from_headers(msg.headers),  # type: ignore[arg-type]
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.destination.name": msg.subject,
                DELIVERY_ATTEMPT: attempt,
            },
        ):
            await self._handle(msg, attempt)

    async def _handle(self, msg: Msg, attempt: int) -> None:
        delivery = _Delivery.of(msg, attempt)
        email = delivery.email
        span = trace.get_current_span()
        span.set_attribute(JOB_ID, email.job_id)
        span.set_attribute(CASE_ID, email.case_id)
        span.set_attribute(CUSTOMER_ID, email.customer_id)
        job_token = job_id_var.set(email.job_id)
        case_token = case_id_var.set(email.case_id)
        try:
            await self._settle(delivery, await self._outcome_of(delivery))
        except Exception:
            # Database or NATS trouble, or a bug: leave the event for redelivery, unless
            # this was its last delivery, in which case fail it so nothing is lost silently.
            log.exception("job handling failed", extra={"attempt": attempt})
            try:
                await self._settle(delivery, self._last_resort(delivery), last_resort=True)
            except Exception:
                log.exception(
                    "could not settle the event; JetStream will redeliver it after ack_wait"
                )
        finally:
            case_id_var.reset(case_token)
            job_id_var.reset(job_token)

    async def _outcome_of(self, delivery: _Delivery) -> Outcome | job_store.JobRecord | Retry:
        """What the delivery leads to: the job's outcome, the outcome an earlier delivery
        stored, or a retry while a dependency is unavailable."""
        email = delivery.email
        if isinstance(email, IntakeFailure):
            log.warning("event rejected", extra={"code": _code(email.code), "detail": email.detail})
            return _failed(delivery, email.code, email.detail)
        job = await job_store.begin_job(
            self.pool,
            job_id=email.job_id,
            case_id=email.case_id,
            customer_id=email.customer_id,
            stream_sequence=delivery.sequence,
            delivery_attempts=delivery.attempt,
            sender_address=email.sender_address,
            subject=email.subject,
            body=email.body,
            received_at=email.received_at,
        )
        if job.finished and delivery.replayed:
            reopened = await job_store.reopen_failed_job(self.pool, job.job_id)
            if reopened is not None:
                log.info("failed job re-driven from the dead letters")
                job = reopened
        if job.finished:
            return job
        try:
            rejection = (
                gate(email, self.max_body_chars)
                or await self._rate_limit(job)
                or await check_sender(email, self.clients)
            )
            if rejection is not None:
                return _manual_handling(email, rejection)
            draft = await draft_for(email, self.clients)
        except DependencyUnavailable as exc:
            delay = self.retry.next_delay(delivery.attempt, delivery.age_seconds())
            if delay is not None:
                log.info(
                    "dependency unavailable; will retry",
                    extra={"service": exc.service, "delay_s": delay, "attempt": delivery.attempt},
                )
                return Retry(delay)
            detail = f"{exc} for longer than the retry horizon ({self.retry.horizon_seconds:g}s)"
            return _failed(
                delivery, types_pb2.ERROR_CODE_DEPENDENCY_UNAVAILABLE, detail, dead_letter=True
            )
        except JobError as exc:
            return _failed(delivery, exc.code, exc.detail)
        return _draft_ready(email, draft, delivery.attempt)

    def _last_resort(self, delivery: _Delivery) -> Outcome | Retry:
        """After a failed delivery: retry later, or, on the last delivery, give the event up
        (dead letter and job failed), so nothing is lost silently."""
        if delivery.attempt < self.retry.max_deliver:
            return Retry(self.retry.next_delay(delivery.attempt, 0.0) or 1.0)
        detail = f"no outcome after {delivery.attempt} deliveries"
        return _failed(
            delivery, types_pb2.ERROR_CODE_MAX_DELIVERIES_EXCEEDED, detail, dead_letter=True
        )

    async def _settle(
        self,
        delivery: _Delivery,
        result: Outcome | job_store.JobRecord | Retry,
        *,
        last_resort: bool = False,
    ) -> None:
        """The one way a delivery ends. A retry is acknowledged negatively, with its delay.
        Otherwise an event given up on is kept on the dead-letter stream, the outcome is
        stored (unless an earlier delivery stored one: a JobRecord), the stored outcome is
        published unless it was, and the event is acknowledged. A crash anywhere before the
        acknowledgement leads to a redelivery that publishes the same stored outcome under
        the same Nats-Msg-Id, never a second one. On the last delivery (`last_resort`) an
        outcome that cannot be stored is announced anyway: nothing would redeliver it."""
        if isinstance(result, Retry):
            await delivery.msg.nak(delay=result.delay_seconds)
            return
        if isinstance(result, job_store.JobRecord):
            log.info(
                "duplicate delivery; outcome already stored", extra={"attempt": delivery.attempt}
            )
            await self._publish(result)
        else:
            if result.dead_letter:
                await jetstream.dead_letter(
                    self.js, delivery.msg, result.job_id, result.dead_letter
                )
            try:
                await self._conclude(delivery, result)
            except Exception:
                if not last_resort:
                    raise
                # The database is down: announced under its own message id; the dead
                # letter keeps the event for a replay.
                log.exception("job failure not stored; announced without the outbox")
                await self.js.publish(
                    result.subject,
                    result.event.SerializeToString(),
                    headers={"Nats-Msg-Id": f"{result.job_id}:outcome:unstored"},
                )
        await delivery.msg.ack()

    async def _conclude(self, delivery: _Delivery, outcome: Outcome) -> None:
        """Stores the job's one outcome (unless one is stored already), then publishes it."""
        if outcome.state == JobState.FAILED:
            # An event rejected at intake (or given up on before its delivery was
            # registered) has no job row yet.
            await job_store.begin_job(
                self.pool,
                job_id=outcome.job_id,
                case_id=outcome.case_id,
                customer_id=outcome.customer_id,
                stream_sequence=delivery.sequence,
                delivery_attempts=delivery.attempt,
            )
        topic = topic_name(outcome.topic) if outcome.topic is not None else ""
        span = trace.get_current_span()
        span.set_attribute(OUTCOME, outcome.state.value)
        if topic:
            span.set_attribute(TOPIC, topic)
        with STAGE_SECONDS.labels("conclude").time():
            record = await job_store.finish_job(
                self.pool,
                job_id=outcome.job_id,
                state=outcome.state,
                subject=outcome.subject,
                outcome=outcome.event.SerializeToString(),
                topic=types_pb2.Topic.Name(outcome.topic) if outcome.topic is not None else "",
                urgent=outcome.urgent,
            )
            await self._publish(record)
        EMAILS.labels(outcome.state.value, topic or "none").inc()
        log.log(outcome.log_level, outcome.log_message, extra=outcome.log_extra)

    async def _rate_limit(self, job: job_store.JobRecord) -> Rejection | None:
        if self.limits.per_customer <= 0:
            return None
        earlier = await job_store.earlier_jobs_of_customer(
            self.pool, job, self.limits.window_seconds
        )
        rejection = rate_limit(earlier, self.limits.per_customer, self.limits.window_seconds)
        if rejection is not None:
            RATE_LIMITED.inc()
        return rejection

    async def _publish(self, record: job_store.JobRecord) -> None:
        """Publishes the stored outcome; the Nats-Msg-Id makes a re-publish a no-op."""
        if record.outcome_published_at is not None:
            return
        assert record.outcome is not None and record.outcome_subject
        with _TRACER.start_as_current_span(
            f"{record.outcome_subject} publish",
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "nats",
                "messaging.destination.name": record.outcome_subject,
                JOB_ID: record.job_id,
            },
        ):
            await self.js.publish(
                record.outcome_subject,
                record.outcome,
                headers=inject_headers({"Nats-Msg-Id": record.outcome_msg_id}),
            )
        await job_store.mark_published(self.pool, record.job_id)


def _draft_ready(email: Email, draft: events_pb2.DraftReady, attempt: int) -> Outcome:
    topic = draft.classification.topic
    return Outcome(
        email.job_id,
        email.case_id,
        email.customer_id,
        JobState.DRAFT_READY,
        jetstream.DRAFT_READY,
        draft,
        logging.INFO,
        "draft ready",
        {"topic": types_pb2.Topic.Name(topic), "attempt": attempt},
        topic=topic,
        urgent=draft.classification.urgent,
    )


def _manual_handling(email: Email, rejection: Rejection) -> Outcome:
    event = events_pb2.ManualHandling(
        job_id=email.job_id,
        case_id=email.case_id,
        customer_id=email.customer_id,
        reason=rejection.reason,
        detail=rejection.detail,
        create_time=_now(),
    )
    return Outcome(
        email.job_id,
        email.case_id,
        email.customer_id,
        JobState.MANUAL_HANDLING,
        jetstream.MANUAL_HANDLING,
        event,
        logging.INFO,
        "manual handling",
        {"reason": events_pb2.ManualHandlingReason.Name(rejection.reason)},
    )


def _failed(
    delivery: _Delivery,
    code: types_pb2.ErrorCode.ValueType,
    detail: str,
    *,
    dead_letter: bool = False,
) -> Outcome:
    """The job failed (kept on the dead-letter stream too when the event was given up on)."""
    job = delivery.email
    event = events_pb2.JobFailed(
        job_id=job.job_id,
        case_id=job.case_id,
        customer_id=job.customer_id,
        code=code,
        detail=detail,
        stream_sequence=delivery.sequence,
        delivery_attempts=delivery.attempt,
        create_time=_now(),
    )
    return Outcome(
        job.job_id,
        job.case_id,
        job.customer_id,
        JobState.FAILED,
        jetstream.JOB_FAILED,
        event,
        logging.WARNING,
        "job failed",
        {"code": _code(code), "detail": detail},
        dead_letter=detail if dead_letter else "",
    )


def _code(code: types_pb2.ErrorCode.ValueType) -> str:
    return types_pb2.ErrorCode.Name(code)


def _now() -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(datetime.now(UTC))
    return ts
