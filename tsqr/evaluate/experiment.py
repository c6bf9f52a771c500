"""Many systems over many domains: the finished runs, the comparison against a baseline, the cost per system,
and the files they are written to (results.json, table.md, table.tex, table.csv, frontier.html).

Usage:
    experiment = Experiment(systems, baseline="raw", test="t", alpha=0.05)
    experiment.add(system_run)                            # as the runner finishes each (system, domain)
    tables = experiment.tables(["nDCG@10"]); costs = experiment.costs()
    write_experiment(experiment, Path("runs/x"))          # the paths written

results.json keeps every per-query score, every p-value (raw and Holm-adjusted), the test, the correction and
alpha, so anyone can recompute the marks; each system's identity says what it was.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tsqr.compare import CORRECTION, DEFAULT_ALPHA, MeasureTable, SystemCost, compare
from tsqr.compare.frontier import frontier_figure, frontier_points, write_chart
from tsqr.compare.stats import check_alpha, check_test
from tsqr.compare.tables import to_latex, to_markdown, write_csv
from tsqr.evaluate.results import HEADLINE_MEASURES, RESULTS_FILE, cost_summary
from tsqr.evaluate.runs import SystemRun
from tsqr.evaluate.systems import System
from tsqr.paths import inside

RESULTS_FORMAT = "tsqr-comparison/1"
TABLE_FILES = ("table.md", "table.tex", "table.csv")
FRONTIER_FILE = "frontier.html"
FRONTIER_MEASURE = "nDCG@10"


@dataclass
class Experiment:
    """The systems, the domains seen so far in order, and every finished (system, domain) run."""

    systems: Sequence[System]
    baseline: str
    test: str = "t"
    alpha: float = DEFAULT_ALPHA
    price_per_mtok: float | None = None
    domains: list[str] = field(default_factory=list)
    runs: dict[tuple[str, str], SystemRun] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_test(self.test)
        check_alpha(self.alpha)
        labels = [system.label for system in self.systems]
        if self.baseline not in labels:
            raise ValueError(f"baseline {self.baseline!r} is not one of the systems: {', '.join(labels)}")

    def add(self, run: SystemRun) -> None:
        if run.domain not in self.domains:
            self.domains.append(run.domain)
        self.runs[(run.label, run.domain)] = run

    @property
    def finished_domains(self) -> list[str]:
        """Domains every system has finished: the ones a fair table can show."""
        return [d for d in self.domains if all((s.label, d) in self.runs for s in self.systems)]

    def scores(self) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
        return {s.label: {d: self.runs[(s.label, d)].per_query for d in self.finished_domains} for s in self.systems}

    def tables(self, measures: Sequence[str] = HEADLINE_MEASURES) -> list[MeasureTable]:
        if not self.finished_domains:
            return []
        return compare(self.scores(), self.baseline, measures, test=self.test, alpha=self.alpha)

    def costs(self) -> dict[str, SystemCost | None]:
        """Per system: free for the raw query, the summed generation cost for a model, None when unknown."""
        costs: dict[str, SystemCost | None] = {}
        for system in self.systems:
            if system.is_raw:
                costs[system.label] = SystemCost.free()
            else:
                costs[system.label] = SystemCost.total(self.runs[(system.label, d)].cost
                                                       for d in self.finished_domains)
        return costs

    def measures(self) -> list[str]:
        first = next(iter(self.runs.values()), None)
        return list(first.mean) if first is not None else []


def _cell_document(table: MeasureTable, system: str) -> dict:
    cells = {column: {"mean": cell.mean, "delta": cell.delta, "p_value": cell.p_value, "p_holm": cell.adjusted,
                      "significant": cell.significant}
             for column in table.columns for cell in [table.cell(system, column)]}
    record = table.record.get(system)
    return {"columns": cells, "win_tie_loss": None if record is None else list(record)}


def experiment_document(experiment: Experiment) -> dict:
    """results.json's content for a comparison of systems."""
    costs = experiment.costs()
    domains = experiment.finished_domains
    return {
        "format": RESULTS_FORMAT,
        "baseline": experiment.baseline, "test": experiment.test,
        "correction": CORRECTION if experiment.test != "none" else None, "alpha": experiment.alpha,
        "price_per_mtok": experiment.price_per_mtok, "domains": domains,
        "systems": {
            s.label: {"key": s.key, "identity": s.identity(), "cost": None if costs[s.label] is None else {
                "tokens_per_query": costs[s.label].tokens_per_query,
                "seconds_per_query": costs[s.label].seconds_per_query,
                "price_per_query": costs[s.label].price_per_query(experiment.price_per_mtok),
                "hardware": costs[s.label].hardware}}
            for s in experiment.systems},
        "runs": {d: {s.label: {"queries": len(run.per_query), "mean": run.mean, "per_query": run.per_query,
                               "missing_reasoning": run.missing_reasoning, "reused": run.reused,
                               "cost": None if run.cost is None else cost_summary(run.cost, experiment.price_per_mtok)}
                     for s in experiment.systems for run in [experiment.runs[(s.label, d)]]}
                 for d in domains},
        "comparison": {table.measure: {s: _cell_document(table, s) for s in table.systems}
                       for table in experiment.tables(experiment.measures())},
    }


def write_experiment(experiment: Experiment, out_dir: Path,
                     table_measures: Sequence[str] = HEADLINE_MEASURES) -> list[Path]:
    """results.json, the tables (Markdown, LaTeX, CSV) and the frontier chart; the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = inside(out_dir, RESULTS_FILE)
    path.write_text(json.dumps(experiment_document(experiment), indent=1, ensure_ascii=False))
    written = [path]
    tables = experiment.tables(table_measures)
    if not tables:
        return written
    costs, price = experiment.costs(), experiment.price_per_mtok
    md, tex, csv_name = TABLE_FILES
    inside(out_dir, md).write_text(to_markdown(tables, costs, price), encoding="utf-8")
    inside(out_dir, tex).write_text(to_latex(tables, costs, price), encoding="utf-8")
    written += [inside(out_dir, md), inside(out_dir, tex), write_csv(tables, inside(out_dir, csv_name))]
    frontier = next((t for t in tables if t.measure == FRONTIER_MEASURE), tables[0])
    points, unknown = frontier_points(frontier, costs)
    written.append(write_chart(frontier_figure(points, frontier.measure, unknown=unknown),
                               inside(out_dir, FRONTIER_FILE)))
    return written
