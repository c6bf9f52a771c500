"""What the Evaluate tab draws from finished DomainReports: the summary table, three plotly charts, and the
queries reasoning helped and hurt most.

Usage:
    rows = summary_table(reports)                  # header + rows for a gr.Dataframe
    domain_bars(reports), query_scatter(reports), delta_histogram(reports)
    gained, lost = biggest_changes(reports, n=5)

Every number comes from the reports (tsqr.evaluate) and tsqr.metrics.per_query_deltas; nothing is recomputed.
Scores are shown x100 with one decimal, as the paper and BRIGHT print them.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tsqr.evaluate import summary_rows
from tsqr.metrics import per_query_deltas

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from tsqr.evaluate import DomainReport

TABLE_MEASURES = ("nDCG@10", "R@10", "R@100", "RR")
SUMMARY_HEADERS = ["domain", "retriever", "queries", "measure", "raw", "reasoned", "delta"]
RAW_COLOR, REASONED_COLOR = "#8c8c8c", "#2f6fde"


def _x100(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 1)


def summary_table(reports: Sequence["DomainReport"], measures: Sequence[str] = TABLE_MEASURES) -> list[list]:
    """Rows (domain, retriever, queries, measure, raw, reasoned, delta), scores x100; an "average" row per measure when
    there are several domains (tsqr.evaluate.summary_rows)."""
    return [[row.domain, row.retriever, row.queries, row.measure, _x100(row.raw), _x100(row.reasoned),
             _x100(row.delta)] for row in summary_rows(reports, measures)]


@dataclass(frozen=True)
class QueryChange:
    """How one query's score moved when its reasoning replaced it, with the texts to show why."""

    domain: str
    query_id: str
    query: str
    reasoning: str
    raw: float
    reasoned: float

    @property
    def delta(self) -> float:
        return self.reasoned - self.raw


def query_changes(reports: Sequence["DomainReport"], measure: str = "nDCG@10") -> list[QueryChange]:
    """Every scored query of every report with a reasoned side, biggest gain first."""
    changes = []
    for report in reports:
        if report.reasoned is None:
            continue
        deltas = per_query_deltas(report.raw.per_query, report.reasoned.per_query, measure)
        changes += [QueryChange(report.domain, d.query_id, report.queries.get(d.query_id, ""),
                                report.reasonings.get(d.query_id, ""), d.before, d.after) for d in deltas]
    changes.sort(key=lambda change: -change.delta)
    return changes


def biggest_changes(reports: Sequence["DomainReport"], measure: str = "nDCG@10",
                    n: int = 5) -> tuple[list[QueryChange], list[QueryChange]]:
    """The `n` queries that gained most and the `n` that lost most (worst first); unchanged ones in neither."""
    changes = query_changes(reports, measure)
    gained = [change for change in changes if change.delta > 0][:n]
    lost = [change for change in reversed(changes) if change.delta < 0][:n]
    return gained, lost


def _layout(figure: "go.Figure", title: str, x_title: str, y_title: str) -> "go.Figure":
    figure.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, template="plotly_white",
                         margin=dict(l=50, r=20, t=50, b=50), legend=dict(orientation="h", y=1.02, x=1,
                                                                            xanchor="right", yanchor="bottom"))
    return figure


def domain_bars(reports: Sequence["DomainReport"], measure: str = "nDCG@10") -> "go.Figure":
    """Grouped bars per domain: raw vs reasoned `measure` (x100)."""
    import plotly.graph_objects as go

    domains = [report.domain for report in reports]
    figure = go.Figure()
    figure.add_bar(name="raw query", x=domains, marker_color=RAW_COLOR,
                   y=[_x100(report.raw.mean.get(measure, 0.0)) for report in reports])
    reasoned = [report for report in reports if report.reasoned is not None]
    if reasoned:
        figure.add_bar(name="reasoned query", x=[report.domain for report in reasoned], marker_color=REASONED_COLOR,
                       y=[_x100(report.reasoned.mean.get(measure, 0.0)) for report in reasoned])
    figure.update_layout(barmode="group")
    return _layout(figure, f"{measure} per domain", "domain", f"{measure} (x100)")


def query_scatter(reports: Sequence["DomainReport"], measure: str = "nDCG@10") -> "go.Figure":
    """One point per query: raw score (x) against reasoned score (y); above the diagonal, reasoning helped."""
    import plotly.graph_objects as go

    figure = go.Figure()
    figure.add_scatter(x=[0, 100], y=[0, 100], mode="lines", name="no change",
                       line=dict(color="#bbbbbb", dash="dash"), hoverinfo="skip")
    by_domain: dict[str, list[QueryChange]] = {}
    for change in query_changes(reports, measure):
        by_domain.setdefault(change.domain, []).append(change)
    for domain, changes in by_domain.items():
        figure.add_scatter(x=[_x100(c.raw) for c in changes], y=[_x100(c.reasoned) for c in changes],
                           mode="markers", name=domain, text=[c.query_id for c in changes],
                           hovertemplate="%{text}<br>raw %{x}<br>reasoned %{y}<extra></extra>")
    return _layout(figure, f"Per-query {measure}: raw vs reasoned", f"raw {measure}", f"reasoned {measure}")


def delta_histogram(reports: Sequence["DomainReport"], measure: str = "nDCG@10") -> "go.Figure":
    """The distribution of per-query changes (reasoned - raw, x100)."""
    import plotly.graph_objects as go

    deltas = [_x100(change.delta) for change in query_changes(reports, measure)]
    figure = go.Figure()
    figure.add_histogram(x=deltas, nbinsx=21, marker_color=REASONED_COLOR, name="queries")
    return _layout(figure, f"Change in {measure} per query", f"reasoned - raw {measure} (x100)", "queries")


def systems_scatter(scores: dict[str, dict[str, dict[str, dict[str, float]]]], x_system: str, y_system: str,
                    measure: str = "nDCG@10") -> "go.Figure":
    """One point per query: system `x_system`'s score against `y_system`'s (x100), a colour per domain; `scores`
    is label -> domain -> query id -> measure (tsqr.evaluate.experiment.Experiment.scores)."""
    import plotly.graph_objects as go

    figure = go.Figure()
    figure.add_scatter(x=[0, 100], y=[0, 100], mode="lines", name="equal", line=dict(color="#bbbbbb", dash="dash"),
                       hoverinfo="skip")
    if x_system in scores and y_system in scores:
        for domain, per_query in scores[x_system].items():
            ids = [qid for qid in per_query if qid in scores[y_system].get(domain, {})]
            figure.add_scatter(x=[_x100(per_query[q].get(measure, 0.0)) for q in ids],
                               y=[_x100(scores[y_system][domain][q].get(measure, 0.0)) for q in ids],
                               mode="markers", name=domain, text=ids,
                               hovertemplate="%{text}<br>x %{x}<br>y %{y}<extra></extra>")
    return _layout(figure, f"Per-query {measure}: {y_system} against {x_system}", f"{x_system} {measure}",
                   f"{y_system} {measure}")
