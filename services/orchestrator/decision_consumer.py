"""The orchestrator's consumer of reviewers' decisions: each accepted action carried out
once by the service that owns it, the approved reply published for the CRM to send and
remembered in case memory, and a refusal with its reason when the decision cannot stand.

Every step can run again safely: the decision is stored once by its id, actions execute
once by their idempotency keys, and events are published with a Nats-Msg-Id derived from
the decision, so a redelivered decision changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import logging
from dataclasses import dataclass

import asyncpg
import nats.errors
from google.protobuf.message import DecodeError, Message
from google.protobuf.timestamp_pb2 import Timestamp
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from crm.v1 import delivery_pb2, events_pb2, memory_pb2, types_pb2
from services.common.metrics import (
    DECISION_EDIT_CHARS,
    DECISION_SECONDS,
    DECISION_THUMBS,
    DECISIONS,
    DECISIONS_REFUSED,
)
from services.common.taxonomy import topic_name
from services.orchestrator import decision_store, jetstream, job_store
from services.orchestrator.decisions import (
    Refusal,
    accepted_actions,
    approved_reply,
    refusal_of,
)
from services.orchestrator.pipeline import DependencyUnavailable, MeshClients, call
from services.orchestrator.states import DecisionState

log = logging.getLogger(__name__)

_CARRIED_OUT = {
    delivery_pb2.EXECUTION_OUTCOME_EXECUTED,
    delivery_pb2.EXECUTION_OUTCOME_ALREADY_EXECUTED,
}


def _measure(decision: events_pb2.DraftDecided, draft: events_pb2.DraftReady, sent: str) -> None:
    """Measures of effectiveness: verdicts, edit sizes, thumbs and time to decision."""
    topic = topic_name(draft.classification.topic) or "none"
    verdict = events_pb2.DecisionVerdict.Name(decision.verdict)
    DECISIONS.labels(
        verdict.removeprefix("DECISION_VERDICT_").lower(), topic, draft.reply_tier or "0"
    ).inc()
    if decision.verdict == events_pb2.DECISION_VERDICT_APPROVE_EDITED:
        matcher = difflib.SequenceMatcher(a=draft.reply, b=sent, autojunk=False)
        changed = sum(
            max(i2 - i1, j2 - j1) for op, i1, i2, j1, j2 in matcher.get_opcodes() if op != "equal"
        )
        DECISION_EDIT_CHARS.labels(topic).observe(changed)
    for scope, thumb in (("job", decision.job_thumb), ("case", decision.case_thumb)):
        if thumb != events_pb2.THUMB_UNSPECIFIED:
            name = events_pb2.Thumb.Name(thumb).removeprefix("THUMB_").lower()
            DECISION_THUMBS.labels(scope, name, topic).inc()
    if decision.HasField("decide_time") and draft.HasField("create_time"):
        seconds = decision.decide_time.ToSeconds() - draft.create_time.ToSeconds()
        DECISION_SECONDS.labels(topic).observe(max(0, seconds))


def action_label(action: types_pb2.ProposedAction) -> str:
    """An action as case memory keeps it: "type target amount"."""
    kind = types_pb2.ActionType.Name(action.type).removeprefix("ACTION_TYPE_").lower()
    return " ".join(x for x in (kind, action.target, action.amount.amount) if x)


@dataclass
class DecisionConsumer:
    """Pulls decisions and carries each out at most once."""

    js: JetStreamContext
    pool: asyncpg.Pool
    clients: MeshClients
    retry_delay_seconds: float = 2.0
    max_deliver: int = 100

    async def run(self, stop: asyncio.Event) -> None:
        """Handles decisions one at a time until `stop` is set."""
        sub = await self.js.pull_subscribe_bind(
            jetstream.DECISIONS_CONSUMER, stream=jetstream.DECISIONS_STREAM
        )
        while not stop.is_set():
            try:
                messages = await sub.fetch(10, timeout=0.5)
            except nats.errors.TimeoutError:
                continue
            except (nats.errors.Error, OSError) as exc:
                log.warning("decision fetch failed; retrying", extra={"error": str(exc)})
                await asyncio.sleep(0.5)
                continue
            for msg in messages:
                await self.handle(msg)
        with contextlib.suppress(Exception):
            await sub.unsubscribe()

    async def handle(self, msg: Msg) -> None:
        """One delivery of a decision; never raises."""
        decision = events_pb2.DraftDecided()
        try:
            decision.ParseFromString(msg.data)
        except DecodeError:
            decision = events_pb2.DraftDecided()
        try:
            if not decision.decision_id or not decision.job_id:
                await self._refuse(
                    decision,
                    Refusal(
                        events_pb2.DECISION_REFUSAL_REASON_INVALID,
                        "the decision has no decision_id or job_id (or is not a DraftDecided)",
                    ),
                    store_it=False,
                )
            else:
                await self._decide(decision)
            await msg.ack()
        except DependencyUnavailable as exc:
            log.info("dependency unavailable; decision retried", extra={"error": str(exc)})
            await msg.nak(delay=self.retry_delay_seconds)
        except Exception:
            log.exception("decision handling failed", extra={"decision": decision.decision_id})
            if (msg.metadata.num_delivered or 1) >= self.max_deliver:
                # JetStream would stop delivering it silently: keep it for an operator.
                await jetstream.dead_letter(
                    self.js, msg, decision.job_id, f"decision {decision.decision_id} failed"
                )
                await msg.ack()
            else:
                await msg.nak(delay=self.retry_delay_seconds)

    async def _decide(self, decision: events_pb2.DraftDecided) -> None:
        job = await job_store.get_job(self.pool, decision.job_id)
        newer = job is not None and await job_store.newer_job_in_case(self.pool, job)
        refusal = refusal_of(
            decision,
            job_state=job.state if job else None,
            job_customer_id=job.customer_id if job else 0,
            newer_job_in_case=newer,
            decided_by_another=await decision_store.decided_by_another(
                self.pool, decision.job_id, decision.decision_id
            ),
        )
        if refusal is not None:
            await self._refuse(decision, refusal, store_it=True)
            return
        try:
            record, _ = await self._claim(decision)
        except decision_store.AlreadyDecided:
            await self._refuse(
                decision,
                Refusal(
                    events_pb2.DECISION_REFUSAL_REASON_ALREADY_DECIDED,
                    f"another decision was already carried out for job {decision.job_id}",
                ),
                store_it=True,
            )
            return
        if record.state != DecisionState.CARRYING_OUT:
            return  # the same decision again: it was carried out or refused before
        assert job is not None and job.outcome is not None
        draft = events_pb2.DraftReady()
        draft.ParseFromString(job.outcome)
        results = []
        t = self.clients.timeout_seconds
        for action in accepted_actions(decision, draft.actions):
            done = await call(
                "delivery",
                lambda action=action: self.clients.delivery.ExecuteAction(  # type: ignore[misc]
                    delivery_pb2.ExecuteActionRequest(
                        request_id=decision.decision_id,
                        customer_id=decision.customer_id,
                        action=action,
                    ),
                    timeout=t,
                ),
            )
            results.append(
                events_pb2.ActionResult(
                    action=action,
                    outcome=done.outcome,
                    detail=done.detail,
                    coupon_code=done.coupon_code,
                )
            )
        executed = events_pb2.ActionsExecuted(
            decision_id=decision.decision_id,
            job_id=decision.job_id,
            case_id=decision.case_id,
            customer_id=decision.customer_id,
            results=results,
        )
        await self._publish(jetstream.ACTIONS_EXECUTED, executed, f"{decision.decision_id}:actions")
        reply = approved_reply(decision, draft)
        if reply:
            now = Timestamp()
            now.GetCurrentTime()
            await self._publish(
                jetstream.REPLY_APPROVED,
                events_pb2.ReplyApproved(
                    decision_id=decision.decision_id,
                    job_id=decision.job_id,
                    case_id=decision.case_id,
                    customer_id=decision.customer_id,
                    reviewer_id=decision.reviewer_id,
                    body=reply,
                    approve_time=now,
                ),
                f"{decision.decision_id}:reply",
            )
            await call(
                "memory",
                lambda: self.clients.memory.RecordApprovedReply(
                    memory_pb2.RecordApprovedReplyRequest(
                        request_id=decision.decision_id,
                        case_id=decision.case_id,
                        customer_id=decision.customer_id,
                        job_id=decision.job_id,
                        body=reply,
                        approved_time=now,
                        actions_taken=[
                            action_label(r.action) for r in results if r.outcome in _CARRIED_OUT
                        ],
                    ),
                    timeout=t,
                ),
            )
        await decision_store.finish_decision(
            self.pool, decision.decision_id, results=executed.SerializeToString(), reply=reply
        )
        _measure(decision, draft, reply)
        log.info(
            "decision carried out",
            extra={"decision": decision.decision_id, "actions": len(results), "reply": bool(reply)},
        )

    async def _refuse(
        self, decision: events_pb2.DraftDecided, refusal: Refusal, *, store_it: bool
    ) -> None:
        if store_it:
            with contextlib.suppress(decision_store.AlreadyDecided):
                _, created = await self._claim(decision, refusal.detail)
                if not created:
                    return  # refused (or carried out) before: nothing new to say
        await self._publish(
            jetstream.DECISION_REFUSED,
            events_pb2.DecisionRefused(
                decision_id=decision.decision_id,
                job_id=decision.job_id,
                reason=refusal.reason,
                detail=refusal.detail,
            ),
            f"{decision.decision_id}:refused",
        )
        DECISIONS_REFUSED.labels(
            events_pb2.DecisionRefusalReason.Name(refusal.reason)
            .removeprefix("DECISION_REFUSAL_REASON_")
            .lower()
        ).inc()
        log.info(
            "decision refused", extra={"decision": decision.decision_id, "why": refusal.detail}
        )

    async def _claim(
        self, decision: events_pb2.DraftDecided, refused_reason: str = ""
    ) -> tuple[decision_store.DecisionRecord, bool]:
        """Stores the decision once (see `decision_store.claim_decision`)."""
        return await decision_store.claim_decision(
            self.pool,
            decision_id=decision.decision_id,
            job_id=decision.job_id,
            customer_id=decision.customer_id,
            reviewer_id=decision.reviewer_id,
            decision=decision.SerializeToString(),
            refused_reason=refused_reason,
        )

    async def _publish(self, subject: str, event: Message, msg_id: str) -> None:
        await self.js.publish(subject, event.SerializeToString(), headers={"Nats-Msg-Id": msg_id})
