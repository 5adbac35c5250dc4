"""A service that is down: e-mails wait within the retry horizon, and fail clearly beyond it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import grpc
import pytest

from crm.v1 import orchestrator_pb2, orchestrator_pb2_grpc, types_pb2
from crmctl.events import EmailInput, publish_email
from crmctl.outcomes import DRAFT_READY, JOB_FAILED
from tests.conftest import TEST_RETRY_HORIZON_SECONDS, Mesh

pytestmark = pytest.mark.asyncio(loop_scope="session")


def late_parcel_email() -> EmailInput:
    return EmailInput(
        job_id=f"job-{uuid.uuid4()}",
        customer_id=4,
        subject="late parcel",
        body="Where is FDX486159753? It is late.",
    )


def crmctl_status(mesh: Mesh) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NATS_URL": mesh.stack.nats_url}
    for name in ("classifier", "product", "delivery", "memory", "orchestrator"):
        env[f"{name.upper()}_ADDRESS"] = mesh.stack.address(name)
    return subprocess.run(
        [str(Path(sys.executable).parent / "crmctl"), "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_email_waits_for_a_briefly_stopped_service_and_completes_once_it_is_back(
    mesh: Mesh,
) -> None:
    await asyncio.to_thread(mesh.stack.stop_service, "delivery")
    try:
        email = late_parcel_email()
        await publish_email(mesh.js, email)
        await asyncio.sleep(TEST_RETRY_HORIZON_SECONDS / 3)
        assert mesh.outcomes.count(email.job_id) == 0, "the job must wait, not fail"
    finally:
        mesh.stack.start_service("delivery")
        await mesh.stack.wait_serving("delivery")
    subject, draft = await mesh.outcomes.wait_for(
        email.job_id, timeout=TEST_RETRY_HORIZON_SECONDS * 2
    )
    assert subject == DRAFT_READY
    assert draft.actions
    async with grpc.aio.insecure_channel(mesh.stack.address("orchestrator")) as channel:
        job = (
            await orchestrator_pb2_grpc.OrchestratorServiceStub(channel).GetJob(
                orchestrator_pb2.GetJobRequest(job_id=email.job_id)
            )
        ).job
    assert job.delivery_attempts > 1


async def test_email_fails_past_the_retry_horizon_and_is_redriven_from_the_dead_letters(
    mesh: Mesh,
) -> None:
    await asyncio.to_thread(mesh.stack.stop_service, "delivery")
    try:
        status = await asyncio.to_thread(crmctl_status, mesh)
        assert status.returncode == 1, status.stdout
        assert "delivery" in status.stdout
        email = late_parcel_email()
        await publish_email(mesh.js, email)
        subject, failed = await mesh.outcomes.wait_for(
            email.job_id, timeout=TEST_RETRY_HORIZON_SECONDS * 3
        )
        assert subject == JOB_FAILED
        assert failed.code == types_pb2.ERROR_CODE_DEPENDENCY_UNAVAILABLE
        assert "delivery" in failed.detail
    finally:
        mesh.stack.start_service("delivery")
        await mesh.stack.wait_serving("delivery")
    status = await asyncio.to_thread(crmctl_status, mesh)
    assert status.returncode == 0, status.stdout

    # The event waits on the dead-letter stream; once the service is back, an operator
    # re-drives it and the job gets its draft (under a new message id).
    listed = await asyncio.to_thread(crmctl, mesh, "dlq", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    letters = [json.loads(line) for line in listed.stdout.splitlines() if line.startswith("{")]
    (letter,) = [x for x in letters if x["job_id"] == email.job_id]
    assert letter["subject"] == "crm.v1.email.received"
    assert "retry horizon" in letter["reason"]
    replayed = await asyncio.to_thread(crmctl, mesh, "dlq", "replay", str(letter["sequence"]))
    assert replayed.returncode == 0, replayed.stderr
    for _ in range(400):
        if mesh.outcomes.count(email.job_id) >= 2:
            break
        await asyncio.sleep(0.05)
    assert [s for s, _ in mesh.outcomes.by_job[email.job_id]] == [JOB_FAILED, DRAFT_READY]
    after = await asyncio.to_thread(crmctl, mesh, "dlq", "list", "--json")
    assert email.job_id not in after.stdout


def crmctl(mesh: Mesh, *args: str) -> subprocess.CompletedProcess[str]:
    """Runs crmctl against the test mesh's NATS."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "crmctl"), "--nats-url", mesh.stack.nats_url, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
