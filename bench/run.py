"""`make bench`: end-to-end throughput, latency, overhead and memory of the mesh, bounded in time.

Starts the real mesh on free loopback ports (as the tests do: nats-server, PostgreSQL and
the five services as separate processes, tier 0, today pinned to 2026-01-29), then runs
these phases, each bounded and each skippable (--skip):

- burst: a burst of e-mails published as fast as possible; outcomes per second from the
  first publish to the last outcome (start-up and drain included).
- sustained: saturation throughput. For --sustained-seconds the publisher keeps
  --sustained-backlog e-mails unanswered in JetStream, so the orchestrator never waits for
  work; drafts per second are counted after --sustained-warmup-seconds.
- overhead: the mesh against the same pipeline in one process. E-mails go one at a time
  (closed loop, paced at --overhead-rate per second), each through the mesh and then,
  the mesh idle, the same e-mail through the in-process pipeline (bench/inprocess.py:
  the orchestrator's own pipeline code over the services' real servicers and the same
  PostgreSQL, no gRPC and no NATS). Overhead = mesh p50 - in-process p50; ratio = mesh
  p50 / in-process p50. The services' Prometheus metrics give the stages' split.
- rates: event-to-draft latency at fixed arrival rates (open loop, --rates).
- product-grpc: product search and match over gRPC (the earlier figures, kept).
- memory: case memory against the full thread (bench/memory.py).
- soak: --soak-rate e-mails/s for --soak-seconds; every service's resident memory is
  sampled; growth from the end of the warm-up to the end of the soak.
- components: tier-0 classification, product search and match, delivery assessment and
  the late-delivery rule alone, in process (no gRPC), with the bench's PostgreSQL.
- model: four services restarted against a slow fake model (bench/slow_model.py, a set
  latency per request); e-mails one at a time; share of event-to-draft time spent waiting
  for the model.

Prints a table and writes --out (bench/results.json by default; --quick writes
bench/out/results-quick.json unless --out says otherwise, so a quick check never replaces
the figures of a full run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import grpc
import nats
import psutil
from rich.console import Console
from rich.table import Table

from bench import stages
from bench.inprocess import (
    InProcess,
    classification_timings,
    delivery_timings,
    in_process,
    product_texts,
    product_timings,
    run_job,
)
from bench.load import (
    Recorder,
    burst,
    email,
    fixed_rate,
    new_tag,
    pace,
    percentile,
    subscribe_outcomes,
    sustained,
)
from bench.memory import memory_comparison
from bench.slow_model import SlowModel
from crmctl import outcomes
from crmctl.stack import Stack, StackConfig, free_port

# A wide table when the output is a file or a pipe (rich assumes 80 columns there).
console = Console(width=None if sys.stdout.isatty() else 140)
RESULTS = Path(__file__).parent / "results.json"
QUICK_RESULTS = Path(__file__).parent / "out" / "results-quick.json"
TODAY = date(2026, 1, 29)
PHASES = (
    "burst",
    "sustained",
    "overhead",
    "rates",
    "product-grpc",
    "memory",
    "soak",
    "components",
    "model",
)
SERVICE_NAMES = ("classifier", "product", "delivery", "memory", "orchestrator")
LLM_SERVICES = ("classifier", "product", "memory", "orchestrator")


@dataclass
class Report:
    """The figures for results.json and the rows of the printed table."""

    results: dict[str, Any] = field(default_factory=dict)
    table: Table = field(
        default_factory=lambda: Table(title="make bench: the mesh end to end (tier 0)")
    )
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.table.add_column("measure")
        self.table.add_column("value", justify="right")

    def row(self, measure: str, value: str) -> None:
        self.table.add_row(measure, value)

    def section(self, title: str) -> None:
        self.table.add_section()
        self.table.add_row(f"[bold]{title}[/bold]", "")


def _ms3(values: list[float]) -> str:
    return " / ".join(f"{percentile(values, q):.1f}" for q in (50, 95, 99))


# --- phases -----------------------------------------------------------------------------


async def phase_burst(js: Any, rec: Recorder, args: argparse.Namespace, rep: Report) -> None:
    b = await burst(js, rec, args.burst, 120)
    rep.results["throughput_burst_emails_per_s"] = round(b["per_s"], 1)
    rep.results["throughput_burst_size"] = args.burst
    rep.results["throughput_completed"] = b["completed"]
    rep.row(
        f"burst of {args.burst}: e-mails/s to outcome (incl. ramp-up and drain)",
        f"{b['per_s']:.1f}",
    )
    rep.row("  completed / drafts", f"{b['completed']} / {b['drafts']}")


def cpu_seconds(stack: Stack) -> dict[str, dict[int, float]]:
    """CPU time (user + system) used so far by each process of the mesh, by pid:
    the services, PostgreSQL (the postmaster and its backends), nats-server and this
    process (the load generator, its NATS client and the outcome subscriber)."""
    groups: dict[str, list[psutil.Process]] = {}
    for name, proc in [*stack.services.items(), ("postgres", stack.postgres), ("nats", stack.nats)]:
        popen = getattr(proc, "process", None)
        if popen is None:
            continue
        try:
            root = psutil.Process(popen.pid)
            groups[name] = [root, *root.children(recursive=True)]
        except psutil.Error:
            continue
    groups["bench"] = [psutil.Process()]
    found: dict[str, dict[int, float]] = {}
    for name, procs in groups.items():
        for p in procs:
            try:
                t = p.cpu_times()
            except psutil.Error:
                continue
            found.setdefault(name, {})[p.pid] = t.user + t.system
    return found


def cpu_ms_per_email(
    before: dict[str, dict[int, float]], after: dict[str, dict[int, float]], emails: int
) -> dict[str, float]:
    """CPU milliseconds per e-mail of each process group between two snapshots (a
    process that started in between counts whole; one that ended is lost)."""
    return {
        name: round(
            sum(t - before.get(name, {}).get(pid, 0.0) for pid, t in pids.items())
            * 1000
            / max(1, emails),
            2,
        )
        for name, pids in after.items()
    }


def model_split(cpu: dict[str, float], model: dict[str, float]) -> dict[str, Any]:
    """CPU per e-mail split into model inference and everything else (summed over every
    process of the mesh, the load generator left out), and the model-bound ceiling: the
    e-mails per second the machine's cores would give if everything else cost nothing."""
    total = sum(v for k, v in cpu.items() if k != "bench")
    model_ms = sum(model.values())
    return {
        "cpu_ms_per_email_model": round(model_ms, 2),
        "cpu_ms_per_email_non_model": round(total - model_ms, 2),
        "cpu_ms_per_email_model_by_process": {k: v for k, v in model.items() if v},
        "model_bound_ceiling_per_s": round(1000 * (os.cpu_count() or 1) / max(model_ms, 1e-9), 1),
    }


