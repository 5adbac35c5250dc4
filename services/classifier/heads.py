"""The trained heads of tier 0 over the encoder's embeddings: topic and urgency level
(multinomial logistic regressions), with the thresholds chosen on training folds.

`make train` writes them to services/classifier/model/heads.json as plain numbers (never
pickled); loading takes a few milliseconds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from services.common.metrics import model_cpu
from services.common.taxonomy import LEVELS, TOPICS

MODEL_DIR = Path(__file__).parent / "model"
HEADS_FILE = MODEL_DIR / "heads.json"

Vector = npt.NDArray[np.float32]


def softmax(logits: Vector) -> Vector:
    """Row-wise softmax."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    result: Vector = exp / exp.sum(axis=-1, keepdims=True)
    return result


def calibration_error(
    confidence: Sequence[float], correct: Sequence[bool], bins: int = 10
) -> float:
    """Expected calibration error: the case-weighted mean gap between confidence and
    accuracy over `bins` equal-width confidence bins."""
    total, n = 0.0, len(confidence)
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = [i for i, c in enumerate(confidence) if lo < c <= hi or (b == 0 and c == 0)]
        if inside:
            accuracy = sum(correct[i] for i in inside) / len(inside)
            mean = sum(confidence[i] for i in inside) / len(inside)
            total += len(inside) / n * abs(accuracy - mean)
    return round(total, 4)


@dataclass(frozen=True)
class Thresholds:
    """Decisions on the heads' probabilities. All but `same_request` are chosen on
    out-of-fold predictions of the training split (see training.py)."""

    # p(priority) + p(hands_off) at or above this is urgent; the probabilities mix the
    # e-mail's with those of its most urgent sentence, which counts this much (urgency is
    # often one sentence: "I need them by Saturday").
    urgent: float = 0.5
    urgent_sentence_weight: float = 0.0
    # A calibrated topic confidence below this is marked low_confidence.
    low_confidence: float = 0.5
    # A follow-up whose own reading is at least this sure of a topic keeps it.
    own_topic: float = 0.6
    # Two messages this close in meaning (cosine) ask the same thing even when read as
    # different topics. Set, not fitted: requiring this closeness on top of the same topic
    # lowered urgent recall on the training split's threads (0.72 to 0.62-0.70).
    same_request: float = 0.9


@dataclass(frozen=True)
class Heads:
    """Topic and urgency-level heads."""

    topic_weights: Vector  # (topics, dimensions)
    topic_bias: Vector  # (topics,)
    level_weights: Vector  # (levels, dimensions)
    level_bias: Vector  # (levels,)
    # Divides the topic logits so that confidence matches accuracy (temperature scaling).
    temperature: float = 1.0
    thresholds: Thresholds = field(default_factory=Thresholds)
    topics: tuple[str, ...] = TOPICS
    levels: tuple[str, ...] = LEVELS
    trained: dict[str, Any] = field(default_factory=dict)

    def topic_probabilities(self, vectors: Vector) -> Vector:
        """Calibrated topic probabilities, one row per vector, in `topics` order."""
        with model_cpu("heads"):
            logits = vectors @ self.topic_weights.T + self.topic_bias
            return softmax(logits / self.temperature)

    def level_probabilities(self, vectors: Vector) -> Vector:
        """Urgency-level probabilities, one row per vector, in `levels` order."""
        with model_cpu("heads"):
            return softmax(vectors @ self.level_weights.T + self.level_bias)

    def to_json(self) -> dict[str, Any]:
        """The heads as plain data."""
        return {
            "topics": list(self.topics),
            "levels": list(self.levels),
            "topic_weights": np.round(self.topic_weights, 6).tolist(),
            "topic_bias": np.round(self.topic_bias, 6).tolist(),
            "level_weights": np.round(self.level_weights, 6).tolist(),
            "level_bias": np.round(self.level_bias, 6).tolist(),
            "temperature": round(self.temperature, 4),
            "thresholds": self.thresholds.__dict__,
            "trained": self.trained,
        }


def from_json(data: dict[str, Any]) -> Heads:
    """Heads from plain data; refuses a file trained on another taxonomy."""
    if tuple(data["topics"]) != TOPICS or tuple(data["levels"]) != LEVELS:
        raise ValueError(f"heads trained on {data['topics']} / {data['levels']}, not {TOPICS}")
    return Heads(
        topic_weights=np.array(data["topic_weights"], dtype=np.float32),
        topic_bias=np.array(data["topic_bias"], dtype=np.float32),
        level_weights=np.array(data["level_weights"], dtype=np.float32),
        level_bias=np.array(data["level_bias"], dtype=np.float32),
        temperature=float(data["temperature"]),
        thresholds=Thresholds(**data["thresholds"]),
        trained=data.get("trained", {}),
    )


def load(path: Path = HEADS_FILE) -> Heads:
    """The trained heads."""
    return from_json(json.loads(path.read_text(encoding="utf-8")))
