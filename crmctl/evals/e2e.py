"""`crmctl eval e2e`: labelled scenarios through the whole mesh, started here on the demo
data with "today" pinned to the day the demo data was written for.

Each scenario's case history is stored in the memory service first (each earlier message
as the customer's e-mail or as the shop's approved reply, by its direction), then its
e-mail is published on NATS like the CRM does, and the outcome the mesh publishes is
compared with the labels: topic, urgency, escalation, and the proposed actions (type,
target, amount); and, when the scenario gives them, the urgency level and the language of
the drafted reply (a scenario without them is not checked on them).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
import uuid
from collections import Counter
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
import nats
from pydantic import BaseModel, Field, model_validator
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from crm.v1 import events_pb2, memory_pb2, types_pb2
from crmctl.events import EmailInput, publish_email
from crmctl.outcomes import DRAFT_READY, JOB_FAILED, MANUAL_HANDLING, decode, topic_name
from crmctl.stack import Stack, StackConfig
from services.classifier.cases import HistoryEntry
from services.common.jsonl import read_jsonl
from services.common.taxonomy import LEVEL_NONE, UrgencyName, urgency_of

if TYPE_CHECKING:
    from crm.v1.memory_pb2_grpc import MemoryServiceAsyncStub as MemoryStub
else:
    from crm.v1.memory_pb2_grpc import MemoryServiceStub as MemoryStub

# The demo data was written for this day; scenarios are labelled against it.
REFERENCE_TODAY = date(2026, 1, 29)
# Longest wait for one scenario's outcome.
OUTCOME_TIMEOUT_SECONDS = 60.0
_OUTCOMES = {
    DRAFT_READY: "draft_ready",
    MANUAL_HANDLING: "manual_handling",
    JOB_FAILED: "job_failed",
}
# Settings the LLM tier needs, passed on to the services that use it.
_LLM_ENV = ("LLM_API_KEY", "OPENAI_API_KEY", "LLM_BASE_URL", "LLM_TIMEOUT_SECONDS",
            "LLM_MAX_RETRIES", "LLM_MODEL_CLASSIFY", "LLM_MODEL_PRODUCT")  # fmt: skip


class ExpectedAction(BaseModel):
    """An action the scenario must produce."""

    type: str
    target: str
    amount: str | None = None


class Expected(BaseModel):
    """What the mesh must decide."""

    topic: str
    urgent: bool
    escalation: bool
    actions: list[ExpectedAction] = Field(default_factory=list)
    # The urgency level (evals/triage/LABELLING.md), compared when given; `urgent` must
    # agree with it (true for `priority` and `hands_off`).
    urgency: UrgencyName | None = None
    # The language the drafted reply must be written in (BCP 47 primary subtag), compared
    # when given and the mesh drafted a reply (a missing reply fails on escalation).
    reply_language: str | None = None

    @model_validator(mode="after")
    def _level_agrees(self) -> Expected:
        if self.urgency is not None and self.urgent != (self.urgency != LEVEL_NONE):
            raise ValueError(f"urgent={self.urgent} contradicts urgency={self.urgency!r}")
        return self


class Scenario(BaseModel):
    """One labelled scenario."""

    id: str
    email: str
    customer_id: int
    history: list[HistoryEntry] = Field(default_factory=list)
    sender_address: str = ""
    expected: Expected | None = None


def subject_and_body(email: str) -> tuple[str, str]:
    """A first line "Subject: ..." is the subject (the labelled sets' convention)."""
    first, _, rest = email.partition("\n")
    if first.lower().startswith("subject:"):
        return first.split(":", 1)[1].strip(), rest.lstrip("\n")
    return "", email


def action_name(action_type: int) -> str:
    """`ACTION_TYPE_CHARGE_REFUND` -> `charge_refund`."""
    return types_pb2.ActionType.Name(action_type).removeprefix("ACTION_TYPE_").lower()  # type: ignore[arg-type]


def predicted_of(subject: str, outcome: Any) -> dict[str, Any]:
    """The predicted line of a scenario from the outcome the mesh published."""
    kind = _OUTCOMES.get(subject, subject)
    if not isinstance(outcome, events_pb2.DraftReady):
        return {"outcome": kind, "topic": "", "urgent": False, "urgency": LEVEL_NONE,
                "escalation": kind != "job_failed", "reply": "", "reply_language": "",
                "actions": []}  # fmt: skip
    return {
        "outcome": kind,
        "topic": topic_name(outcome.classification.topic),
        "urgent": outcome.classification.urgent,
        "urgency": urgency_of(outcome.classification),
        "escalation": bool(outcome.escalation_reason),
        "reply": outcome.reply,
        "reply_language": outcome.reply_language,
        "actions": [
            {
                "type": action_name(a.type),
                "target": a.target,
                "amount": a.amount.amount if a.HasField("amount") else None,
            }
            for a in outcome.actions
        ],
    }


def action_key(action: dict[str, Any]) -> tuple[str, str, str]:
    """An action as compared: (type, target, amount)."""
    return (action["type"], action["target"], action.get("amount") or "")


def e2e_metrics(scenarios: list[Scenario], predicted: list[dict[str, Any]]) -> dict[str, Any]:
    """Micro precision and recall of actions (type, target, amount); a scenario passes
    when its outcome is a draft (or, for an escalation, any hand-over), and topic,
    urgency, escalation and the exact set of actions all agree, and so do the urgency
    level and the reply's language where the scenario gives them (the language only when
    a reply was drafted). The level and language accuracies are over the scenarios
    checked on them."""
    tp = fp = fn = passed = 0
    level_checked = level_right = language_checked = language_right = 0
    labelled = [(s, p) for s, p in zip(scenarios, predicted, strict=True) if s.expected]
    failures: Counter[str] = Counter()
    for scenario, got in labelled:
        assert scenario.expected is not None
        want = Counter(action_key(a.model_dump()) for a in scenario.expected.actions)
        have = Counter(action_key(a) for a in got["actions"])
        tp += sum((want & have).values())
        fp += sum((have - want).values())
        fn += sum((want - have).values())
        checks = {
            "topic": got["topic"] == scenario.expected.topic,
            "urgent": got["urgent"] == scenario.expected.urgent,
            "escalation": got["escalation"] == scenario.expected.escalation,
            "actions": want == have,
        }
        if scenario.expected.urgency is not None:
            checks["urgency"] = got.get("urgency", LEVEL_NONE) == scenario.expected.urgency
            level_checked += 1
            level_right += checks["urgency"]
        if scenario.expected.reply_language is not None and got.get("reply"):
            checks["reply_language"] = (
                got.get("reply_language", "") == scenario.expected.reply_language
            )
            language_checked += 1
            language_right += checks["reply_language"]
        passed += all(checks.values())
        failures.update(k for k, ok in checks.items() if not ok)
    return {
        "cases": len(scenarios),
        "action_precision": round(tp / (tp + fp), 4) if tp + fp else 1.0,
        "action_recall": round(tp / (tp + fn), 4) if tp + fn else 1.0,
        "scenario_pass_rate": round(passed / len(labelled), 4) if labelled else 0.0,
        "urgency_level_accuracy": round(level_right / level_checked, 4) if level_checked else None,
        "urgency_level_checked": level_checked,
        "reply_language_accuracy": (
            round(language_right / language_checked, 4) if language_checked else None
        ),
        "reply_language_checked": language_checked,
        "failed_checks": dict(failures),
    }


async def record_history(memory: MemoryStub, scenario: Scenario, case_id: str) -> None:
    """Stores the scenario's earlier messages in case memory, oldest first: the customer's
    as inbound e-mails, the shop's as approved replies."""
    for n, message in enumerate(scenario.history):
        request_id = f"{case_id}-history-{n}"
        if message.from_customer:
            await memory.RecordInboundEmail(
                memory_pb2.RecordInboundEmailRequest(
                    request_id=request_id,
                    case_id=case_id,
                    customer_id=scenario.customer_id,
                    subject="",
                    body=message.summary,
                )
            )
        else:
            await memory.RecordApprovedReply(
                memory_pb2.RecordApprovedReplyRequest(
                    request_id=request_id,
                    case_id=case_id,
                    customer_id=scenario.customer_id,
                    job_id=request_id,
                    subject="",
                    body=message.summary,
                )
            )


async def run(
    cases_file: Path, out_dir: Path, tier: str, json_out: bool, console: Console
) -> dict[str, Any]:
    """Starts the mesh, runs every scenario through it, writes results and metrics."""
    scenarios = read_jsonl(cases_file, Scenario)
    llm_env = {k: os.environ[k] for k in _LLM_ENV if k in os.environ} if tier == "llm" else {}
    if tier == "llm" and not llm_env:
        raise SystemExit("eval e2e --tier llm: set LLM_API_KEY or LLM_BASE_URL")
    state = Path(tempfile.mkdtemp(prefix="crm-e2e-"))
    config = StackConfig.on_free_ports(
        state,
        durable=False,
        today=REFERENCE_TODAY,
        log_level="WARNING",
        # Scenarios write many e-mails per customer: no rate limit in an evaluation.
        extra_env={
            "classifier": llm_env,
            "product": llm_env,
            "orchestrator": {"RATE_LIMIT_PER_CUSTOMER": "0"},
        },
    )
    stack = Stack(config)
    results: list[dict[str, Any]] = []
    outcomes: dict[str, tuple[str, Any]] = {}
    arrived = asyncio.Event()

    async def on_outcome(msg: Any) -> None:
        message = decode(msg.subject, msg.data)
        outcomes[message.job_id] = (msg.subject, message)
        arrived.set()

    try:
        await stack.start()
        nc = await nats.connect(stack.nats_url)
        js = nc.jetstream()
        await js.subscribe("crm.v1.job.>", cb=on_outcome, ordered_consumer=True)
        async with grpc.aio.insecure_channel(stack.address("memory")) as channel:
            memory: MemoryStub = MemoryStub(channel)
            with Progress(
                console=console, transient=True, disable=json_out and not console.is_terminal
            ) as progress:
                task = progress.add_task("eval e2e", total=len(scenarios))
                for scenario in scenarios:
                    case_id = f"case-{uuid.uuid4()}"
                    await record_history(memory, scenario, case_id)
                    subject, body = subject_and_body(scenario.email)
                    email = EmailInput(
                        case_id=case_id,
                        customer_id=scenario.customer_id,
                        sender_address=scenario.sender_address,
                        subject=subject,
                        body=body,
                    )
                    await publish_email(js, email)
                    deadline = asyncio.get_running_loop().time() + OUTCOME_TIMEOUT_SECONDS
                    while email.job_id not in outcomes:
                        arrived.clear()
                        remaining = deadline - asyncio.get_running_loop().time()
                        if remaining <= 0:
                            break
                        try:
                            await asyncio.wait_for(arrived.wait(), remaining)
                        except TimeoutError:
                            break
                    subject, outcome = outcomes.get(email.job_id, ("timeout", None))
                    results.append({"id": scenario.id, "predicted": predicted_of(subject, outcome)})
                    progress.advance(task)
        await nc.close()
    finally:
        await stack.stop()
        shutil.rmtree(state, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "results.jsonl").open("w", encoding="utf-8") as f:
        for row in results:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    metrics = e2e_metrics(scenarios, [r["predicted"] for r in results])
    metrics["tier"] = tier
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    table = Table(
        title=f"end to end on {metrics['cases']} scenarios (tier {tier})", title_justify="left"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key in ("action_precision", "action_recall", "scenario_pass_rate"):
        table.add_row(key.replace("_", " "), f"{metrics[key]:.3f}")
    for key, label in (("urgency_level", "urgency level"), ("reply_language", "reply language")):
        if metrics[f"{key}_checked"]:
            table.add_row(
                f"{label} accuracy ({metrics[f'{key}_checked']} checked)",
                f"{metrics[f'{key}_accuracy']:.3f}",
            )
    for check, count in sorted(metrics["failed_checks"].items()):
        table.add_row(f"scenarios failing on {check}", str(count))
    console.print(table)
    return metrics
