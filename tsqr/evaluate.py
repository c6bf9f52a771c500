"""The evaluation runner the CLI and the app share: queries -> (raw, reasoned) runs -> per-query and mean scores.

It follows BRIGHT's official protocol: BM25 over the domain's documents, excluded ids removed before the top
1000 are kept, binary qrels from `gold_ids`, pytrec_eval-identical measures. The "reasoned" side replaces the query
by the model's reasoning (the paper's evaluation) unless a composition mode says otherwise; "fusion" scoring fuses
the raw and the reasoned BM25 runs by reciprocal rank instead.

Usage (library):
    report = evaluate_domain(domain, index, reasonings={qid: text}, config=EvaluationConfig())
    rows = summary_rows([report]); write_outputs([report], Path("runs/x"))
"""
from __future__ import annotations

import csv
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tsqr.paths import inside
from tsqr.records import Domain, Run

if TYPE_CHECKING:
    from tsqr.bm25 import Index

SCORINGS = ("bright", "classic", "fusion")
DEFAULT_MEASURES = ("nDCG@10", "nDCG@100", "R@10", "R@100", "P@10", "RR@10", "AP")
HEADLINE_MEASURES = ("nDCG@10", "R@100")


@dataclass(frozen=True)
class EvaluationConfig:
    """How a domain is scored. `mode`/`repeat` say how the reasoning meets BM25 (see reasoner.prompts)."""

    scoring: str = "bright"
    depth: int = 1000
    measures: tuple[str, ...] = DEFAULT_MEASURES
    mode: str = "replace"
    repeat: int = 1
    long_documents: bool = False

    def __post_init__(self) -> None:
        if self.scoring not in SCORINGS:
            raise ValueError(f"unknown scoring {self.scoring!r}; choose one of {', '.join(SCORINGS)}")
        if self.depth <= 0:
            raise ValueError(f"depth must be positive, got {self.depth}")


@dataclass
class SideResult:
    """One side of the comparison ("raw" or "reasoned"): its run and its scores."""

    name: str
    run: Run
    per_query: dict[str, dict[str, float]]
    mean: dict[str, float]


@dataclass
class DomainReport:
    """Everything measured on one domain; `reasonings` maps query id to the text BM25 searched with."""

    domain: str
    config: EvaluationConfig
    sides: dict[str, SideResult]
    queries: dict[str, str]
    reasonings: dict[str, str] = field(default_factory=dict)
    missing_reasoning: list[str] = field(default_factory=list)

    @property
    def n_queries(self) -> int:
        return len(self.queries)


@dataclass(frozen=True)
class SummaryRow:
    """One line of the raw-vs-reasoned table."""

    domain: str
    queries: int
    measure: str
    raw: float
    reasoned: float | None

    @property
    def delta(self) -> float | None:
        return None if self.reasoned is None else self.reasoned - self.raw


def reasoned_texts(
    domain: Domain,
    reasoner,
    *,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, str]:
    """Ask a reasoner for every query of the domain (its cache makes reruns free); returns {query id: reasoning}.

    Queries with identical text are reasoned once: BRIGHT's two theoremqa domains share 76 query texts.
    """
    unique = list(dict.fromkeys(ex.query for ex in domain.examples))
    results = reasoner.reason(unique, on_progress=on_progress)
    by_text = {query: r.text for query, r in zip(unique, results)}
    return {ex.id: by_text[ex.query] for ex in domain.examples}


def _search_side(index: "Index", texts: Sequence[str], domain: Domain, config: EvaluationConfig, scoring: str,
                 progress: bool) -> Run:
    excludes = [ex.excluded_ids for ex in domain.examples]
    hits = index.search_many(list(texts), k=config.depth, excludes=excludes, scoring=scoring, progress=progress)
    return {ex.id: side_hits for ex, side_hits in zip(domain.examples, hits)}


def _score(name: str, run: Run, domain: Domain, config: EvaluationConfig) -> SideResult:
    from tsqr.metrics import evaluate, mean_scores, parse_measure

    measures = [parse_measure(m) for m in config.measures]
    per_query = evaluate(domain.qrels(long=config.long_documents), run, measures)
    return SideResult(name=name, run=run, per_query=per_query, mean=mean_scores(per_query))


