"""Intake: turn raw NATS payloads into validated e-mails, before any model runs.

Pure functions: bytes and headers in, a validated e-mail or a failure out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf.message import DecodeError
from google.protobuf.unknown_fields import UnknownFieldSet

from crm.v1 import events_pb2, types_pb2
from services.common.mail import has_controls, read_body, without_controls


@dataclass(frozen=True)
class Email:
    """A validated inbound e-mail, body cleaned of HTML, hidden HTML and quoted replies."""

    job_id: str
    case_id: str
    customer_id: int
    sender_address: str
    subject: str
    body: str
    received_at: datetime
    # Text of the HTML body that a mail client would not show (display:none, hidden, ...),
    # removed from `body`: evidence for the reviewer, never instructions.
    hidden_content: str = ""


@dataclass(frozen=True)
class IntakeFailure:
    """Why an event cannot become a job; becomes a job-failed event."""

    job_id: str
    code: types_pb2.ErrorCode.ValueType
    detail: str
    case_id: str = ""
    customer_id: int = 0


# Longest body (after HTML and quoted replies are removed) the agent takes on; longer
# e-mails go to a person (they can carry hundreds of identifiers to harvest data).
DEFAULT_MAX_BODY_CHARS = 2_500


@dataclass(frozen=True)
class Rejection:
    """Why intake hands an e-mail to a person before any model runs."""

    reason: events_pb2.ManualHandlingReason.ValueType
    detail: str


def gate(email: Email, max_body_chars: int = DEFAULT_MAX_BODY_CHARS) -> Rejection | None:
    """The intake gate: None when the agent may handle the e-mail."""
    if len(email.body) > max_body_chars:
        return Rejection(
            events_pb2.MANUAL_HANDLING_REASON_EMAIL_TOO_LONG,
            f"the body is {len(email.body)} characters after removing quotes and HTML;"
            f" the agent takes at most {max_body_chars}",
        )
    if not email.body.strip() and not email.subject.strip():
        return Rejection(
            events_pb2.MANUAL_HANDLING_REASON_EMPTY_BODY,
            "the e-mail has no text once quoted replies and HTML are removed",
        )
    return None


def rate_limit(earlier_in_window: int, limit: int, window_seconds: float) -> Rejection | None:
    """The per-customer rate limit: beyond `limit` e-mails of one customer within the
    window (this one included), the rest go to a person. A limit of 0 turns it off."""
    if limit <= 0 or earlier_in_window + 1 <= limit:
        return None
    return Rejection(
        events_pb2.MANUAL_HANDLING_REASON_RATE_LIMITED,
        f"e-mail {earlier_in_window + 1} of this customer within {window_seconds:g}s; the agent"
        f" drafts for at most {limit}",
    )


def _mistyped_fields(event: events_pb2.EmailReceived) -> list[str]:
    """Names of EmailReceived fields that arrived with another wire type (protobuf keeps
    them as unknown fields)."""
    known = event.DESCRIPTOR.fields_by_number
    unknown = UnknownFieldSet(event)
    numbers = {unknown[i].field_number for i in range(len(unknown))}
    return sorted(known[n].name for n in numbers if n in known)


def parse_event(payload: bytes, msg_id: str, stream_sequence: int) -> Email | IntakeFailure:
    """Parses and validates an e-mail event; failures name the job by Nats-Msg-Id or sequence."""
    fallback_id = msg_id or f"seq-{stream_sequence}"
    try:
        event = events_pb2.EmailReceived.FromString(payload)
    except (DecodeError, ValueError) as exc:
        return IntakeFailure(
            fallback_id, types_pb2.ERROR_CODE_INVALID_PAYLOAD, f"not a crm.v1.EmailReceived: {exc}"
        )
    job_id = event.job_id or fallback_id
    if mistyped := _mistyped_fields(event):
        # A field of ours with another wire type: some other message (or a broken
        # encoder), not an e-mail. Unknown field numbers are tolerated (newer CRM versions).
        return IntakeFailure(
            job_id,
            types_pb2.ERROR_CODE_INVALID_PAYLOAD,
            f"not a crm.v1.EmailReceived: field(s) {', '.join(mistyped)} have the wrong type",
        )
    if not event.ListFields():
        # Arbitrary bytes can parse as a message made only of unknown fields.
        return IntakeFailure(
            job_id, types_pb2.ERROR_CODE_INVALID_PAYLOAD, "no crm.v1.EmailReceived field is set"
        )
    if event.customer_id <= 0:
        return IntakeFailure(
            job_id,
            types_pb2.ERROR_CODE_CUSTOMER_MISSING,
            "the event names no authenticated customer (customer_id must be positive)",
            case_id=event.case_id,
        )
    with_controls = [name for name in ("job_id", "case_id") if has_controls(getattr(event, name))]
    if with_controls:
        return IntakeFailure(
            job_id if "job_id" not in with_controls else fallback_id,
            types_pb2.ERROR_CODE_INVALID_ARGUMENT,
            f"{', '.join(with_controls)} holds a control character",
            customer_id=event.customer_id,
        )
    if not event.job_id or not event.case_id:
        missing = [name for name in ("job_id", "case_id") if not getattr(event, name)]
        return IntakeFailure(
            job_id,
            types_pb2.ERROR_CODE_INVALID_ARGUMENT,
            f"missing required field(s): {', '.join(missing)}",
            case_id=event.case_id,
            customer_id=event.customer_id,
        )
    received = (
        event.received_time.ToDatetime(UTC)
        if event.HasField("received_time")
        else datetime.now(UTC)
    )
    mail = read_body(event.body)
    return Email(
        job_id=event.job_id,
        case_id=event.case_id,
        customer_id=event.customer_id,
        sender_address=without_controls(event.sender_address).strip(),
        subject=without_controls(event.subject).strip(),
        body=mail.text,
        received_at=received,
        hidden_content=mail.hidden,
    )
