"""The encoder's reading and cache, over a stand-in engine that counts what it is asked."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from services.common.encoder import DIMENSIONS, Encoder


class CountingEngine:
    """Embeds each text as a fixed vector and records every text it was asked for."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def query(self, texts: list[str]) -> npt.NDArray[np.float32]:
        self.asked.extend(texts)
        rows = [np.full(DIMENSIONS, float(len(t)), dtype=np.float32) for t in texts]
        return np.stack([r / np.linalg.norm(r) for r in rows])

    def passage(self, texts: list[str]) -> npt.NDArray[np.float32]:
        return self.query(texts)


def test_history_lines_are_remembered_and_an_emails_sentences_are_not() -> None:
    engine = CountingEngine()
    encoder = Encoder(engine)
    encoder.embed(["Customer asked where parcel FDX486159753 is."])
    encoder.embed(["Customer asked where parcel FDX486159753 is."])
    assert engine.asked == ["Customer asked where parcel FDX486159753 is."]
    encoder.read("Where is my parcel? It is a week late.")
    encoder.read("Where is my parcel? It is a week late.")
    assert engine.asked.count("Where is my parcel?") == 2


def test_the_cache_is_bounded_and_drops_the_least_recently_used() -> None:
    engine = CountingEngine()
    encoder = Encoder(engine, cache_size=2)
    encoder.embed(["a line", "b line", "c line"])
    encoder.embed(["a line"])
    assert engine.asked.count("a line") == 2


def test_an_emails_vector_is_its_sentences_weighted_by_length_and_normalised() -> None:
    reading = Encoder(CountingEngine()).read("Short one here.\nA much longer second sentence here.")
    assert len(reading.sentences) == 2
    assert reading.sentence_vectors.shape == (2, DIMENSIONS)
    assert abs(float(np.linalg.norm(reading.vector)) - 1.0) < 1e-5
