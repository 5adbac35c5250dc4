"""Building and publishing e-mail events the way the CRM does."""

from __future__ import annotations

import email
import email.policy
import email.utils
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from nats.js import JetStreamContext
from opentelemetry.trace import SpanKind
from pydantic import BaseModel, Field

from crm.v1 import events_pb2
from services.common.tracing import JOB_ID, inject_headers, tracer

EMAIL_RECEIVED = "crm.v1.email.received"


class EmailInput(BaseModel):
    """An e-mail to publish, as given on the command line or in a JSON file."""

    job_id: str = Field(default_factory=lambda: f"job-{uuid.uuid4()}")
    case_id: str = Field(default_factory=lambda: f"case-{uuid.uuid4()}")
    customer_id: int
    sender_address: str = ""
    subject: str = ""
    body: str
    received_time: datetime = Field(default_factory=lambda: datetime.now(UTC))

    def to_event(self) -> events_pb2.EmailReceived:
        """The protobuf event."""
        ts = Timestamp()
        ts.FromDatetime(self.received_time)
        return events_pb2.EmailReceived(
            job_id=self.job_id,
            case_id=self.case_id,
            customer_id=self.customer_id,
            sender_address=self.sender_address,
            subject=self.subject,
            body=self.body,
            received_time=ts,
        )


def from_eml(path: Path) -> dict[str, Any]:
    """Subject, sender and body of an .eml file (plain text preferred over HTML)."""
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    body_part = message.get_body(preferencelist=("plain", "html"))
    body = body_part.get_content() if body_part is not None else ""
    return {
        "subject": str(message.get("subject", "")),
        "sender_address": email.utils.parseaddr(str(message.get("from", "")))[1],
        "body": body,
    }


def load_file(path: Path) -> dict[str, Any]:
    """Fields from a .json or .eml file."""
    if path.suffix.lower() == ".eml":
        return from_eml(path)
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return data


async def publish_email(js: JetStreamContext, item: EmailInput) -> int:
    """Publishes the event with the job id as Nats-Msg-Id and the trace context in its
    headers (a trace starts here, as it would in the CRM); returns its stream sequence."""
    with tracer(__name__).start_as_current_span(
        f"{EMAIL_RECEIVED} publish",
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "nats",
            "messaging.destination.name": EMAIL_RECEIVED,
            JOB_ID: item.job_id,
        },
    ):
        ack = await js.publish(
            EMAIL_RECEIVED,
            item.to_event().SerializeToString(),
            headers=inject_headers({"Nats-Msg-Id": item.job_id}),
        )
    return int(ack.seq)
