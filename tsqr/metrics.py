"""Ranking measures that give the same numbers as pytrec_eval (trec_eval 9), without needing it installed.

BRIGHT's official scores come from pytrec_eval, so a reproduction is only comparable if every convention
matches. This module re-implements the measures BRIGHT reports and copies trec_eval's rules:

* Ranking: the order of a query's hits is ignored. Hits are ranked by score, highest first, and equal scores
  are ordered by document id in *descending* byte order (trec_eval's `comp_sim_docno`). Python's `str`
  ordering equals UTF-8 byte order, so comparing ids as `str` is exact.
* Relevance: a document is relevant when its judged relevance is >= `relevance_level` (1 by default). Judged
  relevance 0, negative relevance (trec_eval's "in the pool but unjudged") and documents missing from the
  qrels are all non-relevant with gain 0.
* nDCG: gain = the relevance value (not 2^rel - 1), discount log2(rank + 1); the ideal ranking sorts every
  positively judged document of the query, retrieved or not, and is cut at the same depth.
* R@k divides by the number of relevant documents; P@k divides by k even when fewer than k were retrieved;
  AP and AP@k divide by the number of relevant documents (trec_eval's `map`, `map_cut`); RR is the
  reciprocal rank of the first relevant hit, RR@k the same but 0 when it lies below rank k.
* Which queries get scores: those present in both the run and the qrels, where the qrels entry judges at
  least one document (pytrec_eval drops queries whose judgements are empty). A query judged only
  non-relevant is kept and scores 0; a run query with an empty hit list is kept and scores 0. (A query whose
  judgements are *all negative* also scores 0 here; trec_eval reads stale memory there and can even hang.)
* Duplicate document ids within one query's hits are an error, as in trec_eval; so are NaN scores.

Averaging: pytrec_eval, and therefore BRIGHT, average over the queries it returns, so queries missing from
the run are left out. `mean_scores(per_query)` does the same; `mean_scores(per_query, queries=ids)` instead
averages over `ids` and counts a query without scores as 0 (trec_eval's `-c`).

Usage:
    from tsqr.metrics import evaluate, mean_scores, nDCG, parse_measure
    per_query = evaluate(qrels, run, [nDCG@10, parse_measure("R@100"), "AP"])
    means = mean_scores(per_query)              # {"nDCG@10": ..., "R@100": ..., "AP": ...}
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from numbers import Integral
from typing import NamedTuple

import numpy as np

from tsqr.records import Hit, Qrels, Run

# Canonical family names (ir_measures spelling) and whether each one needs a cutoff to be defined.
_FAMILIES = {"nDCG": False, "R": True, "P": True, "AP": False, "RR": False}
# Every spelling parse_measure accepts for a family: ir_measures', trec_eval's and common long forms.
_ALIASES = {
    "ndcg": "nDCG",
    "r": "R", "recall": "R",
    "p": "P", "precision": "P",
    "ap": "AP", "map": "AP",
    "rr": "RR", "mrr": "RR", "recip_rank": "RR",
}
# family, then trec_eval's optional "_cut" marker, then the cutoff after "@", "." or "_".
_MEASURE_PATTERN = re.compile(r"([A-Za-z][A-Za-z_]*?)(_cut)?(?:[@._](\d+))?")
_NOT_IN_QRELS = -1  # what trec_eval records for a retrieved document nobody judged


@dataclass(frozen=True)
class Measure:
    """One measure as a value: a family ("nDCG", "R", "P", "AP", "RR") and an optional rank cutoff.

    `str(measure)` is the key it gets in `evaluate`'s results ("nDCG@10", "AP"); `nDCG @ 10` builds one from
    the module-level family constants, as ir_measures does.
    """

    name: str
    cutoff: int | None = None

    def __post_init__(self) -> None:
        if self.name not in _FAMILIES:
            raise ValueError(f"unknown measure family {self.name!r}; use one of {', '.join(_FAMILIES)}")
        if self.cutoff is None:
            return
        if isinstance(self.cutoff, bool) or not isinstance(self.cutoff, Integral) or self.cutoff <= 0:
            raise ValueError(f"{self.name}: cutoff must be a positive integer, got {self.cutoff!r}")
        object.__setattr__(self, "cutoff", int(self.cutoff))  # numpy integers become plain ints

    def __matmul__(self, cutoff: int) -> Measure:
        if self.cutoff is not None:
            raise ValueError(f"{self} already has a cutoff")
        return Measure(self.name, cutoff)

    def __str__(self) -> str:
        return self.name if self.cutoff is None else f"{self.name}@{self.cutoff}"

    @property
    def complete(self) -> bool:
        """False for a family that only makes sense at a cutoff (P, R) and was given none."""
        return self.cutoff is not None or not _FAMILIES[self.name]


nDCG = Measure("nDCG")
R = Measure("R")
P = Measure("P")
AP = Measure("AP")
RR = Measure("RR")


def parse_measure(text: str) -> Measure:
    """Read a measure name: "nDCG@10", "R@100", "P@5", "AP", "AP@100", "RR", "RR@10" (case-insensitive), or the
    trec_eval / BRIGHT spellings "ndcg_cut_10", "ndcg_cut.10", "recall_100", "P_5", "map", "map_cut_10",
    "recip_rank", "MRR@10"."""
    match = _MEASURE_PATTERN.fullmatch(text.strip()) if isinstance(text, str) else None
    family = _ALIASES.get(match.group(1).lower()) if match else None
    if family is None:
        raise ValueError(f"unknown measure {text!r}; expected one of nDCG@k, R@k, P@k, AP, AP@k, RR, RR@k "
                         "(for example 'nDCG@10')")
    cutoff = int(match.group(3)) if match.group(3) else None
    if match.group(2) and cutoff is None:
        raise ValueError(f"measure {text!r}: trec_eval's '_cut' form needs a cutoff, for example "
                         f"'{match.group(1)}_cut_10'")
    if cutoff == 0:
        raise ValueError(f"measure {text!r}: the cutoff must be at least 1")
    measure = Measure(family, cutoff)
    if not measure.complete:
        raise ValueError(f"measure {text!r} needs a cutoff, for example '{family}@10'")
    return measure


def _resolve(measures: Iterable[Measure | str]) -> list[Measure]:
    resolved = []
    for item in measures:
        measure = item if isinstance(item, Measure) else parse_measure(item)
        if not measure.complete:
            raise ValueError(f"measure {measure} needs a cutoff, for example '{measure.name}@10'")
        if measure not in resolved:
            resolved.append(measure)
    if not resolved:
        raise ValueError("no measures requested")
    return resolved


def _ids_and_scores(query_id: str, hits: Sequence[Hit] | Mapping[str, float]) -> tuple[tuple[str, ...], np.ndarray]:
    pairs = hits.items() if isinstance(hits, Mapping) else hits
    try:
        ids, raw_scores = zip(*pairs)
        return ids, np.array(raw_scores, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"run query {query_id!r}: hits must be (doc_id, score) pairs with numeric scores, "
                         f"got e.g. {next(iter(pairs))!r}") from None


def trec_order(query_id: str, hits: Sequence[Hit] | Mapping[str, float]) -> list[str]:
    """The document ids of one query's hits in the order trec_eval ranks them: score descending, equal
    scores by document id descending. `hits` may also be a pytrec_eval-style {doc_id: score} mapping.
    Raises ValueError for NaN or non-numeric scores and for a document listed twice."""
    if not hits:
        return []
    ids, scores = _ids_and_scores(query_id, hits)
    if np.isnan(scores).any():
        raise ValueError(f"run query {query_id!r}: document {ids[int(np.argmax(np.isnan(scores)))]!r} has a "
                         "NaN (or missing) score")
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        duplicate = next(doc for doc in ids if doc in seen or seen.add(doc))
        raise ValueError(f"run query {query_id!r}: document {duplicate!r} is listed more than once")
    ordered = list(ids)
    if not (scores[:-1] >= scores[1:]).all():
        order = np.argsort(-scores, kind="stable")
        scores = scores[order]
        ordered = [ordered[i] for i in order.tolist()]
    tied = np.flatnonzero(scores[:-1] == scores[1:])
    if tied.size:
        # Maximal runs of equal scores: each run [start, stop) gets its ids sorted descending.
        breaks = np.flatnonzero(np.diff(tied) > 1)
        starts = tied[np.r_[0, breaks + 1]].tolist()
        stops = (tied[np.r_[breaks, tied.size - 1]] + 2).tolist()
        for start, stop in zip(starts, stops):
            ordered[start:stop] = sorted(ordered[start:stop], reverse=True)
    return ordered


def _judged_ranks(ordered: list[str], judged: Mapping[str, int]) -> tuple[list[int], list[int]]:
    """(0-based rank, relevance) of every judged document in a ranking, found without a per-hit Python loop:
    a set test per judged document, then C-level `list.index` for the few that were retrieved."""
    present = set(ordered)
    retrieved = [doc for doc in judged if doc in present]
    if len(retrieved) > 64:  # many judged hits (pooled qrels): one position map beats repeated scans
        position = {doc: rank for rank, doc in enumerate(ordered)}
        return [position[doc] for doc in retrieved], [judged[doc] for doc in retrieved]
    return [ordered.index(doc) for doc in retrieved], [judged[doc] for doc in retrieved]


def _log2_discounts(depth: int) -> np.ndarray:
    # math.log2 is the C library's log2, the function trec_eval calls, so discounts match bit for bit.
    return np.array([math.log2(rank + 1) for rank in range(1, depth + 1)], dtype=np.float64)


def _at(running_total: np.ndarray, cutoff: int | None) -> np.ndarray:
    """A per-rank running total read after `cutoff` ranks (None: the whole ranking). Past the end of the
    matrix the total stays put, as trec_eval counts missing ranks as non-relevant."""
    queries, depth = running_total.shape
    if depth == 0:
        return np.zeros(queries)
    return running_total[:, (depth if cutoff is None else min(cutoff, depth)) - 1]


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (trec_eval leaves such values at 0)."""
    out = np.zeros(numerator.shape)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


