"""What the review console shows of a draft, and the decision a reviewer's form makes.
Pure: protobuf, form fields and query strings in, view values and a DraftDecided out.

The console sends its decisions on the same contract as the CRM (crm.v1.draft.decided),
so the decision consumer's rules (stale drafts, second decisions, exactly-once actions)
hold for both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import DecodeError, Message
from google.protobuf.timestamp_pb2 import Timestamp

from crm.v1 import classifier_pb2, events_pb2, types_pb2
from services.common.taxonomy import (
    LEVEL_HANDS_OFF,
    LEVEL_NONE,
    LEVEL_PRIORITY,
    TOPICS,
    topic_to_proto,
    urgency_of,
)

MAX_COMMENT_CHARS = 2_000
MAX_REPLY_CHARS = 20_000
# A form id is random per rendered form: the same form submitted twice (a double click,
# a resent POST) makes the same decision id, which is carried out once.
_FORM_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_TOPICS = {name: topic_to_proto(name) for name in TOPICS}
_THUMBS = {"up": events_pb2.THUMB_UP, "down": events_pb2.THUMB_DOWN}

# The queue: how much of an escalation's detail a row shows, and its pages.
MAX_QUEUE_DETAIL_CHARS = 160
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
PAGE_SIZES = (10, 25, 50, 100)
# The urgency levels a reviewer filters by, with their words.
QUEUE_LEVELS = {LEVEL_HANDS_OFF: "hands off", LEVEL_PRIORITY: "priority", LEVEL_NONE: "not urgent"}
_MAX_JOB_ID_CHARS = 200
_PAGE_SIZE = re.compile(r"^[0-9]{1,3}$")
# An action as a reviewer names it in the queue; the draft page has the full story.
_ACTION_WORDS = {
    types_pb2.ACTION_TYPE_DELIVERY_FEE_REFUND: "delivery fee refund",
    types_pb2.ACTION_TYPE_DELIVERY_FEE_REFUND_ON_ARRIVAL: "delivery fee refund on arrival",
    types_pb2.ACTION_TYPE_EXPEDITED_COUPON: "coupon",
    types_pb2.ACTION_TYPE_CARRIER_UPDATE_REQUEST: "carrier follow-up",
    types_pb2.ACTION_TYPE_CHARGE_REFUND: "charge refund",
    types_pb2.ACTION_TYPE_RETURN_AUTHORISATION: "return",
}


@dataclass(frozen=True)
class QueueMarks:
    """What a reviewer sees of a draft in the queue, before opening it."""

    readable: bool = False  # False when the stored draft cannot be read
    level: str = LEVEL_NONE  # the urgency level: none, priority or hands_off
    escalated: str = ""  # why a person takes it over, in words, when it is escalated
    escalation_detail: str = ""  # the draft's own words for it, shortened
    # Each proposed action with its amount ("delivery fee refund $1.50", "coupon").
    actions: tuple[str, ...] = ()
    reply_needed: bool = True
    low_confidence: bool = False
    language: str = ""  # of the e-mail (BCP 47); empty when not recognised
    reply_language: str = ""  # of the reply, when the draft says
    reply_language_note: str = ""  # why the reply is not in the customer's language
    hidden_content: bool = False
    suspected_injection: bool = False


def queue_marks(outcome: bytes | None) -> QueueMarks:
    """The queue marks of a stored DraftReady; none when it cannot be read."""
    if not outcome:
        return QueueMarks()
    draft = events_pb2.DraftReady()
    try:
        draft.ParseFromString(outcome)
    except DecodeError:
        return QueueMarks()
    c = draft.classification
    escalated = (
        _words(events_pb2.EscalationReason, draft.escalation_reason, "escalated")
        if draft.escalation_reason
        else ""
    )
    detail = shortened(draft.escalation_detail, MAX_QUEUE_DETAIL_CHARS) if escalated else ""
    if label(detail) in (escalated, "urgent", "hands off"):
        detail = ""  # no second word for the same thing ("urgent: urgent")
    return QueueMarks(
        readable=True,
        level=queue_level(c),
        escalated=escalated,
        escalation_detail=detail,
        actions=tuple(action_words(a) for a in draft.actions),
        reply_needed=draft.reply_needed,
        low_confidence=c.low_confidence,
        language=c.language if c.language not in ("", "und") else "",
        reply_language=draft.reply_language,
        reply_language_note=draft.reply_language_note,
        hidden_content=bool(draft.hidden_content.strip()),
        suspected_injection=c.suspected_injection,
    )


def queue_level(classification: classifier_pb2.Classification) -> str:
    """The level the queue sorts and filters by: none unless the reading is urgent (the
    jobs table's urgent flag, which puts urgent drafts first), and an urgent reading's
    level, hands_off when it has none (the safer reading)."""
    if not classification.urgent:
        return LEVEL_NONE
    level = urgency_of(classification)
    return LEVEL_HANDS_OFF if level == LEVEL_NONE else level


def action_words(action: types_pb2.ProposedAction) -> str:
    """A proposed action as the queue names it: "delivery fee refund $1.50"."""
    words = _ACTION_WORDS.get(action.type) or _words(types_pb2.ActionType, action.type, "action")
    if action.type == types_pb2.ACTION_TYPE_RETURN_AUTHORISATION and action.resolution:
        words = f"return for {action.resolution}"
    if action.amount.amount:
        words += " " + money_words(action.amount.amount, action.amount.currency_code)
    return words


def _words(enum: Any, value: int, unknown: str) -> str:
    """An enum value in words; a value this build does not know (a newer producer's) is
    named by its number."""
    try:
        return label(str(enum.Name(value)))
    except ValueError:
        return f"{unknown} {value}"


def money_words(amount: str, currency: str) -> str:
    """ "1.5", "USD" -> "$1.50"; other currencies after the amount ("12.00 EUR"); an
    amount that is not a number is shown as it is."""
    try:
        value = Decimal(amount)
    except InvalidOperation:
        return f"{amount} {currency}".strip()
    exponent = value.as_tuple().exponent
    if not value.is_finite() or not isinstance(exponent, int):
        return f"{amount} {currency}".strip()
    text = f"{value:.2f}" if exponent >= -2 else str(value)
    return f"${text}" if currency in ("", "USD") else f"{text} {currency}"


def shortened(text: str, limit: int) -> str:
    """`text` on one line, cut at a word before `limit` characters with an ellipsis."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:") + "…"


class QueryError(ValueError):
    """A queue address the console cannot show (a filter or page it does not know); the
    message is for the reviewer."""


@dataclass(frozen=True)
class QueueQuery:
    """Which drafts of the queue a page shows: a filter, a page size and where the page
    starts (after a draft) or ends (before one). Pages are anchored on drafts rather than
    numbered, so deciding drafts on earlier pages does not shift the ones a reviewer sees."""

    topic: str = ""  # a taxonomy topic; "" for every topic
    level: str = ""  # a key of QUEUE_LEVELS; "" for every level
    size: int = DEFAULT_PAGE_SIZE
    after: str = ""  # a job id: the page starts after this draft
    before: str = ""  # a job id: the page ends before this draft

    @property
    def filtered(self) -> bool:
        return bool(self.topic or self.level)

    def link(self, *, after: str = "", before: str = "") -> str:
        """The address of a page of the same filter and size (defaults left out)."""
        params = [
            ("topic", self.topic),
            ("level", self.level),
            ("size", str(self.size) if self.size != DEFAULT_PAGE_SIZE else ""),
            ("after", after),
            ("before", before),
        ]
        query = urlencode([(k, v) for k, v in params if v])
        return f"/?{query}" if query else "/"


_QUERY_KEYS = ("topic", "level", "size", "after", "before")


def parse_queue_query(pairs: Iterable[tuple[str, str]]) -> QueueQuery:
    """Reads the queue's query string (its pairs, repeated keys included). Unknown keys
    are ignored; an empty value means the default. Raises QueryError for a value the
    console cannot show."""
    values: dict[str, str] = {}
    for key, value in pairs:
        if key not in _QUERY_KEYS:
            continue
        if key in values:
            raise QueryError(f"give {key} once, not several times")
        values[key] = value.strip()
    topic = values.get("topic", "")
    if topic and topic not in _TOPICS:
        raise QueryError(f"unknown topic {_shown(topic)}: choose one of {', '.join(TOPICS)}")
    level = values.get("level", "")
    if level and level not in QUEUE_LEVELS:
        raise QueryError(
            f"unknown urgency level {_shown(level)}: choose one of {', '.join(QUEUE_LEVELS)}"
        )
    size_text = values.get("size", "")
    size = int(size_text) if _PAGE_SIZE.match(size_text) else DEFAULT_PAGE_SIZE
    if size_text and not (_PAGE_SIZE.match(size_text) and 1 <= size <= MAX_PAGE_SIZE):
        raise QueryError(f"the page size must be a whole number from 1 to {MAX_PAGE_SIZE}")
    after, before = values.get("after", ""), values.get("before", "")
    if after and before:
        raise QueryError("a page starts after a draft or ends before one, not both")
    for anchor in (after, before):
        if anchor and (len(anchor) > _MAX_JOB_ID_CHARS or not anchor.isprintable()):
            raise QueryError("the page's position is not a draft: start from the first page")
    return QueueQuery(topic=topic, level=level, size=size, after=after, before=before)


def _shown(value: str) -> str:
    """A value from the address, quoted and shortened for an error message."""
    return repr(shortened(value, 40))


def level_choices() -> list[tuple[str, str]]:
    """(value, label) of every urgency level a reviewer may filter by."""
    return list(QUEUE_LEVELS.items())


def page_size_choices(current: int) -> list[int]:
    """The page sizes offered, with the current one when it was typed in the address."""
    return sorted({*PAGE_SIZES, current})


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
