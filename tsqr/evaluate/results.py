"""The one owner of an evaluation's output files: results.json, summary.csv, per_query.csv and TREC runs.

Usage:
    rows = summary_rows(reports); print(format_table(rows))
    write_outputs(reports, Path("runs/x"))     # the CLI and the app write the same files from the same reports

Scores are stored as fractions (pytrec_eval's scale); the terminal table prints them x100 as the paper does.
CSV text cells that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return: a
query id "=HYPERLINK(...)" from an upload) are written with a leading single quote, as OWASP advises against
CSV injection; numbers are written as numbers.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from tsqr.evaluate.scoring import DomainReport, ReasoningCost
from tsqr.paths import inside
from tsqr.trec import write_run

HEADLINE_MEASURES = ("nDCG@10", "R@100")
RESULTS_FILE = "results.json"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """`value` as a CSV cell no spreadsheet runs as a formula: text starting with = + - @ tab or CR gets a
    leading single quote; everything else (numbers included) is unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """A UTF-8 CSV file whose text cells pass through `spreadsheet_safe`."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows([spreadsheet_safe(cell) for cell in row] for row in rows)


@dataclass(frozen=True)
class SummaryRow:
    """One line of the raw-vs-reasoned table."""

    domain: str
    queries: int
    measure: str
    raw: float
    reasoned: float | None
    retriever: str = "bm25"

    @property
    def delta(self) -> float | None:
        return None if self.reasoned is None else self.reasoned - self.raw


def summary_rows(reports: Sequence[DomainReport], measures: Sequence[str] = HEADLINE_MEASURES) -> list[SummaryRow]:
    """Per-domain rows plus, for several domains, an "average" row: the unweighted mean over domains, as BRIGHT
    and the paper average their per-domain nDCG@10."""
    rows = []
    for measure in measures:
        for rep in reports:
            reasoned = None if rep.reasoned is None else rep.reasoned.mean.get(measure, 0.0)
            rows.append(SummaryRow(rep.domain, rep.n_queries, measure, rep.raw.mean.get(measure, 0.0), reasoned,
                                   rep.config.retriever))
    if len(reports) > 1:
        for measure in measures:
            domain_rows = [r for r in rows if r.measure == measure]
            has_reasoned = all(r.reasoned is not None for r in domain_rows)
            retrievers = {r.retriever for r in domain_rows}
            rows.append(SummaryRow(
                "average", sum(r.queries for r in domain_rows), measure,
                sum(r.raw for r in domain_rows) / len(domain_rows),
                sum(r.reasoned for r in domain_rows) / len(domain_rows) if has_reasoned else None,
                retrievers.pop() if len(retrievers) == 1 else "mixed"))
    return rows


def format_table(rows: Sequence[SummaryRow]) -> str:
    """A fixed-width table for terminals: one line per domain and measure, scores x100 as the paper prints."""
    width = max([len("retriever"), *(len(row.retriever) for row in rows)]) + 2
    lines = [f"{'domain':<22}{'retriever':<{width}}{'queries':>8}  {'measure':<9}{'raw':>8}{'reasoned':>10}{'delta':>8}"]
    for row in rows:
        reasoned = "" if row.reasoned is None else f"{100 * row.reasoned:.1f}"
        delta = "" if row.delta is None else f"{100 * row.delta:+.1f}"
        lines.append(f"{row.domain:<22}{row.retriever:<{width}}{row.queries:>8}  {row.measure:<9}"
                     f"{100 * row.raw:>8.1f}{reasoned:>10}{delta:>8}")
    return "\n".join(lines)


def cost_summary(cost: ReasoningCost, price_per_mtok: float | None = None) -> dict[str, float | int | str | None]:
    """A domain's reasoning cost as results.json stores it."""
    return {"reasonings": cost.reasonings, "from_cache": cost.from_cache, "new_tokens": cost.new_tokens,
            "seconds": round(cost.seconds, 3), "tokens_per_second": round(cost.tokens_per_second, 2),
            "hardware": cost.hardware, "price_per_mtok": price_per_mtok, "price": cost.price(price_per_mtok)}


def format_costs(reports: Sequence[DomainReport], price_per_mtok: float | None = None) -> str:
    """Per-domain reasoning cost for terminals ("" when no domain generated reasonings)."""
    lines = []
    for rep in reports:
        if rep.cost is None:
            continue
        cost = rep.cost
        price = cost.price(price_per_mtok)
        shown = "" if price is None else f", about {price:.4f} at {price_per_mtok}/M tokens"
        lines.append(f"{rep.domain}: {cost.reasonings} reasonings ({cost.from_cache} from the cache), "
                     f"{cost.new_tokens} new tokens in {cost.seconds:.1f} s ({cost.tokens_per_second:.1f} tokens/s"
                     f"{' on ' + cost.hardware if cost.hardware else ''}){shown}")
    return "\n".join(lines)


def results_document(reports: Sequence[DomainReport], price_per_mtok: float | None = None) -> dict:
    """results.json's content: per domain, the config, means, per-query scores, reasonings and what was searched."""
    return {
        rep.domain: {
            "config": asdict(rep.config),
            "queries": rep.n_queries,
            "missing_reasoning": rep.missing_reasoning,
            "mean": {side.name: side.mean for side in rep.sides},
            "per_query": {side.name: side.per_query for side in rep.sides},
            "reasonings": rep.reasonings,
            "searched": {side.name: side.searched for side in rep.sides if side.name != "raw"},
            "cost": None if rep.cost is None else cost_summary(rep.cost, price_per_mtok),
        }
        for rep in reports
    }


def write_outputs(reports: Sequence[DomainReport], out_dir: Path, price_per_mtok: float | None = None) -> list[Path]:
    """Write results.json, per_query.csv, summary.csv and one TREC run per domain and side; the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    path = inside(out_dir, RESULTS_FILE)
    path.write_text(json.dumps(results_document(reports, price_per_mtok), indent=1, ensure_ascii=False))
    written.append(path)

    path = inside(out_dir, "summary.csv")
    measures = reports[0].config.measures if reports else HEADLINE_MEASURES
    write_csv(path, ["domain", "retriever", "queries", "measure", "raw", "reasoned", "delta"],
              ([row.domain, row.retriever, row.queries, row.measure, row.raw, row.reasoned, row.delta]
               for row in summary_rows(reports, measures=measures)))
    written.append(path)

    path = inside(out_dir, "per_query.csv")
    write_csv(path, ["domain", "side", "query_id", "measure", "value"],
              ([rep.domain, side.name, qid, measure, value]
               for rep in reports for side in rep.sides
               for qid, scores in side.per_query.items() for measure, value in scores.items()))
    written.append(path)

    for rep in reports:
        for side in rep.sides:
            path = inside(out_dir, f"{rep.domain}.{side.name}.trec")
            write_run(side.run, path, tag=f"tsqr-{side.name}")
            written.append(path)
    return written
