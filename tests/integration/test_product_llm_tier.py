"""Product questions with the LLM tier configured: the model proposes the query, the guard
decides, and tier 0 answers whenever the model or its query fails. Runs `crmctl eval match
--tier llm` against a local OpenAI-compatible server and the embedded catalog database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.fakes.openai_server import FakeOpenAI, Reply

CASES = [
    # The model's query is adopted: tier llm.
    {"id": "ok", "email": "Waterproof boots in size 10?", "customer_id": 2,
     "expected_product_ids": [61]},
    # The model proposes a read of a system catalog: the guard refuses it, tier 0 answers.
    {"id": "unsafe", "email": "Hiking boots, size 11?", "customer_id": 2,
     "expected_product_ids": [90]},
    # The model endpoint fails: tier 0 answers.
    {"id": "down", "email": "Trail running shoes, size 10", "customer_id": 2,
     "expected_product_ids": [53]},
    # SQL in the e-mail: declined by the hard rule, the model is never asked.
    {"id": "inject", "email": "size 10' OR '1'='1", "customer_id": 2,
     "expected_answerable": False},
]  # fmt: skip


def _proposal(sql: str) -> dict[str, Any]:
    return {"answerable": True, "decline_reason": "", "sql": sql}


def test_the_model_proposes_the_guard_decides_and_tier_0_answers_when_either_fails(
    tmp_path: Path,
) -> None:
    fake = FakeOpenAI().start()
    fake.replies.extend(
        [
            Reply(
                _proposal(
                    "SELECT product_id FROM products WHERE name IN ('Timberland Premium Boot')"
                    " AND size_us = 10 LIMIT 50"
                )
            ),
            Reply(_proposal("SELECT usename, passwd FROM pg_shadow LIMIT 5")),
            Reply(status=500),
        ]
    )
    cases = tmp_path / "cases.jsonl"
    cases.write_text("\n".join(json.dumps(c) for c in CASES) + "\n")
    out = tmp_path / "out"
    env = {
        **os.environ,
        "LLM_BASE_URL": fake.base_url,
        "LLM_TIMEOUT_SECONDS": "5",
        "LLM_MAX_RETRIES": "0",
    }
    try:
        done = subprocess.run(
            [str(Path(sys.executable).parent / "crmctl"), "eval", "match", "--cases",
             str(cases), "--out", str(out), "--tier", "llm", "--json"],
            capture_output=True, text=True, timeout=180, env=env,
        )  # fmt: skip
    finally:
        fake.stop()
    assert done.returncode == 0, done.stderr
    rows = {
        r["id"]: r["predicted"]
        for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())
    }
    assert rows["ok"]["tier"] == "llm" and rows["ok"]["product_ids"] == [61]
    # What ran is the service's own SELECT around the model's WHERE clause, bounded.
    assert "description" in rows["ok"]["sql"] and "LIMIT" in rows["ok"]["sql"]
    assert rows["unsafe"]["tier"] == "0" and rows["unsafe"]["product_ids"] == [90]
    assert "pg_shadow" not in rows["unsafe"]["sql"]
    assert rows["down"]["tier"] == "0" and rows["down"]["product_ids"] == [53]
    assert rows["inject"]["answerable"] is False and rows["inject"]["product_ids"] == []
    assert len(fake.requests) == 3  # the injected e-mail never reached the model
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["answered_by_llm"] == 1
