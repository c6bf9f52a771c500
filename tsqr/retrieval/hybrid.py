"""Hybrid retrieval: BM25 and dense retrieval over one corpus, fused document by document.

Usage:
    hybrid = HybridRetriever(load_or_build(documents), DenseRetriever(documents))          # RRF, equal weights
    hybrid = HybridRetriever(index, dense, method="score", weight=0.7)                    # 0.7 dense, 0.3 BM25
    hits = hybrid.search("why do cats purr", k=10, exclude=["doc-3"])

Both retrievers score the whole corpus (BM25's sparse product and the dense matrix product are cheap next to
encoding the query), so fusion sees every document, not two truncated top-k lists: a document BM25 ranks
2,000th still adds its share. `weight` is the dense side's share in [0, 1], BM25 gets 1 - weight; with
method="rrf" and weight=0.5 the order is plain reciprocal-rank fusion. See tsqr.fusion.fuse_scores for ties and
normalisation; the final order breaks equal fused scores by corpus order, as every tsqr retriever does.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from tsqr.bm25 import SCORINGS
from tsqr.fusion import FUSION_METHODS, fuse_scores
from tsqr.retrieval.base import ScoringRetriever
from tsqr.retrieval.dense import DenseRetriever

if TYPE_CHECKING:
    from tsqr.bm25 import Index


def check_hybrid_options(method: str, weight: float, scoring: str = "bright") -> None:
    """Refuse a fusion method, dense weight or BM25 scoring the hybrid cannot use (before any embedding runs)."""
    if method not in FUSION_METHODS:
        raise ValueError(f"unknown hybrid method {method!r}; choose one of {', '.join(FUSION_METHODS)}")
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0.0 <= weight <= 1.0:
        raise ValueError(f"hybrid weight is the dense share and must lie in [0, 1], got {weight!r}")
    if scoring not in SCORINGS:
        raise ValueError(f"unknown BM25 scoring {scoring!r}; choose one of {', '.join(SCORINGS)}")


class HybridRetriever(ScoringRetriever):
    """BM25 + dense retrieval, fused by reciprocal rank ("rrf") or by min-max normalised score ("score")."""

    label = "Hybrid search"

    def __init__(self, bm25_index: "Index", dense: DenseRetriever, method: str = "rrf", weight: float = 0.5, *,
                 rrf_k: float = 60, scoring: str = "bright") -> None:
        check_hybrid_options(method, weight, scoring)
        if list(bm25_index.doc_ids) != list(dense.doc_ids):
            raise ValueError(f"the BM25 index ({len(bm25_index.doc_ids)} documents) and the dense retriever "
                             f"({len(dense.doc_ids)} documents) must cover the same corpus in the same order")
        super().__init__(dense.doc_ids)
        self.bm25 = bm25_index
        self.dense = dense
        self.method = method
        self.weight = float(weight)
        self.rrf_k = rrf_k
        self.scoring = scoring

    def score_block(self, texts: Sequence[str]) -> np.ndarray:
        return self.dense.scores_many(texts)

    def final_scores(self, text: str, scores: np.ndarray, excluded: np.ndarray) -> np.ndarray:
        """BM25's and the dense scores fused (rank fusion ranks only the documents left once `excluded` go)."""
        return fuse_scores([self.bm25.scores(text, self.scoring), scores], [1.0 - self.weight, self.weight],
                           self.method, k=self.rrf_k, excluded=excluded)
