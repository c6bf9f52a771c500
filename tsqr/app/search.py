"""One query, searched raw and reasoned over one corpus: what the app's Search tab shows side by side.

Usage:
    comparison = compare(domain, index, "Why do cats purr?", reasoning_text, k=10, scoring="bright")
    comparison.raw.rows[0].snippet.html, comparison.reasoned.ndcg, comparison.gold_moves

The retrieval, the query composition, the fusion and the nDCG all come from `tsqr.evaluate.evaluate_domain`,
run on a one-query domain: the Search tab therefore ranks and scores a dataset query exactly as the Evaluate
tab and the CLI do (excluded ids removed, BRIGHT's depth of 1000), so a user can check one query of a
reported mean by hand. A query typed freely gets the same runs, only without gold documents or scores.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tsqr.app.highlight import Snippet, make_snippet, query_terms
from tsqr.bm25 import Analyzer, Index
from tsqr.evaluate import EvaluationConfig, SideResult, evaluate_domain
from tsqr.records import Document, Domain, Example, Hit
from tsqr.retrieval import BM25Retriever, Retriever

FREE_QUERY_ID = "typed-query"
RANK_MEASURE = "nDCG@10"


@dataclass(frozen=True)
class ResultRow:
    """One retrieved document as a result column lists it."""

    rank: int
    doc_id: str
    score: float
    snippet: Snippet
    gold: bool


@dataclass(frozen=True)
class SideResults:
    """One column: the text BM25 searched with, its top rows and, for a dataset query, its nDCG@10."""

    name: str
    searched_text: str
    rows: list[ResultRow]
    ndcg: float | None


@dataclass(frozen=True)
class GoldMove:
    """Where a gold document ranks with the raw and with the reasoned query (None: below the run's depth)."""

    doc_id: str
    raw_rank: int | None
    reasoned_rank: int | None

    @property
    def improvement(self) -> int | None:
        """Ranks gained by reasoning (positive is better); None when it is missing from either run."""
        if self.raw_rank is None or self.reasoned_rank is None:
            return None
        return self.raw_rank - self.reasoned_rank


@dataclass(frozen=True)
class Comparison:
    """The Search tab's answer; `reasoned` is None until a reasoning exists, `example` None for a typed query."""

    query: str
    example: Example | None
    raw: SideResults
    reasoned: SideResults | None
    gold_moves: list[GoldMove]


def find_example(domain: Domain, query: str) -> Example | None:
    """The dataset example whose query is `query` (whitespace-insensitive), or None for a freely typed one.

    Matching by text rather than by a selected id means an edited example query stops being judged against
    gold documents that no longer belong to it.
    """
    wanted = " ".join(query.split())
    for example in domain.examples:
        if " ".join(example.query.split()) == wanted:
            return example
    return None


def released_reasoning(name: str, domain: Domain, query: str) -> str:
    """The reasoning the released set `name` (tsqr.released.RELEASED) holds for `query`, matched as the Evaluate tab
    matches it (TongSearch's by query text, BRIGHT's by the example's id); ReleasedUnavailable (a LookupError)
    says why there is none: offline and not cached, not a BRIGHT domain, or a query the set does not cover."""
    from tsqr.released import RELEASED, ReleasedUnavailable, released_reasonings

    released = RELEASED[name]
    source = released_reasonings(name, None if released.kind == "tongsearch" else domain.name)
    text = source.text_for(find_example(domain, query) or Example(FREE_QUERY_ID, query, ()))
    if text is None:
        raise ReleasedUnavailable(f"{released.label} have no reasoning for this query (they cover BRIGHT's "
                                  "queries): pick one of the domain's example queries")
    return text


def _rank_of(hits: list[Hit]) -> dict[str, int]:
    return {hit.doc_id: rank for rank, hit in enumerate(hits, start=1)}


def _side(name: str, text: str, hits: list[Hit], ndcg: float | None, gold: frozenset[str], k: int,
          documents: Mapping[str, Document], analyzer: Analyzer) -> SideResults:
    terms = query_terms(text, analyzer)
    rows = []
    for rank, hit in enumerate(hits[:k], start=1):
        document = documents.get(hit.doc_id)
        content = document.content if document is not None else ""
        rows.append(ResultRow(rank, hit.doc_id, float(hit.score), make_snippet(content, terms, analyzer),
                              hit.doc_id in gold))
    return SideResults(name, text, rows, ndcg)


def compare(
    domain: Domain,
    index: Index,
    query: str,
    reasoning: str | None = None,
    *,
    k: int = 10,
    scoring: str = "bright",
    composition: str = "replace",
    documents: Mapping[str, Document] | None = None,
    retriever: Retriever | None = None,
) -> Comparison:
    """Search `query` raw and, when `reasoning` is given, reasoned; top `k` rows per side with snippets.

    `documents` maps ids to documents for the snippets (pass it when comparing many queries on one corpus,
    to build it once). `composition` says how the reasoning meets BM25 (tsqr.composition.COMPOSITIONS), as in the
    Evaluate tab: the reasoned column shows the text its side searched with. `retriever` (dense, hybrid; default
    `index` with `scoring`) ranks; `index`'s analyzer highlights the words BM25 would match either way.
    """
    if not query.strip():
        raise ValueError("the query is empty: type a question or pick an example")
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    example = find_example(domain, query)
    judged = example if example is not None and example.gold_ids else None
    searched = judged or Example(id=FREE_QUERY_ID, query=query, gold_ids=())
    one_query = Domain(name=domain.name, examples=[searched], source=domain.source)
    config = EvaluationConfig(scoring=scoring, composition=composition, measures=(RANK_MEASURE,))
    reasonings = None if reasoning is None else {searched.id: (reasoning,)}
    report = evaluate_domain(one_query, retriever or BM25Retriever(index, scoring), reasonings, config, progress=False)

    documents = documents if documents is not None else {doc.id: doc for doc in domain.documents}
    analyzer = index.analyzer
    gold = frozenset(searched.gold_ids)

    def side(result: SideResult) -> SideResults:
        ndcg = result.per_query.get(searched.id, {}).get(RANK_MEASURE) if judged else None
        return _side(result.name, result.searched[searched.id], result.run[searched.id], ndcg, gold, k, documents,
                     analyzer)

    raw = side(report.raw)
    reasoned = None
    moves: list[GoldMove] = []
    if report.reasoned is not None:
        reasoned = side(report.reasoned)
        raw_ranks = _rank_of(report.raw.run[searched.id])
        reasoned_ranks = _rank_of(report.reasoned.run[searched.id])
        moves = [GoldMove(doc_id, raw_ranks.get(doc_id), reasoned_ranks.get(doc_id)) for doc_id in searched.gold_ids]
    return Comparison(query, example, raw, reasoned, moves)