class _Rankings:
    """Every evaluated query as one row of padded matrices, so each measure is a few array operations.

    `relevance[q, i]` is the judged relevance of the document query q ranks at i + 1, -1 when the qrels do not
    mention it (also the padding after a short ranking). Running totals are summed rank by rank in the same
    order as trec_eval's loops (numpy's cumsum is sequential), which keeps results bit-identical.
    """

    def __init__(self, relevance: np.ndarray, ideal_gains: np.ndarray, num_relevant: np.ndarray,
                 relevance_level: int) -> None:
        self.relevance = relevance
        self.ideal_gains = ideal_gains
        self.num_relevant = num_relevant
        self.is_relevant = relevance >= relevance_level

    @cached_property
    def relevant_so_far(self) -> np.ndarray:
        return np.cumsum(self.is_relevant, axis=1)

    @cached_property
    def precision_sums(self) -> np.ndarray:
        ranks = np.arange(1, self.relevance.shape[1] + 1, dtype=np.float64)
        return np.cumsum(np.where(self.is_relevant, self.relevant_so_far / ranks, 0.0), axis=1)

    @cached_property
    def dcg(self) -> np.ndarray:
        gains = np.where(self.relevance > 0, self.relevance, 0.0)
        return np.cumsum(gains / _log2_discounts(gains.shape[1]), axis=1)

    @cached_property
    def ideal_dcg(self) -> np.ndarray:
        return np.cumsum(self.ideal_gains / _log2_discounts(self.ideal_gains.shape[1]), axis=1)

    def score(self, measure: Measure) -> np.ndarray:
        k = measure.cutoff
        if measure.name == "P":
            return _at(self.relevant_so_far, k) / k
        if measure.name == "R":
            return _ratio(_at(self.relevant_so_far, k), self.num_relevant)
        if measure.name == "AP":
            return _ratio(_at(self.precision_sums, k), self.num_relevant)
        if measure.name == "RR":
            depth = self.is_relevant.shape[1]
            first = np.argmax(self.is_relevant, axis=1) if depth else np.zeros(len(self.is_relevant), int)
            found = self.is_relevant.any(axis=1) & (first < (depth if k is None else k))
            return np.where(found, 1.0 / (first + 1.0), 0.0)
        dcg, ideal = _at(self.dcg, k), _at(self.ideal_dcg, k)
        return np.where(ideal > 0, _ratio(dcg, ideal), dcg)


