"""Several sampled reasonings for one query, composed into what a retriever searches with.

Usage:
    text = compose_samples(query, [r1, r2, r3], mode="concat")         # one text: the query, then every sample
    hits = search_samples(retriever, [query], [[r1, r2, r3]], k=100, combine="rrf")[0]

Two ways, both cheap next to generating the samples:
- combine="concat" (as MuGI, Zhang et al. 2024, feeds BM25 and dense retrievers): every reasoning joined into
  one text, with the query first in concat mode (the query `repeat` times), or the reasonings alone in replace
  mode. One search per query; a term several samples agree on weighs more.
- combine="rrf": each reasoning composed with the query on its own (compose_query) and
  searched; the n runs are fused by reciprocal rank. A sample that drifts off only costs one run's votes.
Nothing here runs a reasoner: samples come in as text, so cached, precomputed or other systems' rewrites all fit.
Empty reasonings are skipped; a query without any falls back to the query itself, as compose_query does.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from tsqr.fusion import reciprocal_rank_fusion
from tsqr.records import Hit

if TYPE_CHECKING:
    from tsqr.retrieval.base import Retriever

COMPOSE_MODES = ("replace", "concat")
# replace and concat compose one text; fuse searches the reasoning alone and fuses that run with the raw run by
# reciprocal rank.
FUSE = "fuse"
COMPOSITIONS: tuple[str, ...] = (*COMPOSE_MODES, FUSE)
SAMPLE_COMBINATIONS = ("concat", "rrf")


def compose_query(query: str, reasoning: str, mode: str = "replace", repeat: int = 1) -> str:
    """The text BM25 searches with once a reasoning exists.

    replace: the reasoning alone, as TongSearch QR evaluates (an empty reasoning falls back to the query, so a
    failed generation never searches with nothing). concat: the query `repeat` times, then the reasoning, as
    query2doc does to keep the original terms' weight against a long expansion.
    """
    if mode not in COMPOSE_MODES:
        raise ValueError(f"unknown compose mode {mode!r}; choose one of {', '.join(COMPOSE_MODES)}")
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    if mode == "replace":
        return reasoning if reasoning.strip() else query
    return " ".join([query] * repeat + ([reasoning] if reasoning.strip() else []))

def _kept(reasonings: Sequence[str]) -> list[str]:
    if isinstance(reasonings, str):
        raise TypeError("reasonings must be a sequence of texts, not one string")
    return [text for text in reasonings if text.strip()]


def compose_samples(query: str, reasonings: Sequence[str], mode: str = "replace", repeat: int = 1) -> str:
    """One text from n reasonings: replace = the reasonings joined; concat = the query `repeat` times first."""
    return compose_query(query, " ".join(_kept(reasonings)), mode=mode, repeat=repeat)


def sample_texts(query: str, reasonings: Sequence[str], mode: str = "replace", repeat: int = 1) -> list[str]:
    """One search text per non-empty reasoning (just the query when there is none), for combine="rrf"."""
    kept = _kept(reasonings)
    return [compose_query(query, text, mode=mode, repeat=repeat) for text in kept] or [query]


def search_samples(retriever: "Retriever", queries: Sequence[str], reasonings: Sequence[Sequence[str]],
                   k: int = 1000, excludes: Sequence[Iterable[str]] | None = None, *, combine: str = "concat",
                   mode: str = "replace", repeat: int = 1, rrf_k: float = 60,
                   progress: bool = True) -> list[list[Hit]]:
    """The k best hits per query from its sampled reasonings (`reasonings[i]` belongs to `queries[i]`).

    Excluded ids never appear: every search removes them before its cut, and fusion only merges those lists.
    All texts go to the retriever in one `search_many` call, so a dense retriever encodes them in batches.
    """
    if combine not in SAMPLE_COMBINATIONS:
        raise ValueError(f"unknown sample combination {combine!r}; choose one of {', '.join(SAMPLE_COMBINATIONS)}")
    if len(reasonings) != len(queries):
        raise ValueError(f"{len(queries)} queries but {len(reasonings)} lists of reasonings")
    if excludes is not None and len(excludes) != len(queries):
        raise ValueError(f"{len(queries)} queries but {len(excludes)} exclusion lists")
    excludes = list(excludes) if excludes is not None else [() for _ in queries]
    if combine == "concat":
        texts = [compose_samples(q, r, mode, repeat) for q, r in zip(queries, reasonings)]
        return retriever.search_many(texts, k, excludes, progress=progress)
    groups = [sample_texts(q, r, mode, repeat) for q, r in zip(queries, reasonings)]
    flat_texts = [text for group in groups for text in group]
    flat_excludes = [excludes[i] for i, group in enumerate(groups) for _ in group]
    runs = retriever.search_many(flat_texts, k, flat_excludes, progress=progress)
    fused, start = [], 0
    for group in groups:
        fused.append(reciprocal_rank_fusion(runs[start:start + len(group)], k=rrf_k, depth=k))
        start += len(group)
    return fused
