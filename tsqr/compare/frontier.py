"""The cost-quality frontier: each system's average nDCG@10 against what its reasoning costs per query, with the
systems no cheaper system beats joined by a line (the trade-off the TongSearch paper argues about: quality per
unit of inference cost).

Usage:
    points = frontier_points(tables[0], costs, axis="tokens")    # tables: tsqr.compare.compare(...)
    pareto(points)                                               # the non-dominated points, cheapest first
    figure = frontier_figure(points, measure="nDCG@10"); write_chart(figure, Path("frontier.html"))

Systems whose cost is unknown (reasonings read from a file) have no place on the cost axis: they are left out and
named in the title. plotly is imported only when a figure is drawn. The chart is written as HTML with plotly.js
inside the file, which needs no network to write or to open (a PNG would need kaleido and a browser).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tsqr.compare.comparison import AVERAGE, MeasureTable
from tsqr.compare.cost import SystemCost

if TYPE_CHECKING:
    import plotly.graph_objects as go

COST_AXES = {"tokens": "new tokens per query", "seconds": "seconds per query", "price": "price per query"}


@dataclass(frozen=True)
class FrontierPoint:
    """One system on the chart: its label, cost per query on the chosen axis and score (x100)."""

    label: str
    cost: float
    score: float
    significant: int = 0


def frontier_points(table: MeasureTable, costs: Mapping[str, SystemCost | None], axis: str = "tokens",
                    price_per_mtok: float | None = None) -> tuple[list[FrontierPoint], list[str]]:
    """The points to draw and the labels left out for want of a known cost."""
    if axis not in COST_AXES:
        raise ValueError(f"unknown cost axis {axis!r}; choose one of {', '.join(COST_AXES)}")
    if axis == "price" and price_per_mtok is None:
        raise ValueError("a price axis needs a price per million tokens")
    column = AVERAGE if AVERAGE in table.columns else table.columns[0]
    points, unknown = [], []
    for system in table.systems:
        cost = costs.get(system)
        if cost is None:
            unknown.append(system)
            continue
        value = {"tokens": cost.tokens_per_query, "seconds": cost.seconds_per_query}.get(axis) \
            if axis != "price" else cost.price_per_query(price_per_mtok)
        cell = table.cell(system, column)
        points.append(FrontierPoint(system, float(value), 100 * cell.mean, cell.direction))
    return points, unknown


def pareto(points: Sequence[FrontierPoint]) -> list[FrontierPoint]:
    """The points no other point beats on both axes (lower or equal cost with a higher score), cheapest first."""
    front: list[FrontierPoint] = []
    for point in sorted(points, key=lambda p: (p.cost, -p.score)):
        if not front or point.score > front[-1].score:
            front.append(point)
    return front


def frontier_figure(points: Sequence[FrontierPoint], measure: str = "nDCG@10", axis: str = "tokens",
                    unknown: Sequence[str] = ()) -> "go.Figure":
    import plotly.graph_objects as go

    front = pareto(points)
    symbols = {1: "triangle-up", -1: "triangle-down", 0: "circle"}
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=[p.cost for p in front], y=[p.score for p in front], mode="lines",
                                line={"dash": "dot", "color": "#8c8c8c"}, name="frontier", hoverinfo="skip"))
    figure.add_trace(go.Scatter(
        x=[p.cost for p in points], y=[p.score for p in points], mode="markers+text", name="systems",
        text=[p.label for p in points], textposition="top center", cliponaxis=False,
        marker={"size": 11, "color": "#2f6fde", "symbol": [symbols[p.significant] for p in points]},
        hovertemplate="%{text}<br>" + COST_AXES[axis] + ": %{x:.3g}<br>" + measure + ": %{y:.1f}<extra></extra>"))
    title = f"{measure} against reasoning cost (the average over domains; ▲/▼ significant)"
    if unknown:
        title += f"<br><sup>cost unknown, not shown: {', '.join(unknown)}</sup>"
    figure.update_layout(title=title, xaxis_title=COST_AXES[axis], yaxis_title=f"{measure} x100",
                         showlegend=False, template="plotly_white", margin={"t": 70, "l": 60, "r": 140})
    return figure


def write_chart(figure: "go.Figure", path: Path) -> Path:
    """The chart as a self-contained HTML file (plotly.js inside: opens offline)."""
    figure.write_html(str(path), include_plotlyjs=True, full_html=True)
    return path