async def phase_sustained(
    js: Any,
    rec: Recorder,
    stack: Stack,
    metrics_urls: dict[str, str],
    args: argparse.Namespace,
    rep: Report,
) -> None:
    cpu_before = cpu_seconds(stack)
    model_before = await stages.scrape(metrics_urls)
    s = await sustained(
        js, rec, args.sustained_seconds, args.sustained_warmup_seconds, args.sustained_backlog
    )
    cpu = cpu_ms_per_email(cpu_before, cpu_seconds(stack), s["drafts"])
    model = stages.model_cpu_ms(await stages.scrape(metrics_urls), model_before, s["drafts"])
    rep.results["cpu_ms_per_email_sustained"] = cpu
    split = model_split(cpu, model)
    rep.results.update(split)
    rep.results["throughput_emails_per_s"] = round(s["per_s"], 1)
    rep.results["throughput_sustained_seconds"] = round(s["measured_seconds"], 1)
    rep.results["throughput_sustained_backlog"] = args.sustained_backlog
    rep.results["throughput_sustained_window_min_per_s"] = round(s["window_min_per_s"], 1)
    rep.results["throughput_sustained_window_max_per_s"] = round(s["window_max_per_s"], 1)
    rep.results["throughput_sustained_latency_ms_p50"] = round(s["latency_ms_p50"], 1)
    rep.row(
        f"sustained: drafts/s, steady state ({s['measured_seconds']:.0f} s after "
        f"{args.sustained_warmup_seconds:g} s warm-up, backlog {args.sustained_backlog})",
        f"{s['per_s']:.1f}",
    )
    rep.row(
        "  slowest / fastest 5 s window (drafts/s)",
        f"{s['window_min_per_s']:.1f} / {s['window_max_per_s']:.1f}",
    )
    rep.row(
        "  published / drafts; event-to-draft p50 under saturation (ms, mostly queueing)",
        f"{s['published']} / {s['drafts']}; {s['latency_ms_p50']:.0f}",
    )
    rep.row(
        "  CPU ms per draft: model inference / everything else; model-bound ceiling "
        "(drafts/s the cores would give if everything else cost nothing); share reached",
        f"{split['cpu_ms_per_email_model']:.1f} / {split['cpu_ms_per_email_non_model']:.1f}; "
        f"{split['model_bound_ceiling_per_s']:.1f}; "
        f"{s['per_s'] / max(split['model_bound_ceiling_per_s'], 1e-9):.0%}",
    )
    rep.row(
        "  model inference CPU ms per draft by process",
        ", ".join(f"{k} {v:.2f}" for k, v in sorted(model.items(), key=lambda kv: -kv[1]) if v),
    )
    rep.row(
        f"  CPU ms per draft by process: total {sum(cpu.values()):.1f} of the "
        f"{1000 * (os.cpu_count() or 1) / max(s['per_s'], 1e-9):.1f} that {os.cpu_count()} "
        "cores offer per draft at this rate",
        ", ".join(f"{k} {v:.1f}" for k, v in sorted(cpu.items(), key=lambda kv: -kv[1])),
    )


