"""Operators debug with grpcurl: every service answers reflection and the health check."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from crmctl.events import EmailInput, publish_email
from crmctl.stack import SERVICES
from tests.conftest import Mesh

pytestmark = pytest.mark.asyncio(loop_scope="session")

GRPCURL = shutil.which("grpcurl", path=str(Path(sys.executable).parent)) or "grpcurl"
SERVICE_NAMES = {
    "classifier": "crm.v1.ClassifierService",
    "product": "crm.v1.ProductService",
    "delivery": "crm.v1.DeliveryService",
    "memory": "crm.v1.MemoryService",
    "orchestrator": "crm.v1.OrchestratorService",
}


def grpcurl(*args: str) -> str:
    done = subprocess.run(
        [GRPCURL, "-plaintext", *args], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("service", [s.name for s in SERVICES])
async def test_grpcurl_lists_the_service_by_reflection_and_health_says_serving(
    mesh: Mesh, service: str
) -> None:
    address = mesh.stack.address(service)
    listed = (await asyncio.to_thread(grpcurl, address, "list")).split()
    assert SERVICE_NAMES[service] in listed
    assert "grpc.health.v1.Health" in listed
    health = json.loads(await asyncio.to_thread(grpcurl, address, "grpc.health.v1.Health/Check"))
    assert health == {"status": "SERVING"}
    named = json.loads(
        await asyncio.to_thread(
            grpcurl,
            "-d",
            json.dumps({"service": SERVICE_NAMES[service]}),
            address,
            "grpc.health.v1.Health/Check",
        )
    )
    assert named == {"status": "SERVING"}


async def test_grpcurl_shows_a_job_with_its_draft(mesh: Mesh) -> None:
    email = EmailInput(
        job_id=f"job-{uuid.uuid4()}",
        customer_id=2,
        subject="stock",
        body="Any Nike Air Max in size 10?",
    )
    await publish_email(mesh.js, email)
    await mesh.outcomes.wait_for(email.job_id)
    out = await asyncio.to_thread(
        grpcurl,
        "-d",
        json.dumps({"job_id": email.job_id}),
        mesh.stack.address("orchestrator"),
        "crm.v1.OrchestratorService/GetJob",
    )
    job = json.loads(out)["job"]
    assert job["job_id"] == email.job_id
    assert job["state"] == "JOB_STATE_DRAFT_READY"
    assert job["draft_ready"]["reply"]
