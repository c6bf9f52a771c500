"""One domain scored raw vs reasoned: queries -> runs -> per-query and mean measures, BRIGHT's protocol.

A retriever over the domain's documents (BM25 by default; dense or hybrid, tsqr.retrieval), excluded ids removed
before the top `depth` are kept, binary qrels from `gold_ids`, pytrec_eval-identical measures. Independent axes
say how: `retriever`, `scoring` (how BM25 weighs terms: tsqr.bm25.SCORINGS) and `composition` (how a reasoning
meets the retriever: COMPOSITIONS). Scoring and composition used to be one list ("fusion" was a scoring), which
hid that fusion is a way raw and reasoned meet, like replace and concat. A query may have several sampled
reasonings: `sample_combination` joins them into one text (concat, as MuGI) or fuses their runs (rrf).

Usage:
    report = evaluate_domain(domain, index, reasonings={qid: text}, config=EvaluationConfig(composition="concat"))
    report.raw.mean["nDCG@10"], report.reasoned.mean["nDCG@10"], report.reasoned.searched[qid]
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tsqr.bm25 import SCORINGS, Index
from tsqr.composition import COMPOSITIONS, FUSE, SAMPLE_COMBINATIONS, compose_query, compose_samples, search_samples
from tsqr.fusion import reciprocal_rank_fusion
from tsqr.metrics import evaluate, mean_scores, parse_measure
from tsqr.records import Domain, Run
from tsqr.retrieval import Retriever, check_hybrid_options, parse_retriever_spec
from tsqr.retrieval.spec import check_query_instruction

DEFAULT_MEASURES = ("nDCG@10", "nDCG@100", "R@10", "R@100", "P@10", "RR", "AP")  # the CLI's and the app's


@dataclass(frozen=True)
class EvaluationConfig:
    """How a domain is scored: BM25 `scoring`, reasoning `composition` (with `repeat` for concat), depth, measures."""

    scoring: str = "bright"
    composition: str = "replace"
    repeat: int = 1
    retriever: str = "bm25"
    hybrid_method: str = "rrf"
    hybrid_weight: float = 0.5
    sample_combination: str = "concat"
    depth: int = 1000
    measures: tuple[str, ...] = DEFAULT_MEASURES
    long_documents: bool = False
    query_instruction: str | None = None  # replaces the dense model table's query instruction when given

    def __post_init__(self) -> None:
        if self.scoring not in SCORINGS:
            raise ValueError(f"unknown scoring {self.scoring!r}; choose one of {', '.join(SCORINGS)}")
        if self.composition not in COMPOSITIONS:
            raise ValueError(f"unknown composition {self.composition!r}; choose one of {', '.join(COMPOSITIONS)}")
        if self.depth <= 0:
            raise ValueError(f"depth must be positive, got {self.depth}")
        if self.repeat < 1:
            raise ValueError(f"repeat must be at least 1, got {self.repeat}")
        object.__setattr__(self, "retriever", str(parse_retriever_spec(self.retriever)))  # one spelling per retriever
        check_hybrid_options(self.hybrid_method, self.hybrid_weight, self.scoring)
        check_query_instruction(self.retriever, self.query_instruction)
        if self.sample_combination not in SAMPLE_COMBINATIONS:
            raise ValueError(f"unknown sample combination {self.sample_combination!r}; choose one of "
                             f"{', '.join(SAMPLE_COMBINATIONS)}")
        for measure in self.measures:
            parse_measure(measure)  # an unknown measure fails here, before any searching

    @property
    def text_mode(self) -> str:
        """How a reasoning becomes search text (fuse searches the reasoning alone, then fuses with raw)."""
        return "replace" if self.composition == FUSE else self.composition

    def searched_text(self, query: str, reasoning: str | Sequence[str]) -> str:
        """The text the reasoned side searches with; several samples are joined (the concat combination)."""
        if isinstance(reasoning, str):
            return compose_query(query, reasoning, mode=self.text_mode, repeat=self.repeat)
        return compose_samples(query, reasoning, mode=self.text_mode, repeat=self.repeat)


@dataclass
class SideResult:
    """One side of the comparison: the text searched per query id, its run and its scores."""

    name: str
    searched: dict[str, str]
    run: Run
    per_query: dict[str, dict[str, float]]
    mean: dict[str, float]


@dataclass(frozen=True)
class ReasoningCost:
    """What the reasonings of one domain cost to generate, as each one recorded it (cached ones included:
    their tokens and seconds are those of the run that generated them)."""

    reasonings: int
    new_tokens: int
    seconds: float
    from_cache: int
    hardware: str = ""

    @property
    def tokens_per_second(self) -> float:
        return self.new_tokens / self.seconds if self.seconds > 0 else 0.0

    def price(self, price_per_mtok: float | None) -> float | None:
        """The estimated price in the currency of `price_per_mtok` (per million new tokens)."""
        return None if price_per_mtok is None else self.new_tokens / 1e6 * price_per_mtok


@dataclass
class DomainReport:
    """Everything measured on one domain. `reasonings` holds what the model wrote (per query id); what each side
    searched with is in its `searched`."""

    domain: str
    config: EvaluationConfig
    queries: dict[str, str]
    raw: SideResult
    reasoned: SideResult | None = None
    reasonings: dict[str, str] = field(default_factory=dict)
    missing_reasoning: list[str] = field(default_factory=list)
    cost: ReasoningCost | None = None

    @property
    def n_queries(self) -> int:
        return len(self.queries)

    @property
    def sides(self) -> tuple[SideResult, ...]:
        """The sides present, raw first: for writers that treat both alike."""
        return (self.raw,) if self.reasoned is None else (self.raw, self.reasoned)


def _search_many(retriever: Retriever, texts: list[str], excludes: list, config: EvaluationConfig,
                 progress: bool) -> list:
    if isinstance(retriever, Index):  # BM25 takes its scoring per search; dense and hybrid were built with theirs
        return retriever.search_many(texts, k=config.depth, excludes=excludes, scoring=config.scoring,
                                     progress=progress)
    return retriever.search_many(texts, k=config.depth, excludes=excludes, progress=progress)


def _search(retriever: Retriever, texts: Sequence[str], domain: Domain, config: EvaluationConfig,
            progress: bool) -> Run:
    excludes = [ex.excluded_ids for ex in domain.examples]
    hits = _search_many(retriever, list(texts), excludes, config, progress)
    return {ex.id: side_hits for ex, side_hits in zip(domain.examples, hits)}


class _ScoredRetriever:
    """A BM25 index with the config's scoring bound, so multi-sample search can treat every retriever alike."""

    def __init__(self, retriever: Retriever, config: EvaluationConfig) -> None:
        self.retriever, self.config = retriever, config

    def search_many(self, texts, k, excludes, progress=True):
        return _search_many(self.retriever, list(texts), list(excludes), self.config, progress)


