"""`make bench`: end-to-end throughput and latency of the mesh, bounded in time.

Starts the real mesh on free loopback ports (as the tests do), then:
1. throughput: publishes a burst of e-mails as fast as possible and measures drafts per second;
2. latency at fixed arrival rates: publishes at N e-mails/s and measures event-to-draft latency.
Prints a table and writes bench/results.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import grpc
import nats
import psutil
from rich.console import Console
from rich.table import Table

from bench.memory import memory_comparison
from crmctl import outcomes
from crmctl.events import EmailInput, publish_email
from crmctl.stack import Stack, StackConfig

console = Console()
RESULTS = Path(__file__).parent / "results.json"

# A realistic mix of the workflows that exist: late parcels and product questions.
TEMPLATES = [
    (4, "Where is my parcel?", "Hi, my parcel FDX486159753 is late, where is it?"),
    (3, "Late delivery", "USPS456789123 arrived days late. I want the delivery fee back."),
    (2, "Stock", "Do you have the Adidas Ultraboost in size 10?"),
    (5, "in stock?", "any black running shoes in 9.5 under $150?"),
    (8, "order", "Where is my order? Tracking FDX741852963"),
]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest-rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


class Recorder:
    """Publish and outcome times per job."""

    def __init__(self) -> None:
        self.sent: dict[str, float] = {}
        self.done: dict[str, float] = {}
        self.subjects: dict[str, str] = {}
        self.event = asyncio.Event()
        self.expected = 0

    async def on_msg(self, msg: Any) -> None:
        job_id = outcomes.decode(msg.subject, msg.data).job_id
        if job_id in self.sent and job_id not in self.done:
            self.done[job_id] = time.perf_counter()
            self.subjects[job_id] = msg.subject
            if len(self.done) >= self.expected:
                self.event.set()

    def latencies_ms(self, job_ids: list[str]) -> list[float]:
        return [(self.done[j] - self.sent[j]) * 1000 for j in job_ids if j in self.done]


def email(n: int, tag: str) -> EmailInput:
    customer, subject, body = TEMPLATES[n % len(TEMPLATES)]
    return EmailInput(
        job_id=f"bench-{tag}-{n}",
        case_id=f"bench-{tag}-{n}",
        customer_id=customer,
        subject=subject,
        body=body,
    )


async def burst(js: Any, rec: Recorder, count: int, limit_s: float) -> dict[str, float]:
    tag = uuid.uuid4().hex[:6]
    items = [email(n, tag) for n in range(count)]
    rec.expected = len(rec.done) + count
    rec.event.clear()
    start = time.perf_counter()
    for item in items:
        rec.sent[item.job_id] = time.perf_counter()
        await publish_email(js, item)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(rec.event.wait(), limit_s)
    ids = [i.job_id for i in items]
    finished = [rec.done[j] for j in ids if j in rec.done]
    elapsed = (max(finished) - start) if finished else float("nan")
    drafts = sum(1 for j in ids if rec.subjects.get(j) == outcomes.DRAFT_READY)
    return {
        "count": count,
        "completed": len(finished),
        "drafts": drafts,
        "seconds": elapsed,
        "per_s": len(finished) / elapsed if finished else 0.0,
    }


async def fixed_rate(js: Any, rec: Recorder, rate: float, seconds: float) -> list[float]:
    tag = uuid.uuid4().hex[:6]
    count = int(rate * seconds)
    items = [email(n, tag) for n in range(count)]
    rec.expected = len(rec.done) + count
    rec.event.clear()
    start = time.perf_counter()
    for n, item in enumerate(items):
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        rec.sent[item.job_id] = time.perf_counter()
        await publish_email(js, item)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(rec.event.wait(), 30)
    return rec.latencies_ms([i.job_id for i in items])


def classification_timings() -> dict[str, Any]:
    """Tier-0 triage time per e-mail, in-process, over the labelled e-mails in evals/."""
    from services.classifier import topic_model
    from services.classifier.cases import load_cases
    from services.classifier.triage import Triager

    cases = [
        c
        for f in sorted((Path(__file__).parent.parent / "evals" / "triage").glob("*.jsonl"))
        for c in load_cases(f)
    ]
    triager = Triager(topic_model.load())
    timings = []
    for case in cases:
        subject, body = case.subject_and_body()
        started = time.perf_counter()
        triager.classify(subject, body, case.history)
        timings.append((time.perf_counter() - started) * 1000)
    return {
        "classification_ms_p50": round(percentile(timings, 50), 3),
        "classification_ms_p95": round(percentile(timings, 95), 3),
        "classification_samples": len(timings),
    }


async def product_timings(address: str) -> dict[str, Any]:
    """Per-request time of product questions over gRPC (tier 0, SQL included), over the
    labelled product requests in evals/: search and match."""
    from crm.v1 import product_pb2
    from crm.v1.product_pb2_grpc import ProductServiceStub

    texts = [
        json.loads(line)["email"]
        for f in sorted((Path(__file__).parent.parent / "evals" / "product").glob("*.jsonl"))
        for line in f.read_text().splitlines()
        if line.strip()
    ]
    out: dict[str, Any] = {}
    async with grpc.aio.insecure_channel(address) as channel:
        stub: Any = ProductServiceStub(channel)
        for kind in ("search", "match"):
            timings = []
            for text in texts:
                started = time.perf_counter()
                if kind == "search":
                    await stub.SearchProducts(
                        product_pb2.SearchProductsRequest(job_id="b", customer_id=1, text=text)
                    )
                else:
                    await stub.MatchProducts(
                        product_pb2.MatchProductsRequest(job_id="b", customer_id=1, text=text)
                    )
                timings.append((time.perf_counter() - started) * 1000)
            out[f"product_{kind}_ms_p50"] = round(percentile(timings, 50), 2)
            out[f"product_{kind}_ms_p95"] = round(percentile(timings, 95), 2)
        out["product_samples"] = len(texts)
    return out


async def main(burst_size: int, rate_seconds: float) -> None:
    state = Path(tempfile.mkdtemp(prefix="crm-bench-"))
    config = StackConfig.on_free_ports(
        state,
        durable=True,
        today=date(2026, 1, 29),
        log_level="WARNING",
    )
    stack = Stack(config)
    results: dict[str, Any] = {}
    table = Table(title="make bench: the mesh end to end (tier 0, this machine)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    try:
        await stack.start()
        nc = await nats.connect(stack.nats_url)
        js = nc.jetstream()
        rec = Recorder()
        await js.subscribe("crm.v1.job.>", cb=rec.on_msg, ordered_consumer=True)
        await burst(js, rec, 20, 30)  # warm-up: connections, caches
        b = await burst(js, rec, burst_size, 120)
        results["throughput_emails_per_s"] = round(b["per_s"], 1)
        results["throughput_burst_size"] = burst_size
        results["throughput_completed"] = b["completed"]
        table.add_row(
            f"throughput, burst of {burst_size} (e-mails/s to outcome)", f"{b['per_s']:.1f}"
        )
        table.add_row("  completed / drafts", f"{b['completed']} / {b['drafts']}")
        for rate in (20,):
            lat = await fixed_rate(js, rec, rate, rate_seconds)
            for q in (50, 95, 99):
                results[f"latency_ms_p{q}_at_{rate}"] = round(percentile(lat, q), 1)
            results[f"latency_samples_at_{rate}"] = len(lat)
            table.add_row(
                f"event-to-draft at {rate}/s (p50 / p95 / p99 ms)",
                " / ".join(f"{percentile(lat, q):.1f}" for q in (50, 95, 99)),
            )
            if lat:
                table.add_row(f"  mean at {rate}/s (ms)", f"{statistics.mean(lat):.1f}")
        product = await product_timings(stack.address("product"))
        results.update(product)
        for kind in ("search", "match"):
            table.add_row(
                f"product {kind} over gRPC, tier 0 (p50 / p95 ms, "
                f"{product['product_samples']} requests)",
                f"{product[f'product_{kind}_ms_p50']:.2f} / {product[f'product_{kind}_ms_p95']:.2f}",
            )
        comparison = await memory_comparison(stack.address("memory"))
        results.update(comparison)
        table.add_row(
            f"case memory vs full thread, {comparison['memory_threads']} threads of "
            f"{comparison['memory_messages_per_thread']} messages: token ratio",
            f"{comparison['memory_token_ratio']:.3f}",
        )
        table.add_row(
            "  triage accuracy full thread / memory (drop, points)",
            f"{comparison['memory_accuracy_full_thread']:.3f} / "
            f"{comparison['memory_accuracy_with_memory']:.3f} "
            f"({comparison['memory_accuracy_drop_points']:+.1f})",
        )
        table.add_row(
            "  numbers the follow-up refers to, found in memory facts",
            f"{comparison['memory_numbers_recalled']:.3f}",
        )
        for name, proc in stack.services.items():
            if proc.process is not None:
                rss = psutil.Process(proc.process.pid).memory_info().rss / 1e6
                results.setdefault("rss_mb", {})[name] = round(rss, 1)
        table.add_row(
            "resident memory per service (MB)",
            ", ".join(f"{k} {v:.0f}" for k, v in results.get("rss_mb", {}).items()),
        )
        await nc.close()
    finally:
        await stack.stop()
    classification = classification_timings()
    results.update(classification)
    table.add_row(
        f"classification in-process, tier 0 (p50 / p95 ms, {classification['classification_samples']} e-mails)",
        f"{classification['classification_ms_p50']:.2f} / {classification['classification_ms_p95']:.2f}",
    )
    console.print(table)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    previous.update(results)
    RESULTS.write_text(json.dumps(previous, indent=2, sort_keys=True) + "\n")
    console.print(f"wrote {RESULTS}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--burst", type=int, default=500, help="e-mails in the throughput burst")
    parser.add_argument(
        "--rate-seconds", type=float, default=10.0, help="seconds of fixed-rate load"
    )
    args = parser.parse_args()
    asyncio.run(main(args.burst, args.rate_seconds))