async def phase_overhead(
    js: Any,
    rec: Recorder,
    local: InProcess,
    metrics_urls: dict[str, str],
    args: argparse.Namespace,
    rep: Report,
) -> None:
    """Mesh and in-process pipeline, e-mail by e-mail, over the same e-mails."""
    tag = new_tag()
    # Warm the in-process side as the warm-up burst warmed the mesh (pool connections,
    # first-call caches).
    for n in range(10):
        item = email(n, f"{tag}w")
        await run_job(
            local,
            job_id=item.job_id,
            customer_id=item.customer_id,
            subject=item.subject,
            body=item.body,
        )
    interval = 1.0 / args.overhead_rate
    mesh_before = await stages.scrape(metrics_urls)
    local_before = stages.local_samples()
    mesh_ms: list[float] = []
    logic_ms: list[float] = []
    total_ms: list[float] = []
    conclude_ms: list[float] = []
    paired: list[float] = []
    non_drafts = 0
    for n in range(args.overhead_emails):
        started = time.perf_counter()
        item = email(n, tag)
        if not await rec.publish_and_wait(js, item, 30):
            continue
        await asyncio.sleep(0.02)  # the orchestrator's ack and bookkeeping after publishing
        timing = await run_job(
            local,
            job_id=f"bench-{tag}x-{n}",
            customer_id=item.customer_id,
            subject=item.subject,
            body=item.body,
        )
        (mesh_latency,) = rec.latencies_ms([item.job_id], drafts_only=False)
        mesh_ms.append(mesh_latency)
        logic_ms.append(timing.logic_ms)
        total_ms.append(timing.total_ms)
        conclude_ms.append(timing.conclude_ms)
        paired.append(mesh_latency - timing.logic_ms)
        if rec.subjects[item.job_id] != outcomes.DRAFT_READY:
            non_drafts += 1
        await pace(started, interval)
    mesh_after = await stages.scrape(metrics_urls)
    local_after = stages.local_samples()
    n_done = len(mesh_ms)
    mesh_p50 = percentile(mesh_ms, 50)
    local_p50 = percentile(logic_ms, 50)
    with_store_p50 = percentile(total_ms, 50)
    r = rep.results
    r["mesh_latency_ms_p50_low_rate"] = round(mesh_p50, 2)
    r["mesh_latency_ms_p95_low_rate"] = round(percentile(mesh_ms, 95), 2)
    r["inprocess_latency_ms_p50"] = round(local_p50, 2)
    r["inprocess_latency_ms_p95"] = round(percentile(logic_ms, 95), 2)
    r["inprocess_with_job_store_ms_p50"] = round(with_store_p50, 2)
    r["mesh_overhead_ms_p50"] = round(mesh_p50 - local_p50, 2)
    r["mesh_overhead_ratio"] = round(mesh_p50 / local_p50, 2) if local_p50 else float("nan")
    r["mesh_overhead_ms_p50_paired"] = round(percentile(paired, 50), 2)
    r["mesh_overhead_ms_p50_vs_job_store"] = round(mesh_p50 - with_store_p50, 2)
    r["mesh_overhead_samples"] = n_done
    r["mesh_overhead_rate_per_s"] = args.overhead_rate
    # Stages per e-mail: as the orchestrator timed them (mesh), inside the service's
    # handlers (mesh), and as the same pipeline timed them in process.
    mesh_stages = stages.stage_ms(mesh_after["orchestrator"], mesh_before["orchestrator"], n_done)
    local_stages = stages.stage_ms(local_after, local_before, n_done)
    breakdown: dict[str, dict[str, float]] = {}
    for stage, svc in stages.SERVICE_OF_STAGE.items():
        # Stages are named after the service called, as are the metrics endpoints.
        breakdown[stage] = {
            "mesh_client": mesh_stages.get(stage, 0.0),
            "mesh_handler": stages.handler_ms(mesh_after[stage], mesh_before[stage], svc, n_done),
            "in_process": local_stages.get(stage, 0.0),
        }
    # Storing the outcome (and, in the mesh, publishing it on NATS).
    breakdown["conclude"] = {
        "mesh_client": mesh_stages.get("conclude", 0.0),
        "mesh_handler": 0.0,
        "in_process": round(statistics.mean(conclude_ms), 3) if conclude_ms else 0.0,
    }
    mean_mesh = statistics.mean(mesh_ms) if mesh_ms else float("nan")
    staged = sum(v["mesh_client"] for v in breakdown.values())
    # Mesh: NATS both ways, the consumer's fetch, intake and store.begin_job; in process:
    # intake and store.begin_job.
    breakdown["outside_stages"] = {
        "mesh_client": round(mean_mesh - staged, 3),
        "mesh_handler": 0.0,
        "in_process": round(
            (statistics.mean(total_ms) if total_ms else 0.0)
            - sum(v["in_process"] for v in breakdown.values()),
            3,
        ),
    }
    r["mesh_stage_ms_mean"] = breakdown
    r["mesh_latency_ms_mean_low_rate"] = round(mean_mesh, 2)

    rep.row(
        f"mesh event-to-draft, one at a time at {args.overhead_rate:g}/s (p50 / p95 ms, {n_done} e-mails)",
        f"{mesh_p50:.1f} / {percentile(mesh_ms, 95):.1f}",
    )
    rep.row(
        "in-process pipeline, same e-mails (p50 / p95 ms): real servicers, same DB, no gRPC/NATS",
        f"{local_p50:.1f} / {percentile(logic_ms, 95):.1f}",
    )
    rep.row(
        "  in-process incl. the orchestrator's job store writes (p50 ms)", f"{with_store_p50:.1f}"
    )
    rep.row(
        "mesh overhead p50 (ms) / ratio mesh p50 : in-process p50",
        f"{mesh_p50 - local_p50:.1f} / {r['mesh_overhead_ratio']:.2f}x",
    )
    rep.row(
        "  overhead per e-mail, median of paired differences (ms)", f"{percentile(paired, 50):.1f}"
    )
    rep.row(
        "  mean ms per e-mail by stage: orchestrator-side / inside handlers / in-process",
        "",
    )
    for stage, v in breakdown.items():
        rep.row(
            f"    {stage}",
            f"{v['mesh_client']:.2f} / {v['mesh_handler']:.2f} / {v['in_process']:.2f}",
        )
    rep.notes.append(
        "stages: orchestrator-side = crm_job_stage_seconds, the call as the orchestrator "
        "awaits it (gRPC included; memory is 3 calls, delivery 2); inside handlers = the "
        "service's crm_grpc_server_handling_seconds; in-process = the same stage histogram "
        "recorded in this process; conclude = storing the outcome (mesh: and publishing it); "
        "outside_stages = the rest of the mean (mesh: NATS both ways, the consumer's fetch, "
        "intake, begin_job; in process: intake, begin_job)"
    )
    if non_drafts:
        rep.notes.append(f"overhead: {non_drafts} mesh outcomes were not drafts")


