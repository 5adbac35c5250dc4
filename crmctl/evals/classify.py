"""`crmctl eval classify`: runs the classifier in-process over labelled cases."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from crmctl.evals.metrics import classification_metrics, level_metrics
from services.classifier.cases import load_cases
from services.classifier.heads import calibration_error
from services.classifier.llm import LlmTriager
from services.classifier.main import load_tier0
from services.classifier.triage import Triage
from services.common.llm import LlmSettings, make_client
from services.common.taxonomy import TOPICS


async def run(
    cases_file: Path, out_dir: Path, tier: str, json_out: bool, console: Console
) -> dict[str, Any]:
    """Classifies every case, writes results.jsonl and metrics.json, prints the tables."""
    cases = load_cases(cases_file)
    local = load_tier0()
    llm: LlmTriager | None = None
    if tier == "llm":
        settings = LlmSettings()
        client = make_client(settings)
        if client is None:
            raise SystemExit("--tier llm needs LLM_API_KEY (or OPENAI_API_KEY) or LLM_BASE_URL")
        llm = LlmTriager(client, settings.llm_model_classify, local, settings.prices)
    out_dir.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    latencies: list[float] = []
    fell_back = 0
    with Progress(
        console=console, transient=True, disable=json_out and not console.is_terminal
    ) as progress:
        task = progress.add_task("classifying", total=len(cases))
        for case in cases:
            subject, body = case.subject_and_body()
            started = time.perf_counter()
            if llm is not None:
                verdict, fell = await llm.classify(subject, body, case.history)
                fell_back += fell
                used = "local" if fell else "llm"
            else:
                verdict, used = local.classify(subject, body, case.history), "local"
            latencies.append((time.perf_counter() - started) * 1000)
            results.append({"id": case.id, "predicted": _predicted(verdict, used)})
            progress.advance(task)
    with (out_dir / "results.jsonl").open("w", encoding="utf-8") as f:
        for row in results:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    labelled = [(c, r) for c, r in zip(cases, results, strict=True) if c.expected is not None]
    metrics = classification_metrics(
        [(c.expected.topic, c.expected.urgent) for c, _ in labelled if c.expected],
        [(r["predicted"]["topic"], r["predicted"]["urgent"]) for _, r in labelled],
        TOPICS,
    )
    expected_levels = [c.expected.level() for c, _ in labelled if c.expected]
    metrics.update(level_metrics(expected_levels, [r["predicted"]["urgency"] for _, r in labelled]))
    metrics["cases"] = len(labelled)
    with_language = [
        (c.expected.language, r["predicted"]["language"])
        for c, r in labelled
        if c.expected and c.expected.language
    ]
    metrics["language_accuracy"] = (
        round(sum(1 for e, p in with_language if e == p) / len(with_language), 4)
        if with_language
        else None
    )
    metrics["language_support"] = len(with_language)
    metrics["calibration_error"] = calibration_error(
        [r["predicted"]["confidence"] for _, r in labelled],
        [bool(c.expected and c.expected.topic == r["predicted"]["topic"]) for c, r in labelled],
    )
    metrics["low_confidence_share"] = round(
        sum(1 for _, r in labelled if r["predicted"]["low_confidence"]) / max(1, len(labelled)), 4
    )
    low = [(c, r) for c, r in labelled if r["predicted"]["low_confidence"]]
    metrics["low_confidence_accuracy"] = (
        round(
            sum(1 for c, r in low if c.expected and c.expected.topic == r["predicted"]["topic"])
            / len(low),
            4,
        )
        if low
        else None
    )
    metrics["flags"] = {
        name: sum(1 for r in results if r["predicted"][name])
        for name in ("suspected_injection", "continues_open_request", "low_confidence")
    }
    metrics["tier"] = tier
    metrics["fell_back"] = fell_back
    metrics["latency_ms_p50"] = round(statistics.median(latencies), 3) if latencies else 0.0
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    _print(metrics, console)
    return metrics


def _predicted(verdict: Triage, tier: str) -> dict[str, Any]:
    return {
        "topic": verdict.topic,
        "urgent": verdict.urgent,
        "reason": "; ".join(verdict.reasons),
        "tier": tier,
        "requests": verdict.requests,
        "repeat_count": verdict.repeat_count,
        "urgency": verdict.level,
        "language": verdict.language,
        "confidence": verdict.confidence,
        "low_confidence": verdict.low_confidence,
        "suspected_injection": verdict.suspected_injection,
        "continues_open_request": verdict.continues_open_request,
    }


def _short(topic: str) -> str:
    return {"product_availability_or_recommendation": "product"}.get(topic, topic)


def _print(metrics: dict[str, Any], console: Console) -> None:
    summary = Table(
        title=f"triage on {metrics['cases']} cases (tier {metrics['tier']})", title_justify="left"
    )
    summary.add_column("measure")
    summary.add_column("value", justify="right")
    summary.add_row("topic accuracy", f"{metrics['topic_accuracy']:.3f}")
    summary.add_row("urgent precision", f"{metrics['urgent_precision']:.3f}")
    summary.add_row(
        "urgent recall", f"{metrics['urgent_recall']:.3f} (of {metrics['urgent_support']})"
    )
    summary.add_row("urgency level accuracy", f"{metrics['level_accuracy']:.3f}")
    for level, m in metrics["per_level"].items():
        summary.add_row(f"  recall of {level}", f"{m['recall']:.3f} (of {m['support']})")
    if metrics["language_accuracy"] is not None:
        summary.add_row(
            "language accuracy",
            f"{metrics['language_accuracy']:.3f} (of {metrics['language_support']})",
        )
    summary.add_row("expected calibration error", f"{metrics['calibration_error']:.3f}")
    summary.add_row(
        "low confidence",
        f"{metrics['low_confidence_share']:.3f} of cases"
        + (
            f", topic right in {metrics['low_confidence_accuracy']:.3f} of them"
            if metrics["low_confidence_accuracy"] is not None
            else ""
        ),
    )
    for flag, count in metrics["flags"].items():
        summary.add_row(f"flag {flag}", str(count))
    summary.add_row("p50 latency per e-mail (ms)", f"{metrics['latency_ms_p50']:.2f}")
    if metrics["tier"] == "llm":
        summary.add_row("fell back to tier 0", str(metrics["fell_back"]))
    console.print(summary)
    per = Table(title="per topic", title_justify="left")
    for col in ("topic", "precision", "recall", "f1", "support"):
        per.add_column(col, justify="left" if col == "topic" else "right")
    for topic, m in metrics["per_topic"].items():
        per.add_row(
            topic,
            f"{m['precision']:.2f}",
            f"{m['recall']:.2f}",
            f"{m['f1']:.2f}",
            str(m["support"]),
        )
    console.print(per)
    confusion = Table(title="confusion (rows: expected, columns: predicted)", title_justify="left")
    confusion.add_column("")
    for topic in metrics["confusion"]:
        confusion.add_column(_short(topic)[:12], justify="right")
    for topic, row in metrics["confusion"].items():
        confusion.add_row(_short(topic), *(str(v) for v in row.values()))
    console.print(confusion)
