"""Whether a reviewer's decision on a draft may be carried out, and which actions it
accepts. Pure.

A decision is refused, with its reason, when it is incomplete, when the job has no draft,
when the customer wrote again in the case since the draft (the reviewer must decide the
newer one), or when another decision was already carried out for the draft. The same
decision delivered again is not refused: it finds its own stored result and changes
nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from crm.v1 import events_pb2, types_pb2
from services.orchestrator.states import JobState

_REASON = events_pb2.DecisionRefusalReason


@dataclass(frozen=True)
class Refusal:
    """Why a decision is not carried out."""

    reason: _REASON.ValueType
    detail: str


def refusal_of(
    decision: events_pb2.DraftDecided,
    *,
    job_state: JobState | None,
    job_customer_id: int,
    newer_job_in_case: bool,
    decided_by_another: bool,
) -> Refusal | None:
    """The refusal of a decision, or None when it may be carried out."""
    if not decision.reviewer_id:
        return Refusal(_REASON.DECISION_REFUSAL_REASON_INVALID, "the decision names no reviewer")
    if decision.verdict == events_pb2.DECISION_VERDICT_UNSPECIFIED:
        return Refusal(_REASON.DECISION_REFUSAL_REASON_INVALID, "the decision has no verdict")
    if (
        decision.verdict == events_pb2.DECISION_VERDICT_APPROVE_EDITED
        and not decision.edited_reply.strip()
    ):
        return Refusal(_REASON.DECISION_REFUSAL_REASON_INVALID, "the edited reply is empty")
    if job_state is None or job_customer_id != decision.customer_id:
        return Refusal(
            _REASON.DECISION_REFUSAL_REASON_UNKNOWN_JOB,
            f"no job {decision.job_id} for customer {decision.customer_id}",
        )
    if job_state != JobState.DRAFT_READY:
        return Refusal(
            _REASON.DECISION_REFUSAL_REASON_NO_DRAFT,
            f"job {decision.job_id} has no draft to decide (it is {job_state})",
        )
    if decided_by_another:
        return Refusal(
            _REASON.DECISION_REFUSAL_REASON_ALREADY_DECIDED,
            f"another decision was already carried out for job {decision.job_id}",
        )
    if newer_job_in_case:
        return Refusal(
            _REASON.DECISION_REFUSAL_REASON_STALE_DRAFT,
            "the customer wrote again in this case since the draft; decide the newer draft",
        )
    return None


def accepted_actions(
    decision: events_pb2.DraftDecided, proposed: Sequence[types_pb2.ProposedAction]
) -> list[types_pb2.ProposedAction]:
    """The draft's actions the decision accepts (none when it rejects the draft); an
    action not listed in the decision is not carried out."""
    if decision.verdict == events_pb2.DECISION_VERDICT_REJECT:
        return []
    accepted = {a.idempotency_key for a in decision.actions if a.accepted}
    return [a for a in proposed if a.idempotency_key in accepted]


def approved_reply(decision: events_pb2.DraftDecided, draft: events_pb2.DraftReady) -> str:
    """The reply to send: the edited one, the drafted one, or none (rejected, or a draft
    that needed no reply or had no reply text)."""
    if decision.verdict == events_pb2.DECISION_VERDICT_APPROVE_EDITED:
        return decision.edited_reply.strip()
    if decision.verdict == events_pb2.DECISION_VERDICT_APPROVE:
        return draft.reply.strip()
    return ""
