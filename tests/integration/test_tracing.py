"""One trace per e-mail: the NATS event, every gRPC call of the job and the draft."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from crmctl.events import publish_email
from tests.conftest import Mesh
from tests.integration.test_email_to_draft import new_email


def _spans(mesh: Mesh) -> list[dict[str, Any]]:
    return [json.loads(line) for line in mesh.traces_file.read_text().splitlines() if line]


async def _spans_once_ended(mesh: Mesh, job_id: str) -> list[dict[str, Any]]:
    """The spans, once the job's own span has ended (just after its outcome is published)."""
    for _ in range(100):
        spans = _spans(mesh)
        if any(
            s["name"].endswith(" process") and s["attributes"].get("crm.job_id") == job_id
            for s in spans
        ):
            return spans
        await asyncio.sleep(0.05)
    return _spans(mesh)


async def test_one_trace_links_the_event_every_grpc_call_and_the_draft(mesh: Mesh) -> None:
    email = new_email(4, "Late parcel", "Where is my parcel FDX486159753?")
    await publish_email(mesh.js, email)
    await mesh.outcomes.wait_for(email.job_id)
    spans = await _spans_once_ended(mesh, email.job_id)
    mine = [s for s in spans if s["attributes"].get("crm.job_id") == email.job_id]
    trace_ids = {s["context"]["trace_id"] for s in mine}
    assert len(trace_ids) == 1
    trace = [s for s in spans if s["context"]["trace_id"] in trace_ids]
    names = {s["name"] for s in trace}
    assert "crm.v1.email.received publish" in names  # the event, as published
    assert "crm.v1.email.received process" in names  # the orchestrator's job
    assert {
        "/crm.v1.MemoryService/RecordInboundEmail",
        "/crm.v1.MemoryService/GetCaseContext",
        "/crm.v1.MemoryService/RecordDraft",
        "/crm.v1.DeliveryService/CheckSender",
        "/crm.v1.ClassifierService/ClassifyEmail",
        "/crm.v1.DeliveryService/AssessDeliveries",
    } <= names
    assert "crm.v1.job.draft_ready publish" in names  # the draft
    services = {s["resource"]["attributes"]["service.name"] for s in trace}
    assert {"crm-orchestrator", "crm-memory", "crm-classifier", "crm-delivery"} <= services
    # Server spans carry the job and the customer; the job span its topic and attempt.
    classify = next(
        s
        for s in trace
        if s["name"] == "/crm.v1.ClassifierService/ClassifyEmail" and s["kind"] == "SpanKind.SERVER"
    )
    assert classify["attributes"]["crm.job_id"] == email.job_id
    assert classify["attributes"]["crm.customer_id"] == 4
    job = next(s for s in trace if s["name"] == "crm.v1.email.received process")
    assert job["attributes"]["crm.topic"] == "delivery_delay"
    assert job["attributes"]["messaging.nats.delivery_attempt"] == 1
