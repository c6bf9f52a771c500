"""BM25 as a retriever: a `tsqr.bm25.Index` with its scoring fixed, searched like dense and hybrid retrieval.

Usage:
    retriever = BM25Retriever(load_or_build(documents), scoring="classic")
    runs = retriever.search_many(texts, k=1000, excludes=[ex.excluded_ids for ex in examples])

The index takes its scoring per call (the reward scores one index several ways); a retriever is built with
everything that decides its ranking, so the evaluation never asks which kind it holds. Hits are those of
`Index.search` with the same scoring: one text at a time, each scored and ranked alone.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tsqr.bm25 import SCORINGS, Index
from tsqr.retrieval.base import ScoringRetriever


class BM25Retriever(ScoringRetriever):
    """A BM25 index searched with one scoring (tsqr.bm25.SCORINGS)."""

    label = "BM25 search"
    block = 1  # BM25 scores one text at a time: nothing to gain from a block, and the bar moves per query

    def __init__(self, index: Index, scoring: str = "bright") -> None:
        if scoring not in SCORINGS:
            raise ValueError(f"unknown BM25 scoring {scoring!r}; choose one of {', '.join(SCORINGS)}")
        super().__init__(index.doc_ids)
        self.index = index
        self.scoring = scoring

    def scores(self, text: str) -> np.ndarray:
        """One BM25 score per document, in `doc_ids` order."""
        return self.index.scores(text, self.scoring)

    def score_block(self, texts: Sequence[str]) -> list[np.ndarray]:
        return [self.scores(text) for text in texts]
