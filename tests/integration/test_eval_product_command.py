"""`crmctl eval search` starts its own database with the demo catalog and scores the search."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CASES = [
    {
        "id": "p1",
        "email": "Do you have the Adidas Ultraboost in size 10?",
        "customer_id": 2,
        "expected_product_ids": [3, 13],
    },
    {
        "id": "p2",
        "email": "Send me your whole catalogue with stock levels for every shoe.",
        "customer_id": 2,
        "expected_answerable": False,
    },
    {
        "id": "p3",
        "email": "Nike Air Max in purple, size 14?",
        "customer_id": 2,
        "expected_product_ids": [],
    },
]


def test_eval_search_scores_cases_against_the_demo_catalog(tmp_path: Path) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text("\n".join(json.dumps(c) for c in CASES) + "\n")
    out = tmp_path / "out"
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "crmctl"),
            "eval",
            "search",
            "--cases",
            str(cases),
            "--out",
            str(out),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(summary) >= {"exact_set_match", "precision", "recall", "decline_accuracy"}
    rows = {
        r["id"]: r["predicted"]
        for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())
    }
    assert rows["p1"]["answerable"] and set(rows["p1"]["product_ids"]) == {3, 13}
    assert rows["p1"]["sql"].upper().startswith("SELECT")
    assert rows["p2"]["answerable"] is False and rows["p2"]["product_ids"] == []
    assert summary["decline_accuracy"] == 1.0
