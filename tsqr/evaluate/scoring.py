"""One domain scored raw vs reasoned: queries -> runs -> per-query and mean measures, BRIGHT's protocol.

A retriever over the domain's documents (BM25 by default; dense or hybrid, tsqr.retrieval), excluded ids removed
before the top `depth` are kept, binary qrels from `gold_ids`, pytrec_eval-identical measures. Independent axes
say how: `retriever`, `scoring` (how BM25 weighs terms: tsqr.bm25.SCORINGS) and `composition` (how a reasoning
meets the retriever: tsqr.composition owns the modes and the composing). Scoring and composition used to be one
list ("fusion" was a scoring), which hid that fusion is a way raw and reasoned meet, like replace and concat. A
query's reasonings are a tuple of sampled texts: `sample_combination` joins several into one text (concat, as MuGI)
or fuses their runs (rrf).

Usage:
    report = evaluate_domain(domain, index, reasonings={qid: (text,)}, config=EvaluationConfig(composition="concat"))
    report.raw.mean["nDCG@10"], report.reasoned.mean["nDCG@10"], report.reasoned.searched[qid]
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from tsqr.bm25 import SCORINGS
from tsqr.composition import Composition, Samples
from tsqr.metrics import evaluate, mean_scores, parse_measure
from tsqr.records import Domain, Run
from tsqr.retrieval import Retriever, check_hybrid_options, parse_retriever_spec
from tsqr.retrieval.spec import check_query_instruction

DEFAULT_MEASURES = ("nDCG@10", "nDCG@100", "R@10", "R@100", "P@10", "RR", "AP")  # the CLI's and the app's


@dataclass(frozen=True)
class EvaluationConfig:
    """How a domain is scored: BM25 `scoring`, reasoning `composition` (with `repeat` for concat, and
    `sample_combination` for several samples; tsqr.composition), depth, measures."""

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
        Composition(self.composition, self.repeat, self.sample_combination)  # refuses unknown choices here
        if self.depth <= 0:
            raise ValueError(f"depth must be positive, got {self.depth}")
        object.__setattr__(self, "retriever", str(parse_retriever_spec(self.retriever)))  # one spelling per retriever
        check_hybrid_options(self.hybrid_method, self.hybrid_weight, self.scoring)
        check_query_instruction(self.retriever, self.query_instruction)
        for measure in self.measures:
            parse_measure(measure)  # an unknown measure fails here, before any searching

    @property
    def composer(self) -> Composition:
        """How the reasonings become the reasoned side's run."""
        return Composition(self.composition, self.repeat, self.sample_combination)


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


def _side(name: str, searched: dict[str, str], run: Run, domain: Domain, config: EvaluationConfig) -> SideResult:
    per_query = evaluate(domain.qrels(long=config.long_documents), run, [parse_measure(m) for m in config.measures])
    return SideResult(name=name, searched=searched, run=run, per_query=per_query, mean=mean_scores(per_query))


def evaluate_domain(
    domain: Domain,
    retriever: Retriever,
    reasonings: Mapping[str, Samples] | None = None,
    config: EvaluationConfig = EvaluationConfig(),
    *,
    cost: ReasoningCost | None = None,
    progress: bool = True,
) -> DomainReport:
    """Score the raw queries and, when `reasonings` ({query id: its sampled texts, a 1-tuple for one}) is given,
    the reasoned ones, with `retriever` (tsqr.retrieval: built with the config's retriever and scoring); `cost`
    is what the reasonings cost to generate, kept in the report.

    Queries without a reasoning keep their raw run on the reasoned side and are listed in `missing_reasoning`, so
    a partial reasoning file still gives a fair, complete comparison.
    """
    if retriever.scoring not in (None, config.scoring):
        raise ValueError(f"the retriever ranks with BM25 scoring {retriever.scoring!r}, the config says "
                         f"{config.scoring!r}: build it with the config's (tsqr.retrieval.build_retriever)")
    examples = domain.examples
    queries = {ex.id: ex.query for ex in examples}
    raw_hits = retriever.search_many(list(queries.values()), config.depth, [ex.excluded_ids for ex in examples],
                                     progress=progress)
    raw_run = dict(zip(queries, raw_hits))
    raw = _side("raw", dict(queries), raw_run, domain, config)
    if reasonings is None:
        return DomainReport(domain=domain.name, config=config, queries=queries, raw=raw, cost=cost)

    given = [ex for ex in examples if reasonings.get(ex.id) is not None]
    composer = config.composer
    found = composer.search(retriever, [ex.query for ex in given], [reasonings[ex.id] for ex in given],
                            k=config.depth, excludes=[ex.excluded_ids for ex in given],
                            raw_runs=[raw_run[ex.id] for ex in given], progress=progress)
    reasoned_hits = {ex.id: hits for ex, hits in zip(given, found)}
    searched = {ex.id: composer.text(ex.query, reasonings[ex.id]) if ex.id in reasoned_hits else ex.query
                for ex in examples}
    reasoned_run = {ex.id: reasoned_hits.get(ex.id, raw_run[ex.id]) for ex in examples}
    return DomainReport(domain=domain.name, config=config, queries=queries, raw=raw,
                        reasoned=_side("reasoned", searched, reasoned_run, domain, config),
                        reasonings={ex.id: "\n\n".join(reasonings[ex.id]) for ex in given},
                        missing_reasoning=[ex.id for ex in examples if ex.id not in reasoned_hits], cost=cost)