def _side(name: str, searched: dict[str, str], run: Run, domain: Domain, config: EvaluationConfig) -> SideResult:
    per_query = evaluate(domain.qrels(long=config.long_documents), run, [parse_measure(m) for m in config.measures])
    return SideResult(name=name, searched=searched, run=run, per_query=per_query, mean=mean_scores(per_query))


def evaluate_domain(
    domain: Domain,
    index: Retriever,
    reasonings: Mapping[str, str | Sequence[str]] | None = None,
    config: EvaluationConfig = EvaluationConfig(),
    *,
    progress: bool = True,
) -> DomainReport:
    """Score the raw queries and, when `reasonings` ({query id: text, or several sampled texts}) is given, the
    reasoned ones, with `index` (a BM25 Index or any tsqr.retrieval retriever).

    Queries without a reasoning fall back to their raw text on the reasoned side and are listed in
    `missing_reasoning`, so a partial reasoning file still gives a fair, complete comparison.
    """
    queries = {ex.id: ex.query for ex in domain.examples}
    raw_run = _search(index, list(queries.values()), domain, config, progress)
    report = DomainReport(domain=domain.name, config=config, queries=queries,
                          raw=_side("raw", dict(queries), raw_run, domain, config))
    if reasonings is None:
        return report

    searched: dict[str, str] = {}
    for ex in domain.examples:
        reasoning = reasonings.get(ex.id)
        if reasoning is None:
            report.missing_reasoning.append(ex.id)
            searched[ex.id] = ex.query
        else:
            report.reasonings[ex.id] = reasoning if isinstance(reasoning, str) else "\n\n".join(reasoning)
            searched[ex.id] = config.searched_text(ex.query, reasoning)
    reasoned_run = _search(index, list(searched.values()), domain, config, progress)
    sampled = [ex for ex in domain.examples if not isinstance(reasonings.get(ex.id, ""), str)]
    if sampled and config.sample_combination == "rrf":  # each sample searched alone, the runs fused
        fused = search_samples(_ScoredRetriever(index, config), [ex.query for ex in sampled],
                               [list(reasonings[ex.id]) for ex in sampled], k=config.depth,
                               excludes=[ex.excluded_ids for ex in sampled], combine="rrf", mode=config.text_mode,
                               repeat=config.repeat, progress=progress)
        reasoned_run.update({ex.id: hits for ex, hits in zip(sampled, fused)})
    if config.composition == FUSE:
        reasoned_run = {qid: reciprocal_rank_fusion([raw_run[qid], hits], depth=config.depth)
                        if qid not in report.missing_reasoning else raw_run[qid]
                        for qid, hits in reasoned_run.items()}
    report.reasoned = _side("reasoned", searched, reasoned_run, domain, config)
    return report
