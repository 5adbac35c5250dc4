"""Which path a classified e-mail takes: a workflow, an escalation, or a close-out.

Pure decisions from the classification and counts taken from the case history.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm.v1 import classifier_pb2, events_pb2, types_pb2
from services.common.taxonomy import LEVEL_HANDS_OFF, topic_name, urgency_of
from services.orchestrator.workflows import WORKFLOWS


@dataclass(frozen=True)
class Route:
    """The decision: run `workflow` (a topic of `WORKFLOWS`), or escalate with
    `escalation`, or close (no reply)."""

    workflow: str = ""
    escalation: events_pb2.EscalationReason.ValueType = events_pb2.ESCALATION_REASON_UNSPECIFIED
    detail: str = ""
    reply_needed: bool = True


def route(classification: classifier_pb2.Classification) -> Route:
    """Decides the path from the classification (whose repeat count comes from the case
    history). Hands-off urgency goes to a person with nothing drafted; priority urgency is
    drafted as usual and only marked urgent (first in the queue). Whether a request was
    repeated too often is the classifier's answer (its repeat rule), not decided here."""
    repeated = classification.repeated_request
    hands_off = urgency_of(classification) == LEVEL_HANDS_OFF
    if hands_off and not repeated:
        return Route(
            escalation=events_pb2.ESCALATION_REASON_URGENT,
            detail=classification.urgency_reason or "urgent",
        )
    if repeated:
        return Route(
            escalation=events_pb2.ESCALATION_REASON_REPEATED_REQUEST,
            detail=f"this request has now been made {classification.repeat_count + 1} times in the case",
        )
    if classification.only_injection:
        return Route(
            escalation=events_pb2.ESCALATION_REASON_SUSPECTED_INJECTION,
            detail="the e-mail holds only text addressed to an automated system: "
            + "; ".join(classification.injection_evidence)[:300],
        )
    if not classification.reply_needed:
        return Route(reply_needed=False, detail="no reply needed")
    if classification.topic == types_pb2.TOPIC_OTHER and len(classification.requests) > 1:
        return Route(
            escalation=events_pb2.ESCALATION_REASON_MULTIPLE_REQUESTS,
            detail="several requests: " + "; ".join(classification.requests),
        )
    if classification.topic == types_pb2.TOPIC_OTHER:
        return Route(
            escalation=events_pb2.ESCALATION_REASON_UNCLEAR,
            detail="unrelated or unclear request",
        )
    topic = topic_name(classification.topic)
    if topic not in WORKFLOWS:
        return Route(
            escalation=events_pb2.ESCALATION_REASON_NEEDS_REVIEW,
            detail=f"no automated workflow yet for {topic or 'an unspecified topic'}",
        )
    return Route(workflow=topic)
