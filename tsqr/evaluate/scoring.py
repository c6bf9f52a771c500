"""One domain scored raw vs reasoned: queries -> runs -> per-query and mean measures, BRIGHT's protocol.

BM25 over the domain's documents, excluded ids removed before the top `depth` are kept, binary qrels from
`gold_ids`, pytrec_eval-identical measures. Two independent axes say how: `scoring` (how BM25 weighs terms:
tsqr.bm25.SCORINGS) and `composition` (how a reasoning meets the retriever: COMPOSITIONS). They used to be one
list ("fusion" was a scoring), which hid that fusion is a way raw and reasoned meet, like replace and concat.

Usage:
    report = evaluate_domain(domain, index, reasonings={qid: text}, config=EvaluationConfig(composition="concat"))
    report.raw.mean["nDCG@10"], report.reasoned.mean["nDCG@10"], report.reasoned.searched[qid]
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tsqr.bm25 import SCORINGS, Index
from tsqr.fusion import reciprocal_rank_fusion
from tsqr.metrics import evaluate, mean_scores, parse_measure
from tsqr.reasoner.prompts import COMPOSE_MODES, compose_query
from tsqr.records import Domain, Run

# replace and concat compose one text (tsqr.reasoner.prompts); fuse searches the reasoning alone and fuses that
# run with the raw run by reciprocal rank.
FUSE = "fuse"
COMPOSITIONS: tuple[str, ...] = (*COMPOSE_MODES, FUSE)
DEFAULT_MEASURES = ("nDCG@10", "nDCG@100", "R@10", "R@100", "P@10", "RR", "AP")  # the CLI's and the app's


@dataclass(frozen=True)
class EvaluationConfig:
    """How a domain is scored: BM25 `scoring`, reasoning `composition` (with `repeat` for concat), depth, measures."""

    scoring: str = "bright"
    composition: str = "replace"
    repeat: int = 1
    depth: int = 1000
    measures: tuple[str, ...] = DEFAULT_MEASURES
    long_documents: bool = False

    def __post_init__(self) -> None:
        if self.scoring not in SCORINGS:
            raise ValueError(f"unknown scoring {self.scoring!r}; choose one of {', '.join(SCORINGS)}")
        if self.composition not in COMPOSITIONS:
            raise ValueError(f"unknown composition {self.composition!r}; choose one of {', '.join(COMPOSITIONS)}")
        if self.depth <= 0:
            raise ValueError(f"depth must be positive, got {self.depth}")
        if self.repeat < 1:
            raise ValueError(f"repeat must be at least 1, got {self.repeat}")
        for measure in self.measures:
            parse_measure(measure)  # an unknown measure fails here, before any searching

    def searched_text(self, query: str, reasoning: str) -> str:
        """The text the reasoned side searches with (for fuse: the reasoning alone, fused with raw afterwards)."""
        mode = "replace" if self.composition == FUSE else self.composition
        return compose_query(query, reasoning, mode=mode, repeat=self.repeat)


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


def _search(index: Index, texts: Sequence[str], domain: Domain, config: EvaluationConfig, progress: bool) -> Run:
    excludes = [ex.excluded_ids for ex in domain.examples]
    hits = index.search_many(list(texts), k=config.depth, excludes=excludes, scoring=config.scoring,
                             progress=progress)
    return {ex.id: side_hits for ex, side_hits in zip(domain.examples, hits)}


def _side(name: str, searched: dict[str, str], run: Run, domain: Domain, config: EvaluationConfig) -> SideResult:
    per_query = evaluate(domain.qrels(long=config.long_documents), run, [parse_measure(m) for m in config.measures])
    return SideResult(name=name, searched=searched, run=run, per_query=per_query, mean=mean_scores(per_query))


def evaluate_domain(
    domain: Domain,
    index: Index,
    reasonings: Mapping[str, str] | None = None,
    config: EvaluationConfig = EvaluationConfig(),
    *,
    progress: bool = True,
) -> DomainReport:
    """Score the raw queries and, when `reasonings` ({query id: text}) is given, the reasoned ones.

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
            report.reasonings[ex.id] = reasoning
            searched[ex.id] = config.searched_text(ex.query, reasoning)
    reasoned_run = _search(index, list(searched.values()), domain, config, progress)
    if config.composition == FUSE:
        reasoned_run = {qid: reciprocal_rank_fusion([raw_run[qid], hits], depth=config.depth)
                        if qid not in report.missing_reasoning else raw_run[qid]
                        for qid, hits in reasoned_run.items()}
    report.reasoned = _side("reasoned", searched, reasoned_run, domain, config)
    return report
