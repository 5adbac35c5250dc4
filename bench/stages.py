"""Where an e-mail's time goes, read from the services' own Prometheus metrics.

The orchestrator times each stage of a job from the caller's side
(`crm_job_stage_seconds{stage}`: memory, classifier, delivery, product, conclude); every
service times its handlers from the inside (`crm_grpc_server_handling_seconds{method}`,
after the request is decoded, before the response is encoded). Scraped before and after a
run, the differences divided by the e-mails give the mean time per e-mail of each stage as
the orchestrator saw it, and of the handlers doing the work; the rest of a stage is gRPC
(encoding, HTTP/2, loopback, scheduling in two event loops). The in-process baseline
records the same stage histogram in this process, so its stages can be set side by side.
"""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

STAGE = "crm_job_stage_seconds"
MODEL_CPU = "crm_model_cpu_seconds_total"
HANDLER = "crm_grpc_server_handling_seconds"
# The orchestrator's stage named after the service whose handlers it calls.
SERVICE_OF_STAGE = {
    "memory": "MemoryService",
    "classifier": "ClassifierService",
    "delivery": "DeliveryService",
    "product": "ProductService",
}


def _samples(families: Iterable[Any]) -> Samples:
    out: Samples = {}
    for family in families:
        for s in family.samples:
            if s.name.endswith(("_sum", "_count", "_total")):
                out[(s.name, tuple(sorted(s.labels.items())))] = float(s.value)
    return out


def _scrape_one(url: str) -> Samples:
    with urllib.request.urlopen(url, timeout=5) as response:
        return _samples(text_string_to_metric_families(response.read().decode()))


async def scrape(urls: Mapping[str, str]) -> dict[str, Samples]:
    """Every service's /metrics, by service name."""
    found = await asyncio.gather(*(asyncio.to_thread(_scrape_one, u) for u in urls.values()))
    return dict(zip(urls, found, strict=True))


def local_samples() -> Samples:
    """This process's metrics (the in-process pipeline records its stages here)."""
    return _samples(REGISTRY.collect())


def _delta(after: Samples, before: Samples, name: str, label: str, value: str) -> float:
    return sum(
        v - before.get(k, 0.0) for k, v in after.items() if k[0] == name and (label, value) in k[1]
    )


def stage_ms(after: Samples, before: Samples, emails: int) -> dict[str, float]:
    """Mean milliseconds per e-mail in each orchestrator stage."""
    stages = sorted({dict(k[1]).get("stage", "") for k in after if k[0] == f"{STAGE}_sum"} - {""})
    return {
        s: round(_delta(after, before, f"{STAGE}_sum", "stage", s) * 1000 / max(1, emails), 3)
        for s in stages
    }


def handler_ms(after: Samples, before: Samples, service: str, emails: int) -> float:
    """Mean milliseconds per e-mail inside one service's handlers (all its methods)."""
    total = sum(
        v - before.get(k, 0.0)
        for k, v in after.items()
        if k[0] == f"{HANDLER}_sum"
        and dict(k[1]).get("method", "").startswith(f"/crm.v1.{service}/")
    )
    return round(total * 1000 / max(1, emails), 3)


def model_cpu_ms(
    after: Mapping[str, Samples], before: Mapping[str, Samples], emails: int
) -> dict[str, float]:
    """CPU milliseconds per e-mail of model inference in each service (the encoder and the
    classifier's heads, `crm_model_cpu_seconds`)."""
    return {
        service: round(
            sum(v - before[service].get(k, 0.0) for k, v in samples.items() if k[0] == MODEL_CPU)
            * 1000
            / max(1, emails),
            3,
        )
        for service, samples in after.items()
    }
