"""The tier-0 topic model: a multinomial logistic regression over three views of the text.

- TF-IDF of character n-grams (robust to typos, slang and other languages) and of words;
- a static sentence embedding (model2vec, distilled from all-MiniLM-L6-v2): meaning
  beyond the exact words;
- the explicit cue scores per topic (services/classifier/cues.py).

Loaded once per process; no network, no torch. `make train` writes the artifact to
services/classifier/model/: embedding/ (the static model), head.json (vocabularies, idf,
metadata) and head_weights.npy (the regression weights). Stored as data, never pickled.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer

from services.classifier.cues import TOPICS, score_topics

MODEL_DIR = Path(__file__).parent / "model"
EMBEDDING_DIR = MODEL_DIR / "embedding"
HEAD_FILE = MODEL_DIR / "head.json"
WEIGHTS_FILE = MODEL_DIR / "head_weights.npy"
URGENT_WEIGHTS_FILE = MODEL_DIR / "urgent_weights.npy"
# Cue scores are sums of weights around 0-10; this keeps them on the other views' scale.
CUE_SCALE = 5.0

Vector = npt.NDArray[np.float32]


def char_vectorizer() -> TfidfVectorizer:
    """Character 2-5-grams within word boundaries."""
    return TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2, dtype=np.float32
    )


def word_vectorizer() -> TfidfVectorizer:
    """Words and word pairs."""
    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, dtype=np.float32)


def cue_features(texts: Sequence[str]) -> Vector:
    """The explicit cue scores per topic, scaled, in TOPICS order."""
    scores = [score_topics(t) for t in texts]
    rows = [[s[topic] / CUE_SCALE for topic in TOPICS] for s in scores]
    return np.array(rows, dtype=np.float32).reshape(len(texts), len(TOPICS))


def feature_matrix(
    texts: Sequence[str],
    embeddings: npt.NDArray[np.floating],
    chars: TfidfVectorizer,
    words: TfidfVectorizer,
    embedding_weight: float,
) -> csr_matrix:
    """[char tf-idf, word tf-idf, embedding, cues]: the one definition shared by training and
    inference (the vectorizers must already be fitted)."""
    return hstack(
        [
            chars.transform(texts),
            words.transform(texts),
            csr_matrix(embeddings.astype(np.float32) * embedding_weight),
            csr_matrix(cue_features(texts)),
        ]
    ).tocsr()


def softmax(logits: Vector) -> Vector:
    """Row-wise softmax."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    result: Vector = exp / exp.sum(axis=-1, keepdims=True)
    return result


def vectorizer_state(vectorizer: TfidfVectorizer) -> dict[str, Any]:
    """A fitted vectorizer as plain data."""
    return {
        "vocabulary": {k: int(v) for k, v in vectorizer.vocabulary_.items()},
        "idf": [round(float(x), 6) for x in vectorizer.idf_],
    }


def restore_vectorizer(vectorizer: TfidfVectorizer, state: dict[str, Any]) -> TfidfVectorizer:
    """A vectorizer fitted from saved data (same settings, vocabulary and idf)."""
    vectorizer.set_params(vocabulary=state["vocabulary"])
    vectorizer.fit([""])  # validates the fixed vocabulary; idf is replaced next
    vectorizer.idf_ = np.array(state["idf"], dtype=np.float32)
    return vectorizer


@dataclass(frozen=True)
class TopicModel:
    """The embedding model, the fitted vectorizers and the linear head."""

    embedder: object  # model2vec.StaticModel
    chars: TfidfVectorizer
    words: TfidfVectorizer
    embedding_weight: float
    weights: Vector  # (topics, features)
    bias: Vector  # (topics,)
    topics: tuple[str, ...]
    urgent_weights: Vector  # (features,)
    urgent_bias: float
    urgent_threshold: float

    def embed(self, texts: Sequence[str]) -> Vector:
        """Sentence embeddings (float32) of the texts."""
        vectors = self.embedder.encode(list(texts))  # type: ignore[attr-defined]
        return np.asarray(vectors, dtype=np.float32)

    def analyse(self, texts: Sequence[str]) -> tuple[Vector, Vector, Vector]:
        """(topic probabilities, urgency probabilities, embeddings), one row per text; topic
        probabilities in `self.topics` order. One pass: per-call overhead dominates."""
        embeddings = self.embed(texts)
        features = feature_matrix(texts, embeddings, self.chars, self.words, self.embedding_weight)
        logits = np.asarray(features @ self.weights.T, dtype=np.float32) + self.bias
        urgent_logit = (
            np.asarray(features @ self.urgent_weights, dtype=np.float32) + self.urgent_bias
        )
        urgent: Vector = 1.0 / (1.0 + np.exp(-urgent_logit))
        return softmax(logits), urgent, embeddings

    def probabilities(self, texts: Sequence[str]) -> Vector:
        """Topic probabilities, one row per text, columns in `self.topics` order."""
        return self.analyse(texts)[0]


def load_embedder(path: Path = EMBEDDING_DIR) -> object:
    """The static embedding model, loaded offline from the project's files."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from model2vec import StaticModel

    return StaticModel.from_pretrained(str(path))


def load(model_dir: Path = MODEL_DIR) -> TopicModel:
    """Loads the embedding model and the trained head."""
    head = json.loads((model_dir / HEAD_FILE.name).read_text())
    topics = tuple(head["topics"])
    if topics != TOPICS:
        raise ValueError(f"head topics {topics} do not match the taxonomy {TOPICS}")
    return TopicModel(
        embedder=load_embedder(model_dir / EMBEDDING_DIR.name),
        chars=restore_vectorizer(char_vectorizer(), head["chars"]),
        words=restore_vectorizer(word_vectorizer(), head["words"]),
        embedding_weight=float(head["embedding_weight"]),
        weights=np.load(model_dir / WEIGHTS_FILE.name).astype(np.float32),
        bias=np.array(head["bias"], dtype=np.float32),
        topics=topics,
        urgent_weights=np.load(model_dir / URGENT_WEIGHTS_FILE.name).astype(np.float32),
        urgent_bias=float(head["urgent_bias"]),
        urgent_threshold=float(head["urgent_threshold"]),
    )
