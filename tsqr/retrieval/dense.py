"""Dense retrieval: cosine similarity between a query vector and every document vector, exactly.

Usage:
    retriever = DenseRetriever(documents)                             # offline all-MiniLM-L6-v2, cached on disk
    retriever = DenseRetriever(documents, Encoder("bge", domain="biology"))
    hits = retriever.search("why do cats purr", k=10, exclude=["doc-3"])
    runs = retriever.search_many(queries, k=1000, excludes=[ex.excluded_ids for ex in examples])

Document vectors are computed once per (corpus, model, instruction) and kept in the tsqr cache
(`cache_dir("embeddings")`, see tsqr.retrieval.store); `retriever.loaded_from` names the folder they were read
from, or is None when they were just computed. Scores are one float32 matrix product of unit vectors (no
approximate index: BRIGHT's corpora fit in memory, and exact scores keep runs reproducible); ranking is the shared
search loop's (tsqr.retrieval.base): excluded ids removed first, then descending score, ties in corpus order.
Queries are encoded in batches; padding a query to its batch's longest changes its vector in about the 7th digit, so one
query's scores may differ that much between a `search` and a `search_many` (documents: once, cached).
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from tsqr.paths import cache_dir
from tsqr.records import Document
from tsqr.retrieval.base import ScoringRetriever
from tsqr.retrieval.encoder import Encoder
from tsqr.retrieval.store import embeddings_key, read_embeddings, write_embeddings


def _check_documents(documents: Sequence[Document]) -> None:
    if len(documents) == 0:
        raise ValueError("cannot build a dense retriever over an empty corpus (0 documents)")
    seen: dict[str, int] = {}
    for position, doc in enumerate(documents):
        if not isinstance(getattr(doc, "content", None), str) or not isinstance(getattr(doc, "id", None), str):
            raise TypeError(f"documents[{position}] is not a tsqr.records.Document(id: str, content: str)")
        if doc.id in seen:
            raise ValueError(f"duplicate document id {doc.id!r} at positions {seen[doc.id]} and {position}")
        seen[doc.id] = position


def load_or_encode(documents: Sequence[Document], encoder: Encoder, cache: Path | None = None,
                   progress: bool = True, on_progress: Callable[[int, int], None] | None = None,
                   ) -> tuple[np.ndarray, Path | None]:
    """The document matrix, read from the cache when this corpus was embedded the same way before, else
    encoded and saved; returns (matrix, folder it was read from or None). An unreadable entry is re-encoded."""
    spec = encoder.spec
    folder = Path(cache if cache is not None else cache_dir("embeddings")) / embeddings_key(documents, spec)
    if (folder / "meta.json").is_file():
        try:
            return read_embeddings(folder, len(documents), spec), folder
        except ValueError as error:
            warnings.warn(f"re-embedding the unreadable cached embeddings {folder}: {error}", stacklevel=2)
    matrix = encoder.encode_documents([doc.content for doc in documents], progress=progress, on_progress=on_progress)
    write_embeddings(folder, matrix, spec)
    return matrix, None


class DenseRetriever(ScoringRetriever):
    """Exact cosine-similarity search over one corpus's document vectors."""

    label = "Dense search"

    def __init__(self, documents: Sequence[Document], encoder: Encoder | str = "default", *,
                 cache: Path | None = None, progress: bool = True,
                 on_progress: Callable[[int, int], None] | None = None) -> None:
        _check_documents(documents)
        super().__init__([doc.id for doc in documents])
        self.encoder = encoder if isinstance(encoder, Encoder) else Encoder(encoder)
        self.embeddings, self.loaded_from = load_or_encode(documents, self.encoder, cache, progress, on_progress)

    @property
    def name(self) -> str:
        """The model's hub id (or folder), for labels."""
        return self.encoder.model_name

    def scores_many(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), n_docs) float32 cosine similarities, documents in `doc_ids` order."""
        return self.encoder.encode_queries(texts) @ self.embeddings.T

    def scores(self, text: str) -> np.ndarray:
        """One cosine similarity per document, in `doc_ids` order."""
        return self.scores_many([text])[0]

    def score_block(self, texts: Sequence[str]) -> np.ndarray:
        return self.scores_many(texts)
