"""Fusion of rankings: reciprocal-rank fusion (Cormack et al. 2009) and min-max normalised score fusion.

Used to combine the raw-query and the reasoned-query runs, the runs of several sampled reasonings, and BM25 with
dense retrieval. RRF needs no score calibration between runs, only ranks, so a long reasoned query's larger
BM25 scores cannot drown the raw query's ranking; score fusion keeps how far apart documents score, which
RRF throws away, at the price of trusting each retriever's scale once stretched to [0, 1].

Usage:
    fused_hits = reciprocal_rank_fusion([raw_hits, reasoned_hits])          # lists of Hit -> list of Hit
    fused_run = reciprocal_rank_fusion([raw_run, reasoned_run], depth=100)  # Runs -> Run
    fused = fuse_scores([bm25_scores, dense_scores], [0.5, 0.5], "rrf")     # whole-corpus score vectors -> one
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import overload

import numpy as np

from tsqr.records import Hit, Run

FUSION_METHODS = ("rrf", "score")


def _check(k: float, depth: int) -> None:
    if k < 0:
        raise ValueError(f"the RRF constant k must be >= 0, got {k}")
    if not isinstance(depth, int) or depth <= 0:
        raise ValueError(f"depth must be a positive integer, got {depth!r}")


def _fuse_hits(rankings: Sequence[Sequence[Hit]], k: float, depth: int) -> list[Hit]:
    scores: dict[str, float] = {}
    best_rank: dict[str, int] = {}
    for ranking in rankings:
        seen: set[str] = set()
        for rank, hit in enumerate(ranking, start=1):
            doc_id = hit[0]
            if doc_id in seen:  # a document listed twice in one ranking counts once, at its best rank
                continue
            seen.add(doc_id)
            scores[doc_id] = scores.get(doc_id, 0.0) + 1.0 / (k + rank)
            best_rank[doc_id] = min(rank, best_rank.get(doc_id, rank))
    order = sorted(scores, key=lambda doc_id: (-scores[doc_id], best_rank[doc_id], doc_id))
    return [Hit(doc_id, scores[doc_id]) for doc_id in order[:depth]]


@overload
def reciprocal_rank_fusion(runs: Sequence[Run], k: float = 60, depth: int = 1000) -> Run: ...


@overload
def reciprocal_rank_fusion(runs: Sequence[Sequence[Hit]], k: float = 60, depth: int = 1000) -> list[Hit]: ...


def reciprocal_rank_fusion(runs, k: float = 60, depth: int = 1000):
    """Fuse rankings: each document scores sum over rankings of 1 / (k + rank), rank counted from 1 by its
    position in the list (hits are best first). Returns the `depth` best, best first.

    Give either several rankings of one query (lists of Hit) and get a list of Hit, or several Runs
    ({query id: hits}) and get a Run over every query id that any of them has. Ties in fused score go to the
    document with the better best rank, then to the smaller doc id, so the result never depends on dict order.
    """
    _check(k, depth)
    if isinstance(runs, Mapping) or len(runs) == 0:
        raise ValueError("reciprocal_rank_fusion needs a non-empty sequence of runs (or of hit lists)")
    are_runs = [isinstance(run, Mapping) for run in runs]
    if all(are_runs):
        query_ids = list(dict.fromkeys(qid for run in runs for qid in run))
        return {qid: _fuse_hits([run[qid] for run in runs if qid in run], k, depth) for qid in query_ids}
    if any(are_runs):
        raise TypeError("reciprocal_rank_fusion got a mix of Runs (dicts) and hit lists; give one kind")
    return _fuse_hits(runs, k, depth)


def _competition_ranks(scores: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """1 + the number of valid documents scoring strictly higher: tied documents share their best rank, so a
    block of equal scores (BM25's zero-overlap documents) gets no order from corpus position."""
    ordered = np.sort(scores[valid])
    return 1 + (len(ordered) - np.searchsorted(ordered, scores, side="right"))


def _minmax(scores: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Scores stretched to [0, 1] over the valid documents; a constant vector carries no preference: all 0."""
    low, high = float(scores[valid].min()), float(scores[valid].max())
    if high == low:
        return np.zeros(len(scores), dtype=np.float64)
    return (scores.astype(np.float64) - low) / (high - low)


def fuse_scores(score_vectors: Sequence[np.ndarray], weights: Sequence[float], method: str = "rrf", *,
                k: float = 60, excluded: np.ndarray | None = None) -> np.ndarray:
    """One fused score per document from aligned whole-corpus score vectors (one per retriever).

    rrf: sum of weight / (k + rank), ranks over the whole corpus with ties sharing their best rank.
    score: sum of weight * min-max normalised score. Excluded positions are left out of ranks and of the
    min and max, so they cannot move anyone else's fused score, and come back as -inf. Returns float64.
    """
    if method not in FUSION_METHODS:
        raise ValueError(f"unknown fusion method {method!r}; choose one of {', '.join(FUSION_METHODS)}")
    if len(score_vectors) == 0 or len(score_vectors) != len(weights):
        raise ValueError(f"fuse_scores needs one weight per score vector, got {len(score_vectors)} vectors and "
                         f"{len(weights)} weights")
    if any(w < 0 for w in weights):
        raise ValueError(f"fusion weights must be >= 0, got {list(weights)}")
    if k < 0:
        raise ValueError(f"the RRF constant k must be >= 0, got {k}")
    n = len(score_vectors[0])
    if any(len(v) != n for v in score_vectors):
        raise ValueError(f"score vectors differ in length: {[len(v) for v in score_vectors]}")
    valid = np.ones(n, dtype=bool)
    if excluded is not None and len(excluded):
        valid[excluded] = False
    fused = np.zeros(n, dtype=np.float64)
    if not valid.any():
        return np.full(n, -np.inf)
    for scores, weight in zip(score_vectors, weights):
        scores = np.asarray(scores)
        if method == "rrf":
            fused += weight / (k + _competition_ranks(scores, valid))
        else:
            fused += weight * _minmax(scores, valid)
    fused[~valid] = -np.inf
    return fused
