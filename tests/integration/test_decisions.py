"""Reviewers' decisions: the accepted refund is credited exactly once even when the
decision is delivered twice; stale and second decisions are refused with reasons; the
approved reply is published and remembered."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest_asyncio
from google.protobuf.message import Message

from crm.v1 import delivery_pb2, events_pb2, types_pb2
from crmctl.events import publish_email
from crmctl.stack import dsn
from tests.conftest import Mesh
from tests.integration.test_email_to_draft import new_email
from tests.integration.test_metrics import scrape_metrics

_TYPES: dict[str, type[Message]] = {
    "crm.v1.reply.approved": events_pb2.ReplyApproved,
    "crm.v1.actions.executed": events_pb2.ActionsExecuted,
    "crm.v1.decision.refused": events_pb2.DecisionRefused,
}


@dataclass
class Results:
    """Events published after decisions, by decision id."""

    by_decision: dict[str, list[tuple[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    async def wait(self, decision_id: str, subject: str, timeout: float = 20.0) -> Any:
        for _ in range(int(timeout / 0.05)):
            for s, event in self.by_decision.get(decision_id, []):
                if s == subject:
                    return event
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {subject} for {decision_id}")


@pytest_asyncio.fixture
async def results(mesh: Mesh, ledger_restored: None) -> AsyncIterator[Results]:
    """Subscribes to the decision results (the ledger is put back afterwards)."""
    found = Results()

    async def on_msg(msg: Any) -> None:
        event: Any = _TYPES[msg.subject]()
        event.ParseFromString(msg.data)
        found.by_decision[event.decision_id].append((msg.subject, event))

    sub = await mesh.js.subscribe(
        "crm.v1.>", cb=on_msg, ordered_consumer=True, stream="CRM_RESULTS"
    )
    try:
        yield found
    finally:
        await sub.unsubscribe()


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


async def _draft(mesh: Mesh, case_id: str, body: str) -> events_pb2.DraftReady:
    email = new_email(4, "Late parcel", body, case_id=case_id)
    await publish_email(mesh.js, email)
    _, draft = await mesh.outcomes.wait_for(email.job_id)
    assert isinstance(draft, events_pb2.DraftReady)
    return draft


def _approve(draft: events_pb2.DraftReady, decision_id: str) -> events_pb2.DraftDecided:
    return events_pb2.DraftDecided(
        decision_id=decision_id,
        job_id=draft.job_id,
        case_id=draft.case_id,
        customer_id=draft.customer_id,
        reviewer_id="reviewer-1",
        verdict=events_pb2.DECISION_VERDICT_APPROVE,
        actions=[
            events_pb2.ActionDecision(idempotency_key=a.idempotency_key, accepted=True)
            for a in draft.actions
        ],
    )


async def test_an_approved_refund_is_credited_once_when_the_decision_arrives_twice(
    mesh: Mesh, results: Results
) -> None:
    draft = await _draft(mesh, f"case-{uuid.uuid4()}", "Where is my parcel FDX486159753?")
    assert draft.actions
    decision = _approve(draft, f"decision-{uuid.uuid4()}")
    for _ in range(2):  # delivered twice (no Nats-Msg-Id: JetStream keeps both)
        await mesh.js.publish("crm.v1.draft.decided", decision.SerializeToString())
    executed = await results.wait(decision.decision_id, "crm.v1.actions.executed")
    reply = await results.wait(decision.decision_id, "crm.v1.reply.approved")
    assert [r.outcome for r in executed.results] == [
        delivery_pb2.EXECUTION_OUTCOME_EXECUTED for _ in draft.actions
    ]
    assert reply.body == draft.reply and reply.reviewer_id == "reviewer-1"
    await asyncio.sleep(1.0)  # room for the second delivery to be handled
    owner = await asyncpg.connect(mesh.stack.owner_dsn("delivery"))
    try:
        credited = await owner.fetchval(
            "SELECT count(*) FROM delivery.action_executions WHERE decision_id = $1",
            decision.decision_id,
        )
    finally:
        await owner.close()
    assert credited == len(draft.actions)
    subjects = [s for s, _ in results.by_decision[decision.decision_id]]
    assert subjects.count("crm.v1.actions.executed") == 1

    # A second, different decision on the same draft is refused.
    second = _approve(draft, f"decision-{uuid.uuid4()}")
    await mesh.js.publish("crm.v1.draft.decided", second.SerializeToString())
    refused = await results.wait(second.decision_id, "crm.v1.decision.refused")
    assert refused.reason == events_pb2.DECISION_REFUSAL_REASON_ALREADY_DECIDED
    metrics = await asyncio.to_thread(scrape_metrics, mesh.metrics_ports["orchestrator"])
    assert 'crm_decisions_total{tier="0",topic="delivery_delay",verdict="approve"}' in metrics
    assert 'crm_decisions_refused_total{reason="already_decided"}' in metrics


async def test_a_decision_on_a_draft_the_customer_has_written_after_is_refused_as_stale(
    mesh: Mesh, results: Results
) -> None:
    case_id = f"case-{uuid.uuid4()}"
    first = await _draft(mesh, case_id, "Where is my parcel FDX486159753?")
    await _draft(mesh, case_id, "Any news on FDX486159753?")
    decision = _approve(first, f"decision-{uuid.uuid4()}")
    await mesh.js.publish("crm.v1.draft.decided", decision.SerializeToString())
    refused = await results.wait(decision.decision_id, "crm.v1.decision.refused")
    assert refused.reason == events_pb2.DECISION_REFUSAL_REASON_STALE_DRAFT


async def test_a_decision_without_a_reviewer_is_refused(mesh: Mesh, results: Results) -> None:
    draft = await _draft(mesh, f"case-{uuid.uuid4()}", "Where is my parcel FDX486159753?")
    decision = _approve(draft, f"decision-{uuid.uuid4()}")
    decision.reviewer_id = ""
    await mesh.js.publish("crm.v1.draft.decided", decision.SerializeToString())
    refused = await results.wait(decision.decision_id, "crm.v1.decision.refused")
    assert refused.reason == events_pb2.DECISION_REFUSAL_REASON_INVALID


async def test_feedback_export_keeps_only_vouched_labels_and_runs_as_an_eval(
    mesh: Mesh, results: Results, tmp_path: Path
) -> None:
    vouched = await _draft(mesh, f"case-{uuid.uuid4()}", "Where is my parcel FDX486159753?")
    corrected = await _draft(mesh, f"case-{uuid.uuid4()}", "I was charged twice for order 1003")
    unvouched = await _draft(mesh, f"case-{uuid.uuid4()}", "Where is my parcel FDX486159753??")
    decisions = [_approve(d, f"decision-{uuid.uuid4()}") for d in (vouched, corrected, unvouched)]
    decisions[0].labels_confirmed = True
    decisions[1].corrected_topic = types_pb2.TOPIC_TRANSACTION_INQUIRY
    decisions[1].corrected_urgent = True
    for d in decisions:
        d.verdict = events_pb2.DECISION_VERDICT_REJECT  # nothing executed, labels still count
        await mesh.js.publish("crm.v1.draft.decided", d.SerializeToString())
        await results.wait(d.decision_id, "crm.v1.actions.executed")
    out = tmp_path / "feedback.jsonl"
    crmctl = str(Path(sys.executable).parent / "crmctl")
    done = await asyncio.to_thread(
        _run,
        [crmctl, "feedback", "export", "--out", str(out),
         "--database-url", dsn(mesh.stack.superuser_dsn, "postgres")],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    cases = {c["id"]: c for c in map(json.loads, out.read_text().splitlines())}
    assert cases[vouched.job_id]["expected"] == {"topic": "delivery_delay", "urgent": False}
    assert cases[corrected.job_id]["expected"] == {"topic": "transaction_inquiry", "urgent": True}
    assert unvouched.job_id not in cases
    assert cases[vouched.job_id]["email"].startswith("Subject: Late parcel\n")
    evaluated = await asyncio.to_thread(
        _run,
        [crmctl, "eval", "classify", "--cases", str(out), "--out", str(tmp_path / "eval"),
         "--json"],
    )  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout.strip().splitlines()[-1])["cases"] >= 2
    shown = await asyncio.to_thread(
        _run,
        [crmctl, "report", "--database-url", dsn(mesh.stack.superuser_dsn, "postgres")],
    )
    assert shown.returncode == 0, shown.stderr
    assert "Reviewers' decisions by topic" in shown.stdout
    assert "Approval rate by topic" in shown.stdout and "delivery_delay" in shown.stdout