def _check_judgements(query_id: str, judged: Mapping[str, int]) -> None:
    for doc_id, relevance in judged.items():
        if isinstance(relevance, bool) or not isinstance(relevance, Integral):
            raise ValueError(f"qrels query {query_id!r}: relevance of {doc_id!r} must be an integer, "
                             f"got {relevance!r}")


def _pad(rows: list[list[int]]) -> np.ndarray:
    """Ragged rows of integers -> a float matrix, short rows padded with 0."""
    matrix = np.zeros((len(rows), max(map(len, rows), default=0)))
    for index, row in enumerate(rows):
        matrix[index, :len(row)] = row
    return matrix


def evaluate(
    qrels: Qrels,
    run: Run | Mapping[str, Mapping[str, float]],
    measures: Iterable[Measure | str],
    *,
    relevance_level: int = 1,
) -> dict[str, dict[str, float]]:
    """Score every query that the run and the qrels share: {query id: {str(measure): value}}.

    `run` maps query ids to hits (any order: ranks come from scores) or, as pytrec_eval takes it, to
    {doc_id: score}. Queries come out in the run's order. All queries are scored together on padded
    matrices, so twelve BRIGHT-sized domains (~1400 queries x 1000 hits) take about a third of a second.
    """
    wanted = _resolve(measures)
    if isinstance(relevance_level, bool) or not isinstance(relevance_level, int) or relevance_level < 1:
        raise ValueError(f"relevance_level must be an integer >= 1, got {relevance_level!r}")
    query_ids = [qid for qid in run if qrels.get(qid)]
    if not query_ids:
        return {}
    for qid in query_ids:
        _check_judgements(qid, qrels[qid])
    cutoffs = [m.cutoff for m in wanted]
    depth = None if None in cutoffs else max(cutoffs)  # only the top `depth` ranks can matter

    rankings = [trec_order(qid, run[qid])[:depth] for qid in query_ids]
    relevance = np.full((len(query_ids), max(map(len, rankings))), float(_NOT_IN_QRELS))
    for row, (qid, ordered) in enumerate(zip(query_ids, rankings)):
        ranks_of_judged, relevances = _judged_ranks(ordered, qrels[qid])
        relevance[row, ranks_of_judged] = relevances
    ideal_gains = _pad([sorted((rel for rel in qrels[qid].values() if rel > 0), reverse=True)[:depth]
                        for qid in query_ids])
    num_relevant = np.array([sum(rel >= relevance_level for rel in qrels[qid].values()) for qid in query_ids],
                            dtype=np.float64)
    table = _Rankings(relevance, ideal_gains, num_relevant, relevance_level)

    names = [str(m) for m in wanted]
    rows = zip(*(table.score(m).tolist() for m in wanted))
    return {qid: dict(zip(names, row)) for qid, row in zip(query_ids, rows)}


