"""`crmctl eval classify` runs in-process and writes the files and JSON it promises."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CASES = [
    {
        "id": "c1",
        "email": "Subject: late\nWhere is my parcel FDX123456789? It's a week late.",
        "history": [],
        "customer_id": 4,
        "expected": {"topic": "delivery_delay", "urgent": False},
    },
    {
        "id": "c2",
        "email": "Do you have the Adidas Ultraboost in size 10?",
        "history": [],
        "customer_id": 2,
        "expected": {"topic": "product_availability_or_recommendation", "urgent": False},
    },
    {
        "id": "c3",
        "email": "still nothing",
        "history": [
            {"direction": "inbound", "summary": "Customer asked where parcel UPS987654321 is."}
        ]
        * 3,
        "customer_id": 2,
        "expected": {"topic": "delivery_delay", "urgent": True},
    },
]


def test_eval_classify_writes_results_and_metrics_and_prints_json_last(tmp_path: Path) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text("\n".join(json.dumps(c) for c in CASES) + "\n")
    out = tmp_path / "out"
    crmctl = Path(sys.executable).parent / "crmctl"
    done = subprocess.run(
        [str(crmctl), "eval", "classify", "--cases", str(cases), "--out", str(out), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    last = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"topic_accuracy", "urgent_precision", "urgent_recall"} <= set(last)
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["c1", "c2", "c3"]
    assert set(rows[0]["predicted"]) >= {"topic", "urgent", "reason", "tier"}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["cases"] == 3 and "confusion" in metrics


def test_eval_classify_llm_tier_uses_the_configured_endpoint(tmp_path: Path) -> None:
    from tests.fakes.openai_server import FakeOpenAI, Reply

    fake = FakeOpenAI().start()
    try:
        answer = {
            "topic": "delivery_delay",
            "urgency": "none",
            "urgency_reason": "",
            "requests": ["delivery_delay: where is it"],
            "reply_needed": True,
            "continues_open_request": False,
            "language": "en",
            "confidence": 0.9,
            "reasons": ["asks where the parcel is"],
        }
        fake.replies.extend([Reply(answer), Reply(status=500), Reply(answer)])
        cases = tmp_path / "cases.jsonl"
        cases.write_text("\n".join(json.dumps(c) for c in CASES) + "\n")
        out = tmp_path / "out"
        env = {**os.environ, "LLM_BASE_URL": fake.base_url, "LLM_MAX_RETRIES": "0"}
        done = subprocess.run(
            [
                str(Path(sys.executable).parent / "crmctl"),
                "eval",
                "classify",
                "--cases",
                str(cases),
                "--out",
                str(out),
                "--tier",
                "llm",
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert done.returncode == 0, done.stderr
        rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
        assert [r["predicted"]["tier"] for r in rows] == ["llm", "local", "llm"]
        assert json.loads((out / "metrics.json").read_text())["fell_back"] == 1
        assert len(fake.requests) == 3
    finally:
        fake.stop()
