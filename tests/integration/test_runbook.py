"""docs/runbook.md's commands work: its `runbook-test` blocks run against the test mesh.

Each fenced block whose info string is `sh runbook-test` is run with bash, in document
order, with the variables the runbook tells operators to set (ORCHESTRATOR, DELIVERY,
NATS_URL, JOB_ID, SEQ, TRACES_FILE) pointing at the test mesh and at a dead letter made
for it; it must succeed, and every line of the `text runbook-output` block that follows it
(variables substituted) must appear in what it printed.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from crmctl.events import EmailInput
from crmctl.outcomes import DRAFT_READY
from services.orchestrator import jetstream
from tests.conftest import Mesh

pytestmark = pytest.mark.asyncio(loop_scope="session")

RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "runbook.md"
BIN = Path(sys.executable).parent
FENCE = re.compile(r"^```(.*)$")


@dataclass
class Block:
    """A command block of the runbook and the output it promises."""

    line: int
    commands: str
    expected: list[str] = field(default_factory=list)


def runbook_blocks(text: str) -> list[Block]:
    """The `sh runbook-test` blocks in order, each with its `text runbook-output` lines."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    last_was_test = False
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            if lines[i].strip():
                last_was_test = False
            i += 1
            continue
        info = opening.group(1).split()
        start = i
        i += 1
        body: list[str] = []
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        if info == ["sh", "runbook-test"]:
            blocks.append(Block(start + 1, "\n".join(body)))
            last_was_test = True
        elif info == ["text", "runbook-output"]:
            assert last_was_test, f"runbook line {start + 1}: output block after no command"
            blocks[-1].expected = [x.strip() for x in body if x.strip()]
            last_was_test = False
        else:
            last_was_test = False
    return blocks


def substitute(text: str, env: dict[str, str]) -> str:
    for name in sorted(env, key=len, reverse=True):
        text = text.replace("${" + name + "}", env[name]).replace("$" + name, env[name])
    return text


async def test_the_runbook_marks_its_operational_commands_for_testing() -> None:
    blocks = runbook_blocks(RUNBOOK.read_text())
    commands = "\n".join(b.commands for b in blocks)
    for needed in (
        "crmctl dlq list",
        "crmctl dlq replay",
        "grpcurl -plaintext",
        "crm.v1.OrchestratorService/GetJob",
        "TRACES_FILE",
    ):
        assert needed in commands, needed
    assert all(b.expected for b in blocks), [b.line for b in blocks if not b.expected]


async def dead_letter(mesh: Mesh) -> tuple[str, int]:
    """An e-mail on the dead-letter stream as the orchestrator puts one there."""
    email = EmailInput(
        job_id=f"job-{uuid.uuid4()}",
        customer_id=4,
        subject="late parcel",
        body="Where is my parcel FDX486159753? It is late.",
    )
    ack = await mesh.js.publish(
        jetstream.dead_letter_subject(jetstream.EMAIL_RECEIVED),
        email.to_event().SerializeToString(),
        headers={
            "Nats-Msg-Id": f"dead:runbook:{email.job_id}",
            jetstream.ORIGINAL_SUBJECT: jetstream.EMAIL_RECEIVED,
            jetstream.ORIGINAL_SEQUENCE: "0",
            jetstream.DELIVERIES: "1",
            jetstream.DEAD_LETTER_JOB: email.job_id,
            jetstream.DEAD_LETTER_REASON: "dead-lettered by tests/integration/test_runbook.py",
        },
    )
    return email.job_id, int(ack.seq)


def run(block: Block, env: dict[str, str]) -> str:
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block.commands],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, (
        f"runbook line {block.line} failed ({done.returncode}):\n{block.commands}\n"
        f"{done.stdout}\n{done.stderr}"
    )
    return done.stdout


async def test_the_runbook_commands_work_against_the_mesh(mesh: Mesh) -> None:
    job_id, sequence = await dead_letter(mesh)
    variables = {
        "ORCHESTRATOR": mesh.stack.address("orchestrator"),
        "DELIVERY": mesh.stack.address("delivery"),
        "NATS_URL": mesh.stack.nats_url,
        "ORCHESTRATOR_ADDRESS": mesh.stack.address("orchestrator"),
        "JOB_ID": job_id,
        "SEQ": str(sequence),
        "TRACES_FILE": str(mesh.traces_file),
    }
    env = {
        **os.environ,
        **variables,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "COLUMNS": "250",  # rich tables as wide as a terminal would show them
    }
    blocks = runbook_blocks(await asyncio.to_thread(RUNBOOK.read_text))
    assert blocks
    for block in blocks:
        out = await asyncio.to_thread(run, block, env)
        for line in block.expected:
            wanted = substitute(line, variables)
            assert wanted in out, (
                f"runbook line {block.line}: {wanted!r} not in the output of\n"
                f"{block.commands}\n---\n{out}"
            )
        if "dlq replay" in block.commands:
            # The replayed job runs before the next section looks it up.
            subject, _ = await mesh.outcomes.wait_for(job_id, timeout=30)
            assert subject == DRAFT_READY
            await spans_written(mesh, job_id)


async def spans_written(mesh: Mesh, job_id: str) -> None:
    """Waits until the job's own span has been written (just after its outcome)."""
    for _ in range(100):
        if job_span_written(mesh.traces_file, job_id):
            return
        await asyncio.sleep(0.05)


def job_span_written(traces: Path, job_id: str) -> bool:
    needle = f'"crm.job_id": "{job_id}"'
    text = traces.read_text() if traces.exists() else ""
    return any(needle in line and " process" in line for line in text.splitlines())
