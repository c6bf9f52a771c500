"""The cost-quality frontier: which systems it joins, where each point sits, and a chart file that opens offline."""
from __future__ import annotations

import pytest

from tsqr.compare import compare
from tsqr.compare.cost import SystemCost
from tsqr.compare.frontier import FrontierPoint, frontier_figure, frontier_points, pareto, write_chart


def test_pareto_keeps_only_points_no_cheaper_point_beats():
    points = [FrontierPoint("raw", 0, 14.5), FrontierPoint("small", 300, 13.0), FrontierPoint("qr", 400, 24.6),
              FrontierPoint("gpt", 900, 27.0), FrontierPoint("slow", 1200, 26.0), FrontierPoint("tie", 400, 20.0)]
    assert [p.label for p in pareto(points)] == ["raw", "qr", "gpt"]
    assert pareto([]) == []


def _table():
    per_query = {"raw": [0.1, 0.2, 0.3], "gen": [0.5, 0.6, 0.7], "file": [0.4, 0.4, 0.4]}
    scores = {label: {"demo": {f"q{i}": {"nDCG@10": v} for i, v in enumerate(values)}}
              for label, values in per_query.items()}
    return compare(scores, "raw", ["nDCG@10"])[0]


def test_points_use_cost_per_query_and_leave_unknown_costs_out(tmp_path):
    costs = {"raw": SystemCost.free(), "gen": SystemCost(3, 600, 1.5, "cpu"), "file": None}
    points, unknown = frontier_points(_table(), costs, axis="tokens")
    assert unknown == ["file"]
    assert [(p.label, p.cost, p.score) for p in points] == [("raw", 0.0, pytest.approx(20.0)),
                                                           ("gen", 200.0, pytest.approx(60.0))]
    priced, _ = frontier_points(_table(), costs, axis="price", price_per_mtok=5.0)
    assert priced[1].cost == pytest.approx(200 / 1e6 * 5.0)
    with pytest.raises(ValueError, match="price per million"):
        frontier_points(_table(), costs, axis="price")
    figure = frontier_figure(points, unknown=unknown)
    assert list(figure.data[0].x) == [0.0, 200.0]                            # the frontier line
    assert "file" in figure.layout.title.text
    path = write_chart(figure, tmp_path / "frontier.html")
    html = path.read_text()
    assert '<script src="http' not in html and "gen" in html           # plotly.js inside: no network