async def phase_rates(js: Any, rec: Recorder, args: argparse.Namespace, rep: Report) -> None:
    for rate in args.rates:
        ids, lat = await fixed_rate(js, rec, rate, args.rate_seconds)
        key = f"{rate:g}"
        for q in (50, 95, 99):
            rep.results[f"latency_ms_p{q}_at_{key}"] = round(percentile(lat, q), 1)
        rep.results[f"latency_samples_at_{key}"] = len(lat)
        missing = len(ids) - len(lat)
        rep.row(
            f"event-to-draft at {key}/s for {args.rate_seconds:g} s (p50 / p95 / p99 ms)",
            _ms3(lat),
        )
        rep.row(
            "  mean (ms); drafts / published",
            f"{statistics.mean(lat) if lat else float('nan'):.1f}; {len(lat)} / {len(ids)}",
        )
        if missing:
            rep.notes.append(f"rate {key}/s: {missing} e-mails without a draft in time")


async def product_grpc_timings(address: str, limit: int | None) -> dict[str, Any]:
    """Per-request time of product questions over gRPC (tier 0, SQL included), over the
    labelled product requests in evals/: search and match."""
    from crm.v1 import product_pb2
    from crm.v1.product_pb2_grpc import ProductServiceStub

    texts = product_texts(limit)
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


async def phase_product_grpc(stack: Stack, args: argparse.Namespace, rep: Report) -> None:
    product = await product_grpc_timings(stack.address("product"), args.component_samples)
    rep.results.update(product)
    for kind in ("search", "match"):
        rep.row(
            f"product {kind} over gRPC, tier 0 (p50 / p95 ms, {product['product_samples']} requests)",
            f"{product[f'product_{kind}_ms_p50']:.2f} / {product[f'product_{kind}_ms_p95']:.2f}",
        )


