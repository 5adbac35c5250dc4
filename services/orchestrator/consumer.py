"""The orchestrator's JetStream consumer: one outcome per job, however often it is delivered.

For each e-mail event: parse it, register the delivery, and either publish the stored
outcome again (redelivery) or run the pipeline. The outcome is stored before it is
published and acknowledged after, so a crash anywhere leads to a redelivery that
publishes the same outcome under the same Nats-Msg-Id, never a second one.
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
from services.orchestrator import jetstream, store
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

log = logging.getLogger(__name__)
_TRACER = tracer(__name__)


@dataclass(frozen=True)
class CustomerLimits:
    """How many e-mails of one customer the agent drafts for within a window."""

    per_customer: int = 20
    window_seconds: float = 3600.0


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
        meta = msg.metadata
        sequence = meta.sequence.stream if meta.sequence else 0
        msg_id = (msg.headers or {}).get("Nats-Msg-Id", "")
        parsed = parse_event(msg.data, msg_id, sequence)
        span = trace.get_current_span()
        span.set_attribute(JOB_ID, parsed.job_id)
        span.set_attribute(CASE_ID, parsed.case_id)
        span.set_attribute(CUSTOMER_ID, parsed.customer_id)
        job_token = job_id_var.set(parsed.job_id)
        case_token = case_id_var.set(parsed.case_id)
        try:
            if isinstance(parsed, IntakeFailure):
                log.warning(
                    "event rejected", extra={"code": _code(parsed.code), "detail": parsed.detail}
                )
                await self._fail(parsed, parsed.code, parsed.detail, sequence, attempt)
                await msg.ack()
                return
            job = await store.begin_job(
                self.pool,
                job_id=parsed.job_id,
                case_id=parsed.case_id,
                customer_id=parsed.customer_id,
                stream_sequence=sequence,
                delivery_attempts=attempt,
                sender_address=parsed.sender_address,
                subject=parsed.subject,
                body=parsed.body,
                received_at=parsed.received_at,
            )
            if job.finished and (msg.headers or {}).get(jetstream.REPLAY):
                reopened = await store.reopen_failed_job(self.pool, job.job_id)
                if reopened is not None:
                    log.info("failed job re-driven from the dead letters")
                    job = reopened
            if job.finished:
                log.info("duplicate delivery; outcome already stored", extra={"attempt": attempt})
                await self._publish(job)
                await msg.ack()
                return
            try:
                rejection = (
                    gate(parsed, self.max_body_chars)
                    or await self._rate_limit(job)
                    or await check_sender(parsed, self.clients)
                )
                if rejection is not None:
                    await self._manual_handling(parsed, rejection)
                    await msg.ack()
                    return
                draft = await draft_for(parsed, self.clients)
            except DependencyUnavailable as exc:
                age = (
                    (datetime.now(UTC) - meta.timestamp).total_seconds() if meta.timestamp else 0.0
                )
                delay = self.retry.next_delay(attempt, age)
                if delay is not None:
                    log.info(
                        "dependency unavailable; will retry",
                        extra={"service": exc.service, "delay_s": delay, "attempt": attempt},
                    )
                    await msg.nak(delay=delay)
                    return
                detail = (
                    f"{exc} for longer than the retry horizon ({self.retry.horizon_seconds:g}s)"
                )
                await jetstream.dead_letter(self.js, msg, parsed.job_id, detail)
                await self._fail(
                    parsed, types_pb2.ERROR_CODE_DEPENDENCY_UNAVAILABLE, detail, sequence, attempt
                )
                await msg.ack()
                return
            except JobError as exc:
                await self._fail(parsed, exc.code, exc.detail, sequence, attempt)
                await msg.ack()
                return
            topic = types_pb2.Topic.Name(draft.classification.topic)
            await self._conclude(
                parsed.job_id,
                "draft_ready",
                jetstream.DRAFT_READY,
                draft,
                topic=topic,
                urgent=draft.classification.urgent,
            )
            await msg.ack()
            log.info("draft ready", extra={"topic": topic, "attempt": attempt})
        except Exception:
            # Database or NATS trouble, or a bug: leave the event for redelivery, unless
            # this was its last delivery, in which case fail it so nothing is lost silently.
            log.exception("job handling failed", extra={"attempt": attempt})
            await self._last_resort(msg, parsed, sequence, attempt)
        finally:
            case_id_var.reset(case_token)
            job_id_var.reset(job_token)

    async def _rate_limit(self, job: store.JobRecord) -> Rejection | None:
        if self.limits.per_customer <= 0:
            return None
        earlier = await store.earlier_jobs_of_customer(self.pool, job, self.limits.window_seconds)
        rejection = rate_limit(earlier, self.limits.per_customer, self.limits.window_seconds)
        if rejection is not None:
            RATE_LIMITED.inc()
        return rejection

    async def _manual_handling(self, email: Email, rejection: Rejection) -> None:
        event = events_pb2.ManualHandling(
            job_id=email.job_id,
            case_id=email.case_id,
            customer_id=email.customer_id,
            reason=rejection.reason,
            detail=rejection.detail,
            create_time=_now(),
        )
        await self._conclude(email.job_id, "manual_handling", jetstream.MANUAL_HANDLING, event)
        log.info(
            "manual handling",
            extra={"reason": events_pb2.ManualHandlingReason.Name(rejection.reason)},
        )

    @staticmethod
    def _failure(
        job: Email | IntakeFailure,
        code: types_pb2.ErrorCode.ValueType,
        detail: str,
        sequence: int,
        attempt: int,
    ) -> events_pb2.JobFailed:
        return events_pb2.JobFailed(
            job_id=job.job_id,
            case_id=job.case_id,
            customer_id=job.customer_id,
            code=code,
            detail=detail,
            stream_sequence=sequence,
            delivery_attempts=attempt,
            create_time=_now(),
        )

    async def _fail(
        self,
        job: Email | IntakeFailure,
        code: types_pb2.ErrorCode.ValueType,
        detail: str,
        sequence: int,
        attempt: int,
    ) -> None:
        event = self._failure(job, code, detail, sequence, attempt)
        # An event rejected at intake has no job row yet.
        await store.begin_job(
            self.pool,
            job_id=job.job_id,
            case_id=job.case_id,
            customer_id=job.customer_id,
            stream_sequence=sequence,
            delivery_attempts=attempt,
        )
        await self._conclude(job.job_id, "failed", jetstream.JOB_FAILED, event)
        log.warning("job failed", extra={"code": _code(code), "detail": detail})

    async def _conclude(
        self,
        job_id: str,
        state: str,
        subject: str,
        event: Message,
        *,
        topic: str = "",
        urgent: bool = False,
    ) -> None:
        """Stores the job's one outcome (unless one is stored already), then publishes it."""
        span = trace.get_current_span()
        span.set_attribute(OUTCOME, state)
        if topic:
            span.set_attribute(TOPIC, topic.removeprefix("TOPIC_").lower())
        with STAGE_SECONDS.labels("conclude").time():
            record = await store.finish_job(
                self.pool,
                job_id=job_id,
                state=state,
                subject=subject,
                outcome=event.SerializeToString(),
                topic=topic,
                urgent=urgent,
            )
            await self._publish(record)
        EMAILS.labels(state, topic.removeprefix("TOPIC_").lower() or "none").inc()

    async def _publish(self, record: store.JobRecord) -> None:
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
        await store.mark_published(self.pool, record.job_id)

    async def _last_resort(
        self, msg: Msg, parsed: Email | IntakeFailure, sequence: int, attempt: int
    ) -> None:
        """After a failed delivery: retry later, or, on the last delivery, keep the event on
        the dead-letter stream and fail the job, so nothing is lost silently."""
        try:
            if attempt < self.retry.max_deliver:
                await msg.nak(delay=self.retry.next_delay(attempt, 0.0) or 1.0)
                return
            detail = f"no outcome after {attempt} deliveries"
            await jetstream.dead_letter(self.js, msg, parsed.job_id, detail)
            try:
                await self._fail(
                    parsed, types_pb2.ERROR_CODE_MAX_DELIVERIES_EXCEEDED, detail, sequence, attempt
                )
            except Exception:
                # The failure cannot be stored (the database is down): announce it anyway
                # under its own message id; the dead letter keeps the event for a replay.
                log.exception("job failure not stored; announced without the outbox")
                event = self._failure(
                    parsed, types_pb2.ERROR_CODE_MAX_DELIVERIES_EXCEEDED, detail, sequence, attempt
                )
                await self.js.publish(
                    jetstream.JOB_FAILED,
                    event.SerializeToString(),
                    headers={"Nats-Msg-Id": f"{parsed.job_id}:outcome:unstored"},
                )
            await msg.ack()
        except Exception:
            log.exception("could not settle the event; JetStream will redeliver it after ack_wait")


def _code(code: types_pb2.ErrorCode.ValueType) -> str:
    return types_pb2.ErrorCode.Name(code)


def _now() -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(datetime.now(UTC))
    return ts
