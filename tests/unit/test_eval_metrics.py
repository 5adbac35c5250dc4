"""Evaluation metrics count what they claim to count."""

from __future__ import annotations

from crmctl.evals.metrics import classification_metrics

LABELS = ["a", "b", "other"]


def test_accuracy_confusion_and_per_topic_figures() -> None:
    expected = [("a", False), ("a", True), ("b", False), ("other", False)]
    predicted = [("a", False), ("b", True), ("b", False), ("a", False)]
    m = classification_metrics(expected, predicted, LABELS)
    assert m["topic_accuracy"] == 0.5
    assert m["confusion"]["a"] == {"a": 1, "b": 1, "other": 0}
    assert m["per_topic"]["b"] == {"precision": 0.5, "recall": 1.0, "f1": 0.6667, "support": 1}
    assert m["per_topic"]["other"]["recall"] == 0.0


def test_urgent_precision_and_recall() -> None:
    expected = [("a", True), ("a", True), ("a", False), ("a", False)]
    predicted = [("a", True), ("a", False), ("a", True), ("a", False)]
    m = classification_metrics(expected, predicted, LABELS)
    assert (m["urgent_precision"], m["urgent_recall"], m["urgent_support"]) == (0.5, 0.5, 2)


def test_no_predicted_urgent_gives_zero_precision_not_an_error() -> None:
    m = classification_metrics([("a", True)], [("a", False)], LABELS)
    assert m["urgent_precision"] == 0.0 and m["urgent_recall"] == 0.0