async def phase_memory(stack: Stack, rep: Report) -> None:
    comparison = await memory_comparison(stack.address("memory"))
    rep.results.update(comparison)
    rep.row(
        f"case memory vs full thread, {comparison['memory_threads']} threads of "
        f"{comparison['memory_messages_per_thread']} messages: token ratio",
        f"{comparison['memory_token_ratio']:.3f}",
    )
    rep.row(
        "  triage accuracy full thread / memory (drop, points)",
        f"{comparison['memory_accuracy_full_thread']:.3f} / "
        f"{comparison['memory_accuracy_with_memory']:.3f} "
        f"({comparison['memory_accuracy_drop_points']:+.1f})",
    )
    rep.row(
        "  numbers the follow-up refers to, found in memory facts",
        f"{comparison['memory_numbers_recalled']:.3f}",
    )


def service_rss_mb(stack: Stack) -> dict[str, float]:
    """Resident memory of each service process, MB (10^6 bytes)."""
    found: dict[str, float] = {}
    for name, proc in stack.services.items():
        if proc.process is not None:
            try:
                found[name] = psutil.Process(proc.process.pid).memory_info().rss / 1e6
            except psutil.Error:
                continue
    return found


async def phase_soak(
    js: Any, rec: Recorder, stack: Stack, args: argparse.Namespace, rep: Report
) -> None:
    """Steady load; resident memory sampled throughout."""
    warmup = args.soak_warmup_seconds
    if warmup is None:
        warmup = max(10.0, args.soak_seconds / 10)
    samples: list[tuple[float, dict[str, float]]] = []
    started = time.perf_counter()
    load = asyncio.create_task(fixed_rate(js, rec, args.soak_rate, args.soak_seconds))
    while not load.done():
        samples.append((time.perf_counter() - started, service_rss_mb(stack)))
        await asyncio.wait({load}, timeout=args.soak_sample_seconds)
    ids, lat = load.result()
    samples.append((time.perf_counter() - started, service_rss_mb(stack)))
    baseline = next((s for t, s in samples if t >= warmup), samples[0][1])
    final = samples[-1][1]
    growth = {
        name: round((final[name] - baseline[name]) / baseline[name] * 100, 2)
        for name in final
        if baseline.get(name)
    }
    peak = {name: max(s.get(name, 0.0) for _, s in samples) for name in final}
    tenth = max(1, len(ids) // 10)
    first = rec.latencies_ms(ids[:tenth])
    last = rec.latencies_ms(ids[-tenth:])
    r = rep.results
    r["rss_growth_pct"] = growth
    r["soak_seconds"] = args.soak_seconds
    r["soak_rate_per_s"] = args.soak_rate
    r["soak_warmup_seconds"] = warmup
    r["soak_rss_mb_start"] = {k: round(v, 1) for k, v in baseline.items()}
    r["soak_rss_mb_end"] = {k: round(v, 1) for k, v in final.items()}
    r["soak_rss_mb_peak"] = {k: round(v, 1) for k, v in peak.items()}
    r["soak_drafts"] = len(lat)
    r["soak_published"] = len(ids)
    r["soak_latency_ms_p50"] = round(percentile(lat, 50), 1)
    r["soak_latency_ms_p99"] = round(percentile(lat, 99), 1)
    r["soak_latency_ms_p50_first_tenth"] = round(percentile(first, 50), 1)
    r["soak_latency_ms_p50_last_tenth"] = round(percentile(last, 50), 1)
    rep.row(
        f"soak: {args.soak_rate:g}/s for {args.soak_seconds:g} s, drafts / published",
        f"{len(lat)} / {len(ids)}",
    )
    rep.row(
        "  event-to-draft p50 / p99 (ms)", f"{percentile(lat, 50):.1f} / {percentile(lat, 99):.1f}"
    )
    rep.row(
        "  p50 first tenth / last tenth of the soak (ms)",
        f"{percentile(first, 50):.1f} / {percentile(last, 50):.1f}",
    )
    rep.row(
        f"  resident memory growth after {warmup:g} s warm-up (%)",
        ", ".join(f"{k} {v:+.1f}" for k, v in growth.items()),
    )
    rep.row(
        "  resident memory start -> end (MB)",
        ", ".join(f"{k} {baseline.get(k, 0):.0f}->{final[k]:.0f}" for k in final),
    )


async def phase_components(local: InProcess, args: argparse.Namespace, rep: Report) -> None:
    """Component timings in process (no gRPC)."""
    component: dict[str, dict[str, float]] = {
        "classification": classification_timings(local, args.component_samples)
    }
    component.update(await product_timings(local, args.component_samples))
    component.update(
        await delivery_timings(local, rounds=args.delivery_rounds, limit=args.component_samples)
    )
    rep.results["component_ms"] = component
    c = component["classification"]
    rep.results["classification_ms_p50"] = c["p50"]
    rep.results["classification_ms_p95"] = c["p95"]
    rep.results["classification_samples"] = int(c["samples"])
    labels = {
        "classification": "tier-0 triage (pure Python)",
        "product_search": "product SearchProducts servicer (incl. SQL)",
        "product_match": "product MatchProducts servicer (incl. SQL)",
        "delivery_assessment": "delivery AssessDeliveries servicer (incl. ledger read)",
        "delivery_policy_rule": "late-delivery rule alone (policy.assess)",
    }
    for key, label in labels.items():
        v = component[key]
        rep.row(
            f"in process: {label} (p50 / p95 ms, {v['samples']:.0f})",
            f"{v['p50']:.3f} / {v['p95']:.3f}",
        )


async def restart_with_env(stack: Stack, env: dict[str, str]) -> None:
    """Restarts the services that can use a model with `env` added."""
    extra = {name: dict(values) for name, values in stack.config.extra_env.items()}
    for name in LLM_SERVICES:
        extra.setdefault(name, {}).update(env)
    stack.config.extra_env = extra
    # The orchestrator first: it holds the consumer; it starts again last.
    for name in reversed(LLM_SERVICES):
        await asyncio.to_thread(stack.stop_service, name)
    for name in LLM_SERVICES:
        stack.start_service(name)
    await asyncio.gather(*(stack.wait_serving(n) for n in LLM_SERVICES))


async def phase_model(
    js: Any, rec: Recorder, stack: Stack, args: argparse.Namespace, rep: Report
) -> None:
    latency = args.model_latency_ms / 1000
    fake = SlowModel(latency).start()
    try:
        await restart_with_env(
            stack,
            {
                "LLM_BASE_URL": fake.base_url,
                "LLM_API_KEY": "bench",
                "LLM_MAX_RETRIES": "0",
                "LLM_TIMEOUT_SECONDS": str(max(10.0, 4 * latency)),
            },
        )
        rec.keep_drafts = True
        tag = new_tag()
        for n in range(2):  # warm-up: the clients' first connections
            await rec.publish_and_wait(js, email(n, f"{tag}w"), 60)
        latencies: list[float] = []
        waits: list[float] = []
        requests_by_task: Counter[str] = Counter()
        draft_calls: Counter[str] = Counter()
        failed_calls = fell_back = llm_replies = 0
        for n in range(args.model_emails):
            item = email(n, tag)
            if not await rec.publish_and_wait(js, item, 60):
                continue
            sent, done = rec.sent[item.job_id], rec.done[item.job_id]
            calls = fake.between(sent, done)
            latencies.append((done - sent) * 1000)
            waits.append(sum(c.seconds for c in calls) * 1000)
            requests_by_task.update(c.task for c in calls)
            draft = rec.drafts.get(item.job_id)
            if draft is not None:
                draft_calls.update(c.task for c in draft.model_calls)
                failed_calls += sum(1 for c in draft.model_calls if not c.succeeded)
                fell_back += draft.classification.fell_back
                llm_replies += draft.reply_tier == "llm"
        rec.keep_drafts = False
    finally:
        fake.stop()
    done_n = len(latencies)
    share = sum(waits) / sum(latencies) if latencies else float("nan")
    outside = [lat - w for lat, w in zip(latencies, waits, strict=True)]
    r = rep.results
    r["model_time_share"] = round(share, 3)
    r["model_latency_ms"] = args.model_latency_ms
    r["model_emails"] = done_n
    r["model_event_to_draft_ms_p50"] = round(percentile(latencies, 50), 1)
    r["model_wait_ms_p50"] = round(percentile(waits, 50), 1)
    r["model_outside_ms_p50"] = round(percentile(outside, 50), 1)
    r["model_requests_per_email"] = round(sum(requests_by_task.values()) / max(1, done_n), 2)
    r["model_requests_by_task"] = dict(requests_by_task)
    r["model_calls_on_drafts_by_task"] = dict(draft_calls)
    r["model_calls_failed"] = failed_calls
    r["model_llm_replies"] = llm_replies
    r["model_classification_fell_back"] = fell_back
    rep.row(
        f"slow fake model, {args.model_latency_ms:g} ms per request, {done_n} e-mails one at a time: "
        "share of event-to-draft time waiting for the model",
        f"{share:.3f}",
    )
    rep.row(
        "  event-to-draft / model wait / outside the model (p50 ms)",
        f"{percentile(latencies, 50):.0f} / {percentile(waits, 50):.0f} / {percentile(outside, 50):.1f}",
    )
    rep.row(
        "  model requests per e-mail (by task); calls recorded on the drafts",
        f"{r['model_requests_per_email']:.2f} ({', '.join(f'{k} {v}' for k, v in sorted(requests_by_task.items()))}); "
        f"{', '.join(f'{k} {v}' for k, v in sorted(draft_calls.items()))}",
    )
    rep.row(
        "  failed calls / triage fell back / replies phrased by the model",
        f"{failed_calls} / {fell_back} / {llm_replies} of {done_n}",
    )


# --- the run ----------------------------------------------------------------------------


async def run(args: argparse.Namespace, rep: Report) -> None:
    state = Path(tempfile.mkdtemp(prefix="crm-bench-"))
    metrics_ports = {name: free_port() for name in SERVICE_NAMES}
    env: dict[str, dict[str, str]] = {
        name: {"METRICS_PORT": str(port), "METRICS_HOST": "127.0.0.1"}
        for name, port in metrics_ports.items()
    }
    # The bench is a flood from the five demo customers its e-mails are written for; the
    # orchestrator's per-customer rate limit would rightly hand most of it to a person
    # (RATE_LIMITED). It is off here so every e-mail is drafted; its one indexed count per
    # job is therefore not in these figures.
    env["orchestrator"]["RATE_LIMIT_PER_CUSTOMER"] = "0"
    config = StackConfig.on_free_ports(
        state, durable=True, today=TODAY, log_level="WARNING", extra_env=env
    )
    metrics_urls = {n: f"http://127.0.0.1:{p}/metrics" for n, p in metrics_ports.items()}
    stack = Stack(config)
    skip = set(args.skip)
    rep.results["bench_failed_phases"] = []

    async def phase(name: str, title: str | None, work: Callable[[], Awaitable[None]]) -> None:
        """Runs one phase unless skipped; a failure is reported and the next phase runs."""
        if name in skip:
            return
        if title:
            rep.section(title)
        try:
            await work()
        except Exception as exc:
            rep.notes.append(f"phase {name} failed: {exc!r}")
            rep.results["bench_failed_phases"].append(name)

    try:
        await stack.start()
        nc = await nats.connect(stack.nats_url)
        js = nc.jetstream()
        rec = Recorder()
        await subscribe_outcomes(js, rec)
        async with in_process(stack, TODAY) as local:
            await burst(js, rec, 20, 30)  # warm-up: connections, caches
            rep.section("throughput (tier 0)")
            await phase("burst", None, lambda: phase_burst(js, rec, args, rep))
            await phase(
                "sustained",
                None,
                lambda: phase_sustained(js, rec, stack, metrics_urls, args, rep),
            )
            await phase(
                "overhead",
                "mesh overhead against the same pipeline in one process",
                lambda: phase_overhead(js, rec, local, metrics_urls, args, rep),
            )
            await phase(
                "rates", "latency at fixed arrival rates", lambda: phase_rates(js, rec, args, rep)
            )
            await phase(
                "product-grpc", "product over gRPC", lambda: phase_product_grpc(stack, args, rep)
            )
            await phase("memory", "case memory over gRPC", lambda: phase_memory(stack, rep))
            await phase(
                "soak",
                "soak and resident memory",
                lambda: phase_soak(js, rec, stack, args, rep),
            )
            rss = service_rss_mb(stack)
            rep.results["rss_mb"] = {k: round(v, 1) for k, v in rss.items()}
            rep.row(
                "resident memory per service after the runs (MB)",
                ", ".join(f"{k} {v:.0f}" for k, v in rss.items()),
            )
            await phase(
                "components",
                "components in process (no gRPC), bench PostgreSQL",
                lambda: phase_components(local, args, rep),
            )
        await phase("model", "slow model", lambda: phase_model(js, rec, stack, args, rep))
        by_subject = Counter(rec.subjects.values())
        others = {k: v for k, v in by_subject.items() if k != outcomes.DRAFT_READY}
        if others:
            rep.notes.append(
                f"not every outcome was a draft: {dict(by_subject)}; latencies count drafts only"
            )
        await nc.close()
    finally:
        await stack.stop()
        if not args.keep_state:
            shutil.rmtree(state, ignore_errors=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="short phases, for a fast check (figures are not comparable)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="results file (default bench/results.json; with --quick bench/out/results-quick.json)",
    )
    parser.add_argument(
        "--skip", action="append", default=[], choices=PHASES, help="skip a phase (repeatable)"
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        help="stop everything after this many seconds (default: generous bound from the other flags)",
    )
    parser.add_argument(
        "--keep-state",
        action="store_true",
        help="keep the mesh's data and logs (a folder under the temp dir) after the run",
    )
    parser.add_argument("--burst", type=int, help="e-mails in the burst (500; quick 100)")
    parser.add_argument(
        "--sustained-seconds",
        type=float,
        help="length of the sustained-throughput load (60; quick 12)",
    )
    parser.add_argument(
        "--sustained-warmup-seconds", type=float, help="not counted at its start (10; quick 4)"
    )
    parser.add_argument(
        "--sustained-backlog", type=int, default=200, help="e-mails kept waiting in JetStream (200)"
    )
    parser.add_argument(
        "--overhead-emails",
        type=int,
        help="e-mails through both mesh and in-process pipeline (200; quick 30)",
    )
    parser.add_argument(
        "--overhead-rate", type=float, default=5.0, help="pairs per second at most (5)"
    )
    parser.add_argument(
        "--rates",
        type=lambda s: [float(x) for x in s.split(",")],
        default=[20.0, 50.0],
        help="fixed arrival rates, e-mails/s (20,50)",
    )
    parser.add_argument(
        "--rate-seconds", type=float, help="seconds at each fixed rate (10; quick 3)"
    )
    parser.add_argument(
        "--soak-seconds",
        type=float,
        help="length of the soak (120; quick 15); the target is measured over 600",
    )
    parser.add_argument(
        "--soak-rate", type=float, default=20.0, help="e-mails/s during the soak (20)"
    )
    parser.add_argument(
        "--soak-warmup-seconds",
        type=float,
        help="growth is counted from here (max(10, soak/10); quick 5)",
    )
    parser.add_argument(
        "--soak-sample-seconds", type=float, help="resident-memory sampling period (5; quick 1)"
    )
    parser.add_argument(
        "--component-samples",
        type=int,
        help="at most this many e-mails per component timing and per gRPC product timing (all; quick 150)",
    )
    parser.add_argument(
        "--delivery-rounds", type=int, help="passes over the delivery scenarios (5; quick 1)"
    )
    parser.add_argument(
        "--model-emails", type=int, help="e-mails through the slow-model mesh (36; quick 8)"
    )
    parser.add_argument(
        "--model-latency-ms", type=float, default=300.0, help="fake model time per request (300)"
    )
    args = parser.parse_args(argv)
    defaults = {
        "burst": (500, 100),
        "sustained_seconds": (60.0, 12.0),
        "sustained_warmup_seconds": (10.0, 4.0),
        "overhead_emails": (200, 30),
        "rate_seconds": (10.0, 3.0),
        "soak_seconds": (120.0, 15.0),
        "soak_warmup_seconds": (None, 5.0),
        "soak_sample_seconds": (5.0, 1.0),
        "component_samples": (None, 150),
        "delivery_rounds": (5, 1),
        "model_emails": (36, 8),
    }
    for name, (full, quick) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    if args.out is None:
        args.out = QUICK_RESULTS if args.quick else RESULTS
    if args.sustained_warmup_seconds >= args.sustained_seconds:
        parser.error("--sustained-warmup-seconds must be shorter than --sustained-seconds")
    if args.time_limit is None:
        # Start-up, warm-up and drains, the timed phases, and the per-e-mail phases at a
        # pessimistic second each.
        args.time_limit = (
            600
            + args.sustained_seconds
            + len(args.rates) * (args.rate_seconds + 30)
            + 1.5 * args.soak_seconds
            + args.overhead_emails
            + args.model_emails * 2
        )
    return args


def _finite(value: Any) -> Any:
    """The value with NaN and infinities as null (JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    rep = Report()
    load_start = os.getloadavg()[0]
    started = time.perf_counter()
    completed = False
    try:
        asyncio.run(asyncio.wait_for(run(args, rep), args.time_limit))
        completed = True
    except TimeoutError:
        console.print(f"[red]stopped after the time limit of {args.time_limit:.0f} s[/red]")
    rep.results["bench_machine"] = {
        "cpus": os.cpu_count(),
        "load_avg_1m_at_start": round(load_start, 2),
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
        "quick": args.quick,
        "seconds": round(time.perf_counter() - started),
        "date": datetime.now(UTC).date().isoformat(),
    }
    console.print(rep.table)
    console.print(
        "Latency is event to outcome: from just before the e-mail is published on NATS (its "
        "JetStream acknowledgement included) to its outcome's arrival in this process.\n"
        "In-process baseline: the orchestrator's pipeline code (check_sender, draft_for) with "
        "the services' real servicers instantiated in this process on pools as their runtime "
        "roles, against the same PostgreSQL; the stubs are replaced by direct method calls "
        "(no gRPC), the e-mail is passed in and the draft returned (no NATS)."
    )
    for note in rep.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    if args.quick:
        console.print(
            "[yellow]--quick: short phases; the figures check that the bench works and are "
            "not comparable with a full run.[/yellow]"
        )
    if rep.results["bench_failed_phases"]:
        console.print(
            "[red]failed phases: " + ", ".join(rep.results["bench_failed_phases"]) + "; their "
            "keys keep the values the results file had[/red]"
        )
    if not completed:
        sys.exit(1)
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(out.read_text()) if out.exists() else {}
    previous.update(rep.results)
    out.write_text(json.dumps(_finite(previous), indent=2, sort_keys=True) + "\n")
    console.print(f"wrote {out}")


if __name__ == "__main__":
    main()
