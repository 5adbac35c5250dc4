"""The Grafana dashboard and the alerting rules query only metrics the services export
(with the names prometheus_client gives them), with their own labels, and every alert
links to a section of the runbook."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

from services.common import metrics

ROOT = Path(__file__).resolve().parents[3]
DASHBOARD = ROOT / "deploy" / "monitoring" / "grafana-dashboard.json"
ALERTS = ROOT / "deploy" / "monitoring" / "alerts.yaml"
RUNBOOK = ROOT / "docs" / "runbook.md"
# Series Prometheus makes itself, not the services: label names are the scrape's.
PROMETHEUS_SERIES = {"up"}
STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
SELECTOR = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}")
MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*"')


def exported_series() -> dict[str, set[str]]:
    """Every series name the metrics module exports, with the labels it may carry."""
    series: dict[str, set[str]] = {}
    for value in vars(metrics).values():
        if not isinstance(value, MetricWrapperBase):
            continue
        # The base name prometheus_client keeps (a counter's without _total), and labels.
        name = value._name
        labels = set(value._labelnames)
        if isinstance(value, Counter):
            series[f"{name}_total"] = labels
        elif isinstance(value, Histogram):
            for suffix in ("_bucket", "_sum", "_count"):
                series[name + suffix] = labels | ({"le"} if suffix == "_bucket" else set())
        elif isinstance(value, Gauge):
            series[name] = labels
    return series


def dashboard_expressions() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    found = [
        target["expr"]
        for panel in board["panels"]
        for target in panel.get("targets", [])
        if target.get("expr")
    ]
    assert found
    return found


def alert_rules() -> list[dict[str, Any]]:
    yaml: Any = importlib.import_module("yaml")  # PyYAML, without type stubs
    rules = [
        rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]
    ]
    assert rules
    return rules


def check_expression(expr: str, series: dict[str, set[str]]) -> None:
    without_strings = STRINGS.sub('""', expr)
    names = set(re.findall(r"\b(crm_[a-zA-Z0-9_]*)", without_strings))
    unknown = names - set(series)
    assert not unknown, f"{expr}\nunknown metrics: {sorted(unknown)}"
    assert names or any(re.search(rf"\b{p}\b", expr) for p in PROMETHEUS_SERIES), expr
    # Label matchers right after a metric name use that metric's labels.
    for name, matchers in SELECTOR.findall(expr):
        if name not in series:
            continue
        used = set(MATCHER.findall(matchers))
        assert used <= series[name], f"{expr}\n{name} has no labels {sorted(used - series[name])}"


def runbook_anchors() -> set[str]:
    """GitHub's anchors of the runbook's headings."""
    anchors = set()
    for line in RUNBOOK.read_text().splitlines():
        heading = re.match(r"^#{1,6}\s+(.*)$", line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower())
            anchors.add(slug.replace(" ", "-"))
    return anchors


def test_the_metrics_module_exports_what_the_readme_names() -> None:
    series = exported_series()
    assert "crm_emails_total" in series
    assert "crm_job_stage_seconds_bucket" in series
    assert series["crm_job_stage_seconds_bucket"] == {"stage", "le"}
    assert "crm_consumer_pending_messages" in series


@pytest.mark.parametrize("expr", dashboard_expressions())
def test_every_dashboard_query_uses_exported_metrics(expr: str) -> None:
    check_expression(expr, exported_series())


def test_the_dashboard_covers_the_operational_questions() -> None:
    text = "\n".join(dashboard_expressions())
    for name in (
        "crm_consumer_pending_messages",
        "crm_consumer_ack_pending_messages",
        "crm_emails_total",
        "crm_dead_letters_total",
        "crm_job_stage_seconds_bucket",
        "crm_decisions_total",
        "crm_decisions_refused_total",
        "crm_model_tokens_total",
        "crm_model_cost_usd_total",
        "crm_rate_limited_total",
        "crm_model_calls_over_budget_total",
    ):
        assert name in text, name
    assert "histogram_quantile(0.95" in text and "histogram_quantile(0.5" in text


def test_every_alert_uses_exported_metrics_and_links_to_the_runbook() -> None:
    series = exported_series()
    anchors = runbook_anchors()
    names = []
    for rule in alert_rules():
        names.append(rule["alert"])
        check_expression(rule["expr"], series)
        annotations = rule["annotations"]
        assert annotations["summary"], rule["alert"]
        page, _, anchor = annotations["runbook_url"].partition("#")
        assert page == "docs/runbook.md", rule["alert"]
        assert anchor in anchors, f"{rule['alert']}: no #{anchor} in docs/runbook.md"
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
    assert len(names) == len(set(names))
    for needed in (
        "CrmConsumerLagGrowing",
        "CrmDeadLetters",
        "CrmJobFailureRateHigh",
        "CrmStageLatencyHigh",
        "CrmModelCostHigh",
        "CrmServiceDown",
    ):
        assert needed in names


def test_an_unknown_metric_or_label_is_caught() -> None:
    series = exported_series()
    with pytest.raises(AssertionError):
        check_expression("rate(crm_emails_count[5m])", series)
    with pytest.raises(AssertionError):
        check_expression('sum(rate(crm_emails_total{stage="x"}[5m]))', series)
    check_expression('sum(rate(crm_emails_total{outcome="failed"}[5m]))', series)
