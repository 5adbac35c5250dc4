"""Needs by meaning: when the footwear thesaurus (`needs`) recognises nothing of what a
customer needs (a Turkish "keep my feet dry in the rain", a Japanese "shoes for tennis"),
the request is compared with each model's name and description by the pretrained
multilingual encoder the classifier reads e-mails with (multilingual-e5-small).

The encoder only ever names one model, and only when it is clearly closer than every
other: its similarities between a need and short catalogue descriptions lie close
together (0.78 to 0.86), and on our labelled hard cases (paraphrased needs and languages the
thesaurus lacks) a lead of the closest model under MARGIN was right about as often as
wrong, while every lead of MARGIN or more was right. Below that it abstains, and the
request is answered as one whose need was not understood.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from services.common.encoder import Encoder, Vector

# The least lead in cosine similarity of the closest model over the next one for the
# encoder to name it (calibrated on the labelled cases described above).
MARGIN = 0.015


@dataclass(frozen=True)
class DescriptionIndex:
    """Each model's name and description, embedded as passages."""

    names: tuple[str, ...]
    vectors: Vector  # (models, dimensions), L2-normalised


def closest_model(index: DescriptionIndex, need: Vector, margin: float = MARGIN) -> str | None:
    """The model whose description is closest to the need, when it leads the next one by
    at least `margin`; None otherwise."""
    if len(index.names) < 2:
        return index.names[0] if index.names else None
    similarity = index.vectors @ need
    first, second = np.argsort(-similarity)[:2]
    if float(similarity[first] - similarity[second]) < margin:
        return None
    return index.names[int(first)]


class Meaning:
    """The encoder and the catalogue's descriptions embedded once (again when the
    catalogue's descriptions change)."""

    def __init__(self, encoder: Encoder) -> None:
        self._encoder = encoder
        self._lock = threading.Lock()
        self._index: tuple[tuple[tuple[str, str], ...], DescriptionIndex] | None = None

    def closest(self, text: str, descriptions: Mapping[str, str]) -> str | None:
        """The model whose name and description the text is clearly closest to, if any.
        Runs the encoder (tens of milliseconds): call it off the event loop."""
        need = self._encoder.read(text).vector
        return closest_model(self._described(descriptions), need)

    def _described(self, descriptions: Mapping[str, str]) -> DescriptionIndex:
        key = tuple(sorted(descriptions.items()))
        with self._lock:
            if self._index is not None and self._index[0] == key:
                return self._index[1]
        names = tuple(name for name, _ in key)
        vectors = self._encoder.passages([f"{name}. {text}" for name, text in key])
        index = DescriptionIndex(names, vectors)
        with self._lock:
            self._index = (key, index)
        return index
