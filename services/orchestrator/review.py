"""What the review console shows of a draft, and the decision a reviewer's form makes.
Pure: protobuf and form fields in, view dictionaries and a DraftDecided out.

The console sends its decisions on the same contract as the CRM (crm.v1.draft.decided),
so the decision consumer's rules (stale drafts, second decisions, exactly-once actions)
hold for both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import DecodeError, Message
from google.protobuf.timestamp_pb2 import Timestamp

from crm.v1 import events_pb2
from services.common.taxonomy import TOPICS, topic_to_proto, urgency_of

MAX_COMMENT_CHARS = 2_000
MAX_REPLY_CHARS = 20_000
# A form id is random per rendered form: the same form submitted twice (a double click,
# a resent POST) makes the same decision id, which is carried out once.
_FORM_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_TOPICS = {name: topic_to_proto(name) for name in TOPICS}
_THUMBS = {"up": events_pb2.THUMB_UP, "down": events_pb2.THUMB_DOWN}


@dataclass(frozen=True)
class QueueMarks:
    """What a reviewer sees of a draft in the queue, before opening it."""

    level: str = "none"  # the urgency level: none, priority or hands_off
    escalated: str = ""  # why a person takes it over, when it is escalated
    low_confidence: bool = False
    language: str = ""  # when not English
    money: str = ""  # the sum of the refunds and credits proposed ("12.99 USD")
    hidden_content: bool = False
    suspected_injection: bool = False


def queue_marks(outcome: bytes | None) -> QueueMarks:
    """The queue marks of a stored DraftReady; none when it cannot be read."""
    draft = events_pb2.DraftReady()
    try:
        draft.ParseFromString(outcome or b"")
    except DecodeError:
        return QueueMarks()
    c = draft.classification
    amounts: dict[str, Decimal] = {}
    for action in draft.actions:
        if action.amount.amount:
            currency = action.amount.currency_code or "USD"
            amounts[currency] = amounts.get(currency, Decimal(0)) + Decimal(action.amount.amount)
    return QueueMarks(
        level=urgency_of(c),
        escalated=label(events_pb2.EscalationReason.Name(draft.escalation_reason))
        if draft.escalation_reason
        else "",
        low_confidence=c.low_confidence,
        language=c.language if c.language not in ("", "en", "und") else "",
        money=", ".join(f"{v:.2f} {k}" for k, v in amounts.items()),
        hidden_content=bool(draft.hidden_content),
        suspected_injection=c.suspected_injection,
    )


class FormError(ValueError):
    """A review form that cannot become a decision; the message is for the reviewer."""


def topic_choices() -> list[tuple[str, str]]:
    """(value, label) of every topic a reviewer may pick."""
    return [(key, label(key)) for key in _TOPICS]


def label(name: str) -> str:
    """An enum or key name as a reviewer reads it: "TOPIC_DELIVERY_DELAY" -> "delivery delay"."""
    for prefix in (
        "TOPIC_",
        "ACTION_TYPE_",
        "SHIPMENT_STATUS_",
        "ESCALATION_REASON_",
        "AVAILABILITY_STATUS_",
        "EXECUTION_OUTCOME_",
        "DECISION_VERDICT_",
        "DECISION_REFUSAL_REASON_",
        "TIER_",
        "THUMB_",
        "URGENCY_LEVEL_",
    ):
        name = name.removeprefix(prefix)
    return name.replace("_", " ").lower()


def normalised(text: str) -> str:
    """Reply text as compared: browser line ends, trailing spaces and outer blank lines
    do not count as an edit."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip()


def as_dict(message: Message) -> dict[str, Any]:
    """A protobuf message for a template: field names as in the proto, enums by name."""
    return MessageToDict(message, preserving_proto_field_name=True)


@dataclass(frozen=True)
class ReviewForm:
    """The fields of a submitted review form."""

    form_id: str
    verdict: str  # "approve" or "reject"
    reply: str = ""
    # Idempotency key -> accepted, for each action the form showed.
    actions: Mapping[str, bool] = field(default_factory=dict)
    job_thumb: str = ""
    case_thumb: str = ""
    corrected_topic: str = ""
    corrected_urgency: str = ""  # "", "urgent" or "not_urgent"
    labels_confirmed: bool = False
    comment: str = ""


