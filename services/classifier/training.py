"""`make train`: fits the tier-0 heads on the encoder's embeddings of the training split.

1. Embeds every training e-mail with the pinned multilingual encoder (encoder.py), by
   itself and, for a message with case history, together with the request it follows.
2. Fits the topic head and the urgency-level head (multinomial logistic regression),
   choosing the regularisation by 5-fold cross-validation on the training split alone
   (evals/triage/heldout*.jsonl are never read here).
3. On out-of-fold predictions, chooses the temperature that calibrates confidence and
   every threshold of heads.Thresholds.
4. Writes services/classifier/model/heads.json.

Runs in the service's own environment (scikit-learn is only needed here). Embeddings are
kept in build/e5-cache.npz, so a second run takes seconds.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from services.classifier.cases import TriageCase, load_cases
from services.classifier.heads import HEADS_FILE, Heads, Thresholds, calibration_error, softmax
from services.classifier.signals import claimed, hands_off_claim
from services.classifier.triage import customer_messages, model_text, repeated
from services.common import encoder as encoder_module
from services.common.encoder import Encoder
from services.common.taxonomy import LEVEL_HANDS_OFF, LEVELS, TOPICS

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TRAIN_DIR = PROJECT_ROOT / "evals" / "triage"
CACHE_FILE = PROJECT_ROOT / "build" / "e5-cache.npz"
SEED = 7
FOLDS = 5
C_GRID = (8.0, 16.0, 32.0)
LEVEL_C_GRID = (16.0, 32.0, 64.0)
# Urgency: recall first (a missed injury or legal claim is the costly error): the most
# precise setting that finds this share of the urgent e-mails out of fold.
URGENT_TARGET_RECALL = 0.9
# Confidence below which the out-of-fold topic is right less often than this is "low".
LOW_CONFIDENCE_ACCURACY = 0.6

Matrix = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Views:
    """Embeddings of the training cases: the e-mail alone, with its open request (equal
    to alone for a first message), and what it claims (whole and by sentence)."""

    own: Matrix
    combined: Matrix
    # The e-mail without mentions that are not claims (what the level head reads).
    claimed: Matrix
    claimed_sentences: list[Matrix]
    has_history: npt.NDArray[np.bool_]


def embed_cases(encoder: Encoder, cases: list[TriageCase]) -> Views:
    """Reads every case as the service does."""
    own, combined, said, said_sentences, has_history = [], [], [], [], []
    texts = []
    for case in cases:
        subject, body = case.subject_and_body()
        earlier = customer_messages(case.history)
        texts.append(model_text(subject, body))
        texts.append(model_text(subject, body, earlier[-1] if earlier else ""))
        texts.append(claimed(model_text(subject, body)))
        has_history.append(bool(earlier))
    readings = encoder.read_many(texts)
    for i in range(len(cases)):
        own.append(readings[3 * i].vector)
        combined.append(readings[3 * i + 1].vector)
        said.append(readings[3 * i + 2].vector)
        said_sentences.append(readings[3 * i + 2].sentence_vectors)
    return Views(
        np.stack(own), np.stack(combined), np.stack(said), said_sentences, np.array(has_history)
    )


def _logistic(c: float, balanced: bool = True) -> Any:
    from sklearn.linear_model import LogisticRegression

    weights = "balanced" if balanced else None
    return LogisticRegression(C=c, max_iter=3000, class_weight=weights)


def _folds(labels: npt.NDArray[Any]) -> list[tuple[npt.NDArray[Any], npt.NDArray[Any]]]:
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    return list(splitter.split(np.zeros(len(labels)), labels))


def _topic_rows(
    views: Views, idx: npt.NDArray[Any], labels: npt.NDArray[Any]
) -> tuple[Matrix, Any]:
    """Training rows of the topic head: every e-mail alone, and with its open request."""
    extra = idx[views.has_history[idx]]
    x = np.concatenate([views.own[idx], views.combined[extra]])
    return x, np.concatenate([labels[idx], labels[extra]])


@dataclass
class OutOfFold:
    """Out-of-fold topic logits: the e-mail alone and with its open request."""

    own: Matrix
    combined: Matrix


def topic_out_of_fold(views: Views, labels: npt.NDArray[Any], c: float) -> OutOfFold:
    """Topic logits of each case from a head that never saw it."""
    own = np.zeros((len(labels), len(TOPICS)), dtype=np.float32)
    combined = np.zeros_like(own)
    for train_idx, test_idx in _folds(labels):
        clf = _logistic(c).fit(*_topic_rows(views, train_idx, labels))
        own[test_idx] = clf.decision_function(views.own[test_idx])
        combined[test_idx] = clf.decision_function(views.combined[test_idx])
    return OutOfFold(own, combined)


def decide_topics(oof: OutOfFold, views: Views, temperature: float, own_topic: float) -> Matrix:
    """The topic probabilities the service would act on for each case (same rule as
    triage.Triager: a follow-up unsure of its own topic is read with its open request)."""
    own = softmax(oof.own / temperature)
    combined = softmax(oof.combined / temperature)
    unsure = views.has_history & (own.max(axis=1) < own_topic)
    chosen: Matrix = np.where(unsure[:, None], combined, own)
    return chosen


def fit_temperature(logits: Matrix, labels: npt.NDArray[Any]) -> float:
    """The temperature minimising the negative log-likelihood of out-of-fold logits."""
    best, best_nll = 1.0, float("inf")
    for t in np.arange(0.3, 3.01, 0.05):
        p = softmax(logits / t)[np.arange(len(labels)), labels]
        nll = float(-np.log(p + 1e-9).mean())
        if nll < best_nll:
            best, best_nll = float(t), nll
    return round(best, 2)


def urgency_labels(cases: list[TriageCase]) -> npt.NDArray[np.int_]:
    """What the level head learns. Urgency that comes only from the repeat rule (counted
    from the history) is left out: it is counted, not read from wording."""
    labels = []
    for case in cases:
        assert case.expected is not None
        level = case.expected.level()
        subject, body = case.subject_and_body()
        repeat_only = (
            level == LEVEL_HANDS_OFF
            and repeated(len(customer_messages(case.history)))
            and not hands_off_claim(f"{subject}\n{body}")
        )
        labels.append(LEVELS.index("none" if repeat_only else level))
    return np.array(labels)


def train(files: list[Path], encoder: Encoder) -> Heads:
    """Fits and calibrates the heads on the cases of `files`."""
    cases = [c for f in files for c in load_cases(f) if c.expected is not None]
    views = embed_cases(encoder, cases)
    labels = np.array([TOPICS.index(c.expected.topic) for c in cases if c.expected])
    scores = {}
    for c in C_GRID:
        oof = topic_out_of_fold(views, labels, c)
        scores[c] = float((decide_topics(oof, views, 1.0, 0.6).argmax(axis=1) == labels).mean())
        print(f"C={c}: out-of-fold topic accuracy {scores[c]:.4f}", flush=True)
    best_c = max(scores, key=lambda k: scores[k])
    oof = topic_out_of_fold(views, labels, best_c)
    final_logits = np.where(views.has_history[:, None], oof.combined, oof.own).astype(np.float32)
    temperature = fit_temperature(final_logits, labels)
    grid = {
        own_topic: float(
            (decide_topics(oof, views, temperature, own_topic).argmax(axis=1) == labels).mean()
        )
        for own_topic in (0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
    }
    own_topic = max(grid, key=lambda k: (grid[k], k))
    decided = decide_topics(oof, views, temperature, own_topic)
    confidence = decided.max(axis=1)
    correct = decided.argmax(axis=1) == labels
    low = 0.0
    for tau in np.arange(0.3, 0.8, 0.05):
        below = confidence < tau
        if below.sum() >= 10 and correct[below].mean() <= LOW_CONFIDENCE_ACCURACY:
            low = round(float(tau), 2)
    # Urgency level head, how much its most urgent sentence counts, and the threshold.
    levels = urgency_labels(cases)
    level_scores = {}
    level_oof = np.zeros((len(cases), len(LEVELS)), dtype=np.float32)
    sentence_oof = np.zeros_like(level_oof)
    for c in LEVEL_C_GRID:
        probs, by_sentence = np.zeros_like(level_oof), np.zeros_like(level_oof)
        for train_idx, test_idx in _folds(levels):
            clf = _logistic(c, balanced=False).fit(views.claimed[train_idx], levels[train_idx])
            probs[test_idx] = clf.predict_proba(views.claimed[test_idx])
            for i in test_idx:
                rows = clf.predict_proba(views.claimed_sentences[i])
                by_sentence[i] = rows[int((rows[:, 1] + rows[:, 2]).argmax())]
        level_scores[c] = float((probs.argmax(axis=1) == levels).mean())
        if level_scores[c] >= max(level_scores.values()):
            level_oof, sentence_oof, level_c = probs, by_sentence, c
    claims = np.array([bool(hands_off_claim(" ".join(c.subject_and_body()))) for c in cases])
    truly = levels > 0
    # For each weight of the most urgent sentence: the highest threshold that reaches the
    # target recall; the weight whose threshold is the most precise wins.
    best: tuple[float, float, float, float] | None = None  # precision, recall, mix, threshold
    for mix in (0.0, 0.25, 0.5, 0.75):
        mixed = (1 - mix) * level_oof + mix * sentence_oof
        for t in np.arange(0.95, 0.04, -0.05):
            said = claims | (mixed[:, 1] + mixed[:, 2] >= t)
            tp = int((said & truly).sum())
            recall, precision = tp / max(1, int(truly.sum())), tp / max(1, int(said.sum()))
            if recall >= URGENT_TARGET_RECALL:
                if best is None or precision > best[0]:
                    best = (precision, recall, mix, round(float(t), 2))
                break
    assert best is not None
    precision, recall, sentence_mix, urgent_threshold = best
    chosen = {"recall": round(recall, 4), "precision": round(precision, 4)}
    topic_clf = _logistic(best_c).fit(*_topic_rows(views, np.arange(len(cases)), labels))
    level_clf = _logistic(level_c, balanced=False).fit(views.claimed, levels)
    return Heads(
        topic_weights=topic_clf.coef_.astype(np.float32),
        topic_bias=topic_clf.intercept_.astype(np.float32),
        level_weights=level_clf.coef_.astype(np.float32),
        level_bias=level_clf.intercept_.astype(np.float32),
        temperature=temperature,
        thresholds=Thresholds(
            urgent=urgent_threshold,
            urgent_sentence_weight=sentence_mix,
            low_confidence=low,
            own_topic=own_topic,
        ),
        trained={
            "files": [str(f.relative_to(PROJECT_ROOT)) for f in files],
            "cases": len(cases),
            "encoder_sha256": encoder_module.MODEL_SHA256,
            "topic_C": best_c,
            "topic_cv_accuracy": {str(k): round(v, 4) for k, v in scores.items()},
            "topic_cv_accuracy_with_rules": round(grid[own_topic], 4),
            "topic_cv_ece": calibration_error(confidence.tolist(), correct.tolist()),
            "level_C": level_c,
            "level_cv_accuracy": {str(k): round(v, 4) for k, v in level_scores.items()},
            "urgent_cv": chosen,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )


def main() -> None:
    """Entry point of `make train`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=None, help="encoder threads")
    args = parser.parse_args()
    encoder = encoder_module.load(args.threads, cache_size=10**7)
    if CACHE_FILE.exists():
        cached = np.load(CACHE_FILE)
        encoder.preload([str(k) for k in cached["keys"]], cached["vectors"])
    files = sorted(TRAIN_DIR.glob("train*.jsonl"))
    heads = train(files, encoder)
    CACHE_FILE.parent.mkdir(parents=True, exist_ok=True)
    texts, vectors = encoder.cached()
    np.savez_compressed(CACHE_FILE, keys=np.array(texts, dtype=str), vectors=vectors)
    HEADS_FILE.parent.mkdir(parents=True, exist_ok=True)
    HEADS_FILE.write_text(json.dumps(heads.to_json()) + "\n", encoding="utf-8")
    print(json.dumps(heads.trained, indent=2))
    print(f"thresholds: {heads.thresholds}, temperature {heads.temperature}")


if __name__ == "__main__":
    main()