def evaluate_domain(
    domain: Domain,
    index: "Index",
    reasonings: Mapping[str, str] | None = None,
    config: EvaluationConfig = EvaluationConfig(),
    *,
    progress: bool = True,
) -> DomainReport:
    """Score the raw queries and, when `reasonings` ({query id: text}) is given, the reasoned ones.

    Queries without a reasoning fall back to their raw text on the reasoned side and are listed in
    `missing_reasoning`, so a partial reasoning file still gives a fair, complete comparison.
    """
    from tsqr.reasoner.prompts import compose_query

    raw_scoring = "bright" if config.scoring == "fusion" else config.scoring
    queries = {ex.id: ex.query for ex in domain.examples}
    raw_run = _search_side(index, list(queries.values()), domain, config, raw_scoring, progress)
    sides = {"raw": _score("raw", raw_run, domain, config)}
    report = DomainReport(domain=domain.name, config=config, sides=sides, queries=queries)
    if reasonings is None:
        return report

    texts = []
    for ex in domain.examples:
        reasoning = reasonings.get(ex.id)
        if reasoning is None:
            report.missing_reasoning.append(ex.id)
            texts.append(ex.query)
            continue
        report.reasonings[ex.id] = reasoning
        texts.append(compose_query(ex.query, reasoning, mode=config.mode, repeat=config.repeat))
    reasoned_run = _search_side(index, texts, domain, config, raw_scoring, progress)
    if config.scoring == "fusion":
        from tsqr.fusion import reciprocal_rank_fusion

        reasoned_run = {qid: reciprocal_rank_fusion([raw_run[qid], reasoned_run[qid]], depth=config.depth)
                        for qid in reasoned_run}
    sides["reasoned"] = _score("reasoned", reasoned_run, domain, config)
    return report


def summary_rows(reports: Sequence[DomainReport], measures: Sequence[str] = HEADLINE_MEASURES) -> list[SummaryRow]:
    """Per-domain rows plus, for several domains, an "average" row: the unweighted mean over domains, as BRIGHT
    and the paper average their per-domain nDCG@10."""
    rows = []
    for measure in measures:
        for rep in reports:
            reasoned = rep.sides.get("reasoned")
            rows.append(SummaryRow(rep.domain, rep.n_queries, measure, rep.sides["raw"].mean.get(measure, 0.0),
                                   None if reasoned is None else reasoned.mean.get(measure, 0.0)))
    if len(reports) > 1:
        for measure in measures:
            domain_rows = [r for r in rows if r.measure == measure]
            has_reasoned = all(r.reasoned is not None for r in domain_rows)
            rows.append(SummaryRow(
                "average", sum(r.queries for r in domain_rows), measure,
                sum(r.raw for r in domain_rows) / len(domain_rows),
                sum(r.reasoned for r in domain_rows) / len(domain_rows) if has_reasoned else None))
    return rows


def format_table(rows: Sequence[SummaryRow]) -> str:
    """A fixed-width table for terminals: one line per domain and measure, scores x100 as the paper prints."""
    lines = [f"{'domain':<22}{'queries':>8}  {'measure':<9}{'raw':>8}{'reasoned':>10}{'delta':>8}"]
    for row in rows:
        reasoned = "" if row.reasoned is None else f"{100 * row.reasoned:.1f}"
        delta = "" if row.delta is None else f"{100 * row.delta:+.1f}"
        lines.append(f"{row.domain:<22}{row.queries:>8}  {row.measure:<9}{100 * row.raw:>8.1f}{reasoned:>10}{delta:>8}")
    return "\n".join(lines)


def write_outputs(reports: Sequence[DomainReport], out_dir: Path) -> list[Path]:
    """Write results.json (config, means, per-query scores, reasonings), per_query.csv, summary.csv and one TREC
    run file per domain and side. Returns the paths written."""
    from tsqr.trec import write_run

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    results = {
        rep.domain: {
            "config": asdict(rep.config),
            "queries": rep.n_queries,
            "missing_reasoning": rep.missing_reasoning,
            "mean": {name: side.mean for name, side in rep.sides.items()},
            "per_query": {name: side.per_query for name, side in rep.sides.items()},
            "reasonings": rep.reasonings,
        }
        for rep in reports
    }
    path = out_dir / "results.json"
    path.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    written.append(path)

    path = out_dir / "summary.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["domain", "queries", "measure", "raw", "reasoned", "delta"])
        for row in summary_rows(reports, measures=reports[0].config.measures if reports else HEADLINE_MEASURES):
            writer.writerow([row.domain, row.queries, row.measure, row.raw, row.reasoned, row.delta])
    written.append(path)

    path = out_dir / "per_query.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["domain", "side", "query_id", "measure", "value"])
        for rep in reports:
            for side in rep.sides.values():
                for qid, scores in side.per_query.items():
                    for measure, value in scores.items():
                        writer.writerow([rep.domain, side.name, qid, measure, value])
    written.append(path)

    for rep in reports:
        for side in rep.sides.values():
            path = inside(out_dir, f"{rep.domain}.{side.name}.trec")  # domain names reach here from uploads
            write_run(side.run, path, tag=f"tsqr-{side.name}")
            written.append(path)
    return written
