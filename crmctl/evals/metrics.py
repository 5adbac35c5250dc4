"""Classification metrics for the eval commands. Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any


def _ratio(num: int, den: int) -> float:
    return round(num / den, 4) if den else 0.0


def classification_metrics(
    expected: Sequence[tuple[str, bool]],
    predicted: Sequence[tuple[str, bool]],
    labels: Sequence[str],
) -> dict[str, Any]:
    """Topic accuracy, per-topic precision/recall, confusion matrix, urgent precision/recall."""
    assert len(expected) == len(predicted)
    n = len(expected)
    correct = sum(1 for (et, _), (pt, _) in zip(expected, predicted, strict=True) if et == pt)
    confusion: dict[str, dict[str, int]] = {e: dict.fromkeys(labels, 0) for e in labels}
    for (et, _), (pt, _) in zip(expected, predicted, strict=True):
        confusion[et][pt] += 1
    per_topic = {}
    for label in labels:
        tp = confusion[label][label]
        predicted_n = sum(confusion[e][label] for e in labels)
        actual_n = sum(confusion[label].values())
        precision, recall = _ratio(tp, predicted_n), _ratio(tp, actual_n)
        f1 = round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0
        per_topic[label] = {"precision": precision, "recall": recall, "f1": f1, "support": actual_n}
    urgent = Counter((eu, pu) for (_, eu), (_, pu) in zip(expected, predicted, strict=True))
    tp, fp, fn = urgent[(True, True)], urgent[(False, True)], urgent[(True, False)]
    return {
        "cases": n,
        "topic_accuracy": _ratio(correct, n),
        "urgent_precision": _ratio(tp, tp + fp),
        "urgent_recall": _ratio(tp, tp + fn),
        "urgent_support": tp + fn,
        "per_topic": per_topic,
        "confusion": confusion,
    }


def level_metrics(expected: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Urgency levels (none, priority, hands_off): exact-level accuracy over the cases
    labelled with a level, and recall per level."""
    pairs = list(zip(expected, predicted, strict=True))
    per_level = {}
    for level in ("none", "priority", "hands_off"):
        actual = [p for e, p in pairs if e == level]
        per_level[level] = {
            "recall": _ratio(sum(1 for p in actual if p == level), len(actual)),
            "support": len(actual),
        }
    return {
        "cases": len(pairs),
        "level_accuracy": _ratio(sum(1 for e, p in pairs if e == p), len(pairs)),
        "per_level": per_level,
    }
