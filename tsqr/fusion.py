"""Reciprocal-rank fusion (Cormack et al. 2009): merge rankings by sum of 1 / (k + rank).

Used to combine the raw-query and the reasoned-query BM25 runs: RRF needs no score calibration between
runs, only ranks, so a long reasoned query's larger BM25 scores cannot drown the raw query's ranking.

Usage:
    fused_hits = reciprocal_rank_fusion([raw_hits, reasoned_hits])          # lists of Hit -> list of Hit
    fused_run = reciprocal_rank_fusion([raw_run, reasoned_run], depth=100)  # Runs -> Run
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import overload

from tsqr.records import Hit, Run


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
