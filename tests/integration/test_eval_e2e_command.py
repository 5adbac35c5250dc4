"""`crmctl eval e2e` starts the mesh on the demo data, runs scenarios and scores them."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from crmctl.evals.e2e import Scenario, e2e_metrics

SCENARIOS = [
    {"id": "late", "email": "Hi, where is my parcel FDX486159753? It is late.", "customer_id": 4,
     "expected": {"topic": "delivery_delay", "urgent": False, "escalation": False,
                  "actions": [{"type": "delivery_fee_refund_on_arrival", "target": "FDX486159753",
                               "amount": "6.00"}]}},
    {"id": "double", "email": "I was charged twice for order 1003!", "customer_id": 3,
     "expected": {"topic": "billing_dispute", "urgent": False, "escalation": False,
                  "actions": [{"type": "charge_refund", "target": "1003", "amount": "117.99"}]}},
    {"id": "fourth", "email": "where is my order??", "customer_id": 4,
     "history": ["Customer asked where parcel FDX486159753 is.",
                 "Customer asked again where parcel FDX486159753 is.",
                 "Customer says parcel FDX486159753 still has not arrived."],
     "expected": {"topic": "delivery_delay", "urgent": True, "escalation": True, "actions": []}},
]  # fmt: skip


def test_eval_e2e_runs_scenarios_through_the_mesh_and_scores_actions(tmp_path: Path) -> None:
    cases = tmp_path / "scenarios.jsonl"
    cases.write_text("\n".join(json.dumps(s) for s in SCENARIOS) + "\n")
    out = tmp_path / "out"
    done = subprocess.run(
        [str(Path(sys.executable).parent / "crmctl"), "eval", "e2e", "--cases", str(cases),
         "--out", str(out), "--json"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(summary) >= {"action_precision", "action_recall", "scenario_pass_rate"}
    rows = {
        r["id"]: r["predicted"]
        for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())
    }
    assert rows["double"]["outcome"] == "draft_ready"
    assert rows["double"]["actions"] == [
        {"type": "charge_refund", "target": "1003", "amount": "117.99"}
    ]
    assert rows["fourth"]["escalation"] and rows["fourth"]["actions"] == []
    assert summary["scenario_pass_rate"] == 1.0


def test_the_demo_inbox_shows_every_action_type_and_topic(tmp_path: Path) -> None:
    inbox = json.loads(resources.files("crmctl.demo").joinpath("demo_inbox.json").read_text())
    cases = tmp_path / "inbox.jsonl"
    cases.write_text(
        "\n".join(
            json.dumps(
                {
                    "id": f"demo-{n}",
                    "email": f"Subject: {e['subject']}\n{e['body']}",
                    "customer_id": e["customer_id"],
                    "sender_address": e.get("sender_address", ""),
                }
            )
            for n, e in enumerate(inbox)
        )
        + "\n"
    )
    out = tmp_path / "out"
    done = subprocess.run(
        [str(Path(sys.executable).parent / "crmctl"), "eval", "e2e", "--cases", str(cases),
         "--out", str(out), "--json"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = [
        json.loads(line)["predicted"] for line in (out / "results.jsonl").read_text().splitlines()
    ]
    action_types = {a["type"] for r in rows for a in r.get("actions", [])}
    assert action_types == {
        "delivery_fee_refund",
        "delivery_fee_refund_on_arrival",
        "expedited_coupon",
        "carrier_update_request",
        "charge_refund",
        "return_authorisation",
    }
    topics = {r.get("topic") for r in rows if r["outcome"] == "draft_ready"}
    assert topics >= {
        "delivery_delay",
        "product_availability_or_recommendation",
        "billing_dispute",
        "transaction_inquiry",
        "product_complaint",
        "other",
    }
    outcomes = {r["outcome"] for r in rows}
    assert outcomes >= {"draft_ready", "manual_handling"}
    assert any(r.get("escalation") for r in rows)


def _predicted(**over: Any) -> dict[str, Any]:
    base = {"outcome": "draft_ready", "topic": "product_complaint", "urgent": True,
            "urgency": "priority", "escalation": False, "reply": "Sorry about that...",
            "reply_language": "de", "actions": []}  # fmt: skip
    return {**base, **over}


def _scenario(**expected: Any) -> Scenario:
    labels = {"topic": "product_complaint", "urgent": True, "escalation": False, **expected}
    return Scenario(id="s", email="...", customer_id=5, expected=labels)


def test_a_scenario_without_level_or_language_is_not_checked_on_them() -> None:
    old = _scenario()  # an older file: only `urgent`
    metrics = e2e_metrics([old], [_predicted(urgency="hands_off", reply_language="fr")])
    assert metrics["scenario_pass_rate"] == 1.0
    assert metrics["urgency_level_checked"] == 0 and metrics["urgency_level_accuracy"] is None
    assert metrics["reply_language_checked"] == 0


def test_the_level_and_the_reply_language_are_compared_when_given() -> None:
    labelled = _scenario(urgency="priority", reply_language="de")
    assert e2e_metrics([labelled], [_predicted()])["scenario_pass_rate"] == 1.0
    wrong_level = e2e_metrics([labelled], [_predicted(urgency="hands_off")])
    assert wrong_level["failed_checks"] == {"urgency": 1}
    assert wrong_level["urgency_level_accuracy"] == 0.0
    wrong_language = e2e_metrics([labelled], [_predicted(reply_language="en")])
    assert wrong_language["failed_checks"] == {"reply_language": 1}
    assert wrong_language["reply_language_accuracy"] == 0.0


def test_the_reply_language_is_not_checked_when_no_reply_was_drafted() -> None:
    labelled = _scenario(urgency="priority", reply_language="de")
    metrics = e2e_metrics([labelled], [_predicted(escalation=True, reply="", reply_language="")])
    assert metrics["failed_checks"] == {"escalation": 1}
    assert metrics["reply_language_checked"] == 0


def test_a_level_that_contradicts_urgent_is_refused() -> None:
    with pytest.raises(ValidationError):
        _scenario(urgent=False, urgency="priority")