def mean_scores(
    per_query: Mapping[str, Mapping[str, float]],
    queries: Iterable[str] | None = None,
) -> dict[str, float]:
    """Average each measure over queries.

    `queries=None` averages over the queries in `per_query`, as pytrec_eval users and BRIGHT do (a query the
    run missed is simply not counted). Given `queries`, the mean is over exactly those ids and a query
    without scores counts as 0 for every measure, like trec_eval's `-c`: pass the ids of the judged queries
    to penalise a run that skipped some. Returns {} when there is nothing to average.
    """
    ids = list(per_query) if queries is None else list(dict.fromkeys(queries))
    names = list(dict.fromkeys(name for scores in per_query.values() for name in scores))
    if not ids or not names:
        return {}
    for qid in ids:
        scores = per_query.get(qid)
        if scores is not None and len(scores) != len(names):
            missing = [name for name in names if name not in scores]
            raise ValueError(f"query {qid!r} has no score for {', '.join(missing)}; per-query results must all "
                             "carry the same measures")
    return {name: sum(per_query[qid][name] for qid in ids if qid in per_query) / len(ids) for name in names}


class QueryDelta(NamedTuple):
    """How one query's score moved between two runs (e.g. raw query -> reasoned query)."""

    query_id: str
    before: float
    after: float

    @property
    def delta(self) -> float:
        return self.after - self.before


def per_query_deltas(
    before: Mapping[str, Mapping[str, float]],
    after: Mapping[str, Mapping[str, float]],
    measure: Measure | str,
) -> list[QueryDelta]:
    """One record per query scored in either run, biggest gain first and biggest loss last (ties by query id).

    A query scored on one side only counts as 0 on the other: it retrieved nothing there. `measure` may be
    a Measure or any spelling parse_measure accepts; it must be among the measures both sides computed.
    """
    name = str(measure if isinstance(measure, Measure) else parse_measure(measure))
    deltas = []
    for qid in dict.fromkeys([*before, *after]):
        values = []
        for side, scores in (("before", before), ("after", after)):
            query_scores = scores.get(qid)
            if query_scores is not None and name not in query_scores:
                raise ValueError(f"{side} scores of query {qid!r} have no {name!r} (they have "
                                 f"{', '.join(query_scores) or 'nothing'})")
            values.append(0.0 if query_scores is None else float(query_scores[name]))
        deltas.append(QueryDelta(qid, values[0], values[1]))
    deltas.sort(key=lambda d: d.query_id)
    deltas.sort(key=lambda d: d.delta, reverse=True)
    return deltas
