"""`crmctl eval search` and `crmctl eval match`: the product service's search, in-process,
against an embedded PostgreSQL loaded with the demo catalog (dates pinned to the reference day)."""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from crm.v1 import product_pb2
from crmctl.stack import Stack, StackConfig
from services.common import encoder
from services.common.db import create_pool
from services.common.jsonl import read_jsonl
from services.common.llm import LlmSettings, make_client
from services.common.server import Deferred
from services.product import store
from services.product.handler import ProductHandler
from services.product.llm import LlmProductReader
from services.product.meaning import Meaning

# The reference catalog's dates were written for this day; evaluations pin it.
REFERENCE_TODAY = date(2026, 1, 29)


class ProductCase(BaseModel):
    """A labelled product request: the products expected, or that it must be declined."""

    id: str
    email: str
    customer_id: int = 1
    expected_product_ids: list[int] | None = None
    expected_answerable: bool = True
    history: list[str] = Field(default_factory=list)

    @property
    def answerable(self) -> bool:
        return self.expected_answerable and self.expected_product_ids is not None


def load_cases(path: Path) -> list[ProductCase]:
    """JSON lines of cases; a bad line fails with its line number."""
    return read_jsonl(path, ProductCase)


def product_metrics(
    cases: Sequence[ProductCase], predicted: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """Exact set match and micro precision/recall on answerable cases; decline accuracy on all."""
    exact = tp = fp = fn = decisions = 0
    answerable = [(c, p) for c, p in zip(cases, predicted, strict=True) if c.answerable]
    for case, pred in answerable:
        expected, got = set(case.expected_product_ids or []), set(pred["product_ids"])
        exact += expected == got and pred["answerable"]
        tp += len(expected & got)
        fp += len(got - expected)
        fn += len(expected - got)
    for case, pred in zip(cases, predicted, strict=True):
        decisions += case.answerable == pred["answerable"]
    declines = [(c, p) for c, p in zip(cases, predicted, strict=True) if not c.answerable]
    return {
        "cases": len(cases),
        "answerable_cases": len(answerable),
        "decline_cases": len(declines),
        "exact_set_match": round(exact / len(answerable), 4) if answerable else 0.0,
        "precision": round(tp / (tp + fp), 4) if tp + fp else 0.0,
        "recall": round(tp / (tp + fn), 4) if tp + fn else 0.0,
        "decline_accuracy": round(decisions / len(cases), 4) if cases else 0.0,
        "declines_caught": sum(1 for _, p in declines if not p["answerable"]),
    }


async def run(
    kind: str, cases_file: Path, out_dir: Path, tier: str, json_out: bool, console: Console
) -> dict[str, Any]:
    """Runs every case through the product service's handler; writes results and metrics."""
    llm: LlmProductReader | None = None
    if tier == "llm":
        settings = LlmSettings()
        client = make_client(settings)
        if client is None:
            raise SystemExit(f"eval {kind} --tier llm: set LLM_API_KEY or LLM_BASE_URL")
        llm = LlmProductReader(
            client, settings.llm_model_product, settings.llm_model_match, settings.prices
        )
    elif tier != "0":
        raise SystemExit(f"eval {kind}: --tier is 0 or llm")
    cases = load_cases(cases_file)
    state = Path(tempfile.mkdtemp(prefix="crm-eval-"))
    stack = Stack(StackConfig.on_free_ports(state, durable=False, today=REFERENCE_TODAY))
    results: list[dict[str, Any]] = []
    latencies: list[float] = []
    try:
        await stack.start_database(["product"])
        pool = await create_pool(
            stack.runtime_dsn("product"),
            schema="product",
            application="crmctl-eval",
            min_size=1,
            max_size=2,
            timeout_seconds=30,
        )
        pool_ref: Deferred[Any] = Deferred("pool")
        pool_ref.set(pool)
        vocabulary: Deferred[Any] = Deferred("vocabulary")
        vocabulary.set(await store.load_vocabulary(pool))
        handler = ProductHandler(
            pool_ref,
            vocabulary,
            lambda: REFERENCE_TODAY,
            max_rows=500,
            llm=llm,
            meaning=Meaning(encoder.load(1)),
        )
        with Progress(
            console=console, transient=True, disable=json_out and not console.is_terminal
        ) as progress:
            task = progress.add_task(f"eval {kind}", total=len(cases))
            for case in cases:
                started = time.perf_counter()
                reply: product_pb2.SearchProductsResponse | product_pb2.MatchProductsResponse
                if kind == "match":
                    reply = await handler.MatchProducts(
                        product_pb2.MatchProductsRequest(
                            job_id=case.id, customer_id=case.customer_id or 1, text=case.email
                        ),
                        None,
                    )
                else:
                    reply = await handler.SearchProducts(
                        product_pb2.SearchProductsRequest(
                            job_id=case.id, customer_id=case.customer_id or 1, text=case.email
                        ),
                        None,
                    )
                latencies.append((time.perf_counter() - started) * 1000)
                results.append(
                    {
                        "id": case.id,
                        "predicted": {
                            "product_ids": sorted(m.product.product_id for m in reply.matches),
                            "alternative_ids": sorted(
                                m.product.product_id for m in reply.alternatives
                            ),
                            "answerable": reply.answerable,
                            "sql": reply.sql,
                            "reason": reply.decline_reason,
                            "tier": reply.tier,
                        },
                    }
                )
                progress.advance(task)
        await pool.close()
    finally:
        await stack.stop()
        shutil.rmtree(state, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "results.jsonl").open("w", encoding="utf-8") as f:
        for row in results:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    metrics = product_metrics(cases, [r["predicted"] for r in results])
    metrics["kind"] = kind
    metrics["tier"] = tier
    # With --tier llm, how many answers the model gave (the rest fell back to tier 0).
    metrics["answered_by_llm"] = sum(1 for r in results if r["predicted"]["tier"] == "llm")
    metrics["latency_ms_p50"] = round(statistics.median(latencies), 3) if latencies else 0.0
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    table = Table(
        title=f"product {kind} on {metrics['cases']} cases (tier {tier})", title_justify="left"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key in ("exact_set_match", "precision", "recall", "decline_accuracy"):
        table.add_row(key.replace("_", " "), f"{metrics[key]:.3f}")
    table.add_row("declines caught", f"{metrics['declines_caught']} of {metrics['decline_cases']}")
    table.add_row("p50 latency per request (ms)", f"{metrics['latency_ms_p50']:.2f}")
    console.print(table)
    return metrics
