"""Every service exports Prometheus metrics; the orchestrator's count e-mails by outcome."""

from __future__ import annotations

import asyncio
import urllib.request

from crmctl.events import publish_email
from tests.conftest import Mesh
from tests.integration.test_email_to_draft import new_email


def scrape_metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


async def test_every_service_exports_its_grpc_calls_and_the_orchestrator_its_jobs(
    mesh: Mesh,
) -> None:
    email = new_email(4, "Late parcel", "Where is my parcel FDX486159753?")
    await publish_email(mesh.js, email)
    await mesh.outcomes.wait_for(email.job_id)
    orchestrator = await asyncio.to_thread(scrape_metrics, mesh.metrics_ports["orchestrator"])
    assert 'crm_emails_total{outcome="draft_ready",topic="delivery_delay"}' in orchestrator
    assert 'crm_job_stage_seconds_count{stage="classifier"}' in orchestrator
    assert "crm_consumer_pending_messages" in orchestrator
    assert "crm_dead_letters_total" in orchestrator
    classifier = await asyncio.to_thread(scrape_metrics, mesh.metrics_ports["classifier"])
    assert (
        'crm_grpc_server_handled_total{code="OK",method="/crm.v1.ClassifierService/ClassifyEmail"}'
        in classifier
    )
    for service in ("delivery", "memory"):  # called by this job
        text = await asyncio.to_thread(scrape_metrics, mesh.metrics_ports[service])
        assert "crm_grpc_server_handling_seconds_bucket" in text
    product = await asyncio.to_thread(scrape_metrics, mesh.metrics_ports["product"])
    assert "# TYPE crm_grpc_server_handling_seconds histogram" in product
