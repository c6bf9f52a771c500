"""The embedder: unit vectors in input order, meaning-aware similarities, a cache that saves re-encoding."""
from __future__ import annotations

import numpy as np
import pytest

from tsqr.embedding import Embedder, shared_embedder
from tsqr.retrieval.models import resolve_model


def test_resolve_model_maps_default_to_the_offline_copy_and_passes_others_through() -> None:
    default = resolve_model("default")
    assert default.endswith("model") and resolve_model("all-MiniLM-L6-v2") == default
    assert resolve_model("BAAI/bge-base-en-v1.5") == "BAAI/bge-base-en-v1.5"
    with pytest.raises(ValueError, match="empty"):
        resolve_model("  ")


def test_bad_inputs_fail_clearly() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        Embedder(batch_size=0)
    with pytest.raises(TypeError, match="sequence of texts"):
        Embedder().encode("a single string")
    with pytest.raises(ValueError, match="cannot load embedding model"):
        Embedder("/nonexistent/embedding-model").encode(["x"])


@pytest.mark.slow
def test_vectors_are_unit_length_ordered_and_meaningful() -> None:
    embedder = shared_embedder()
    texts = ["The cat purrs on the sofa.", "A kitten is purring on the couch.", "Stock markets fell sharply today."]
    vectors = embedder.encode(texts)
    assert vectors.shape == (3, embedder.dimension) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3
    assert np.array_equal(embedder.encode(texts[::-1]), vectors[::-1])
    assert embedder.encode([]).shape == (0, embedder.dimension)


@pytest.mark.slow
def test_cache_encodes_each_text_once_and_evicts_the_oldest() -> None:
    embedder = Embedder(cache_size=2)
    seen: list[str] = []
    real_encode = embedder.model.encode

    def counting(texts, **kwargs):
        seen.extend(texts)
        return real_encode(texts, **kwargs)

    embedder.model.encode = counting
    first = embedder.encode(["alpha", "beta", "alpha"])
    assert seen == ["alpha", "beta"]
    assert np.array_equal(embedder.encode(["beta"])[0], first[1]) and seen == ["alpha", "beta"]
    embedder.encode(["gamma"])  # cache holds two texts: alpha, least recently used, goes
    embedder.encode(["alpha"])
    assert seen == ["alpha", "beta", "gamma", "alpha"]
    big = embedder.encode(["d", "e", "f", "g"])  # a batch larger than the cache still comes back whole
    assert big.shape[0] == 4