def parse_form(fields: Mapping[str, str], action_keys: Sequence[str]) -> ReviewForm:
    """Reads the form; an action without a choice counts as rejected (never carried out
    by default). Raises FormError for a value the form cannot produce."""
    form_id = fields.get("form_id", "")
    if not _FORM_ID.match(form_id):
        raise FormError("the form has expired: open the draft again")
    verdict = fields.get("verdict", "")
    if verdict not in ("approve", "reject"):
        raise FormError("choose approve or reject")
    for name in ("job_thumb", "case_thumb"):
        if fields.get(name, "") not in ("", *_THUMBS):
            raise FormError(f"unknown {name.replace('_', ' ')}")
    topic = fields.get("corrected_topic", "")
    if topic and topic not in _TOPICS:
        raise FormError(f"unknown topic {topic!r}")
    urgency = fields.get("corrected_urgency", "")
    if urgency not in ("", "urgent", "not_urgent"):
        raise FormError(f"unknown urgency {urgency!r}")
    reply = fields.get("reply", "")
    if len(reply) > MAX_REPLY_CHARS:
        raise FormError(f"the reply is longer than {MAX_REPLY_CHARS} characters")
    comment = fields.get("comment", "").strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise FormError(f"the comment is longer than {MAX_COMMENT_CHARS} characters")
    return ReviewForm(
        form_id=form_id,
        verdict=verdict,
        reply=reply,
        actions={key: fields.get(f"action:{key}") == "accept" for key in action_keys},
        job_thumb=fields.get("job_thumb", ""),
        case_thumb=fields.get("case_thumb", ""),
        corrected_topic=topic,
        corrected_urgency=urgency,
        labels_confirmed=fields.get("labels_confirmed") == "yes",
        comment=comment,
    )


def decision_id(job_id: str, form_id: str) -> str:
    """The decision id of a console form."""
    return f"console:{job_id}:{form_id}"


def decision_from(
    form: ReviewForm,
    draft: events_pb2.DraftReady,
    *,
    job_id: str,
    reviewer_id: str,
    decided_at: datetime,
) -> events_pb2.DraftDecided:
    """The decision the form makes. Approving with a changed reply approves the edited
    reply; approving with an empty reply where one was drafted is refused here (reject
    the draft instead)."""
    decision = events_pb2.DraftDecided(
        decision_id=decision_id(job_id, form.form_id),
        job_id=job_id,
        case_id=draft.case_id,
        customer_id=draft.customer_id,
        reviewer_id=reviewer_id,
        comment=form.comment,
        labels_confirmed=form.labels_confirmed,
        decide_time=_timestamp(decided_at),
        job_thumb=_THUMBS.get(form.job_thumb, events_pb2.THUMB_UNSPECIFIED),
        case_thumb=_THUMBS.get(form.case_thumb, events_pb2.THUMB_UNSPECIFIED),
    )
    if form.verdict == "reject":
        decision.verdict = events_pb2.DECISION_VERDICT_REJECT
    else:
        sent, drafted = normalised(form.reply), normalised(draft.reply)
        if drafted and not sent:
            raise FormError("the reply is empty: write one, or reject the draft")
        if sent == drafted:
            decision.verdict = events_pb2.DECISION_VERDICT_APPROVE
        else:
            decision.verdict = events_pb2.DECISION_VERDICT_APPROVE_EDITED
            decision.edited_reply = sent
    rejecting = form.verdict == "reject"
    for action in draft.actions:
        key = action.idempotency_key
        decision.actions.append(
            events_pb2.ActionDecision(
                idempotency_key=key, accepted=not rejecting and form.actions.get(key, False)
            )
        )
    if form.corrected_topic and _TOPICS[form.corrected_topic] != draft.classification.topic:
        decision.corrected_topic = _TOPICS[form.corrected_topic]
    if form.corrected_urgency:
        urgent = form.corrected_urgency == "urgent"
        if urgent != draft.classification.urgent:
            decision.corrected_urgent = urgent
    return decision


def _timestamp(at: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(at)
    return ts
