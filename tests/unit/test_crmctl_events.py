"""crmctl builds e-mail events from flags, JSON files and .eml files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from crm.v1 import events_pb2
from crmctl.events import EmailInput, load_file

EML = """From: Priya Raman <priya.raman@example.org>
To: support@shop.example
Subject: Late parcel
Content-Type: multipart/alternative; boundary="b"

--b
Content-Type: text/plain; charset=utf-8

My parcel USPS456789123 is late.
--b
Content-Type: text/html; charset=utf-8

<p>My parcel <b>USPS456789123</b> is late.</p>
--b--
"""


def test_eml_file_gives_subject_sender_and_plain_text_body(tmp_path: Path) -> None:
    path = tmp_path / "mail.eml"
    path.write_text(EML)
    fields = load_file(path)
    assert fields["subject"] == "Late parcel"
    assert fields["sender_address"] == "priya.raman@example.org"
    assert fields["body"].strip() == "My parcel USPS456789123 is late."


def test_json_file_fields_become_an_event_with_fresh_ids(tmp_path: Path) -> None:
    path = tmp_path / "mail.json"
    path.write_text(json.dumps({"customer_id": 3, "subject": "s", "body": "b"}))
    item = EmailInput(**load_file(path))
    event = events_pb2.EmailReceived.FromString(item.to_event().SerializeToString())
    assert event.customer_id == 3
    assert event.job_id.startswith("job-") and event.case_id.startswith("case-")
    assert event.HasField("received_time")


def test_email_without_customer_is_refused_before_publishing() -> None:
    with pytest.raises(ValidationError):
        EmailInput(body="hello")  # type: ignore[call-arg]
