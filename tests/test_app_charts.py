"""The Evaluate tab's table, charts and changed-query lists show the reports' own numbers, and the result markup
escapes what users and models wrote."""
from __future__ import annotations

import pytest

from tsqr.app.charts import biggest_changes, delta_histogram, domain_bars, query_scatter, summary_table
from tsqr.app.highlight import Snippet
from tsqr.app.render import changes_html, gold_moves_markdown, results_html, scores_markdown
from tsqr.app.search import Comparison, GoldMove, ResultRow, SideResults
from tsqr.bm25 import Index
from tsqr.evaluate import EvaluationConfig, evaluate_domain
from tsqr.records import Document, Domain, Example
from tsqr.retrieval import BM25Retriever

TOPICS = {"tide": "moon gravity ocean tides", "yeast": "yeast ferments sugar into ethanol",
          "rust": "iron oxidises with water and oxygen", "volcano": "magma erupts through the crust"}
MEASURES = ("nDCG@10", "R@10", "R@100", "RR")


def _report(name: str, reasonings: dict[str, str]):
    documents = [Document(f"{topic}-gold", text) for topic, text in TOPICS.items()]
    documents += [Document(f"noise-{i}", f"why does this happen question {i}") for i in range(6)]
    examples = [Example(f"{name}-{topic}", f"why does this happen {topic} question", (f"{topic}-gold",))
                for topic in TOPICS]
    domain = Domain(name, examples, documents)
    texts = {f"{name}-{topic}": (text,) for topic, text in reasonings.items()}
    return evaluate_domain(domain, BM25Retriever(Index.build(documents, progress=False)), texts,
                           EvaluationConfig(measures=MEASURES), progress=False)


@pytest.fixture(scope="module")
def reports():
    helped = _report("helped", dict(TOPICS))                                  # every reasoning names its topic
    mixed = _report("mixed", {"tide": TOPICS["tide"], "yeast": "why does this happen question 1 question 2",
                              "rust": TOPICS["volcano"]})                       # one helps, two hurt or mislead
    return [helped, mixed]


def test_summary_table_rows_are_the_report_means_x100_with_an_average(reports):
    rows = summary_table(reports)
    by_key = {(row[0], row[3]): row for row in rows}
    for report in reports:
        for measure in MEASURES:  # named as tsqr.metrics and the files name them (RR, not MRR)
            domain, retriever, queries, _, raw, reasoned, delta = by_key[(report.domain, measure)]
            assert queries == 4 and retriever == "bm25"
            assert raw == round(100 * report.raw.mean[measure], 1)
            assert reasoned == round(100 * report.reasoned.mean[measure], 1)
            assert delta == pytest.approx(reasoned - raw, abs=0.11)
    average = by_key[("average", "nDCG@10")]
    assert average[2] == 8
    assert average[4] == pytest.approx((by_key[("helped", "nDCG@10")][4] + by_key[("mixed", "nDCG@10")][4]) / 2,
                                       abs=0.06)


def test_biggest_changes_rank_gains_and_losses_with_their_texts(reports):
    gained, lost = biggest_changes(reports, n=3)
    assert [c.delta for c in gained] == sorted((c.delta for c in gained), reverse=True)
    assert all(c.delta > 0 for c in gained) and all(c.delta < 0 for c in lost)
    assert [c.delta for c in lost] == sorted(c.delta for c in lost)
    assert len(gained) == 3
    worst = lost[0]
    assert worst.domain == "mixed" and worst.query_id in {"mixed-yeast", "mixed-rust"}
    report = reports[1]
    assert worst.query == report.queries[worst.query_id] and worst.reasoning == report.reasonings[worst.query_id]
    assert worst.raw == report.raw.per_query[worst.query_id]["nDCG@10"]


def test_charts_plot_the_reports_numbers(reports):
    bars = domain_bars(reports)
    raw_bar, reasoned_bar = bars.data
    assert list(raw_bar.x) == ["helped", "mixed"]
    assert list(reasoned_bar.y) == [round(100 * r.reasoned.mean["nDCG@10"], 1) for r in reports]

    scatter = query_scatter(reports)
    points = scatter.data[1:]  # the first trace is the no-change diagonal
    assert [trace.name for trace in points] == ["helped", "mixed"]
    assert sum(len(trace.x) for trace in points) == 8
    helped = points[0]
    for query_id, x, y in zip(helped.text, helped.x, helped.y):
        assert x == round(100 * reports[0].raw.per_query[query_id]["nDCG@10"], 1)
        assert y == round(100 * reports[0].reasoned.per_query[query_id]["nDCG@10"], 1)

    histogram = delta_histogram(reports)
    assert len(histogram.data[0].x) == 8 and max(histogram.data[0].x) > 0 > min(histogram.data[0].x)


def test_raw_only_reports_chart_without_a_reasoned_side():
    raw_only = _report("raw", {})
    raw_only.reasoned = None
    assert len(domain_bars([raw_only]).data) == 1
    assert biggest_changes([raw_only]) == ([], [])
    assert summary_table([raw_only])[0][5] is None


def _row(rank: int, doc_id: str, gold: bool) -> ResultRow:
    return ResultRow(rank, doc_id, 1.0 / rank, Snippet("a <mark>match</mark>", 0, 7, ("match",)), gold)


def test_result_columns_mark_gold_documents_and_escape_ids():
    side = SideResults("raw", "q", [_row(1, '<img src=x onerror="alert(1)">', False), _row(2, "gold/doc", True)], 0.5)
    markup = results_html(side, "raw")
    assert "<img" not in markup and "&lt;img" in markup
    assert 'data-doc-id="gold/doc" data-rank="2" data-gold="true"' in markup
    assert markup.count("tsqr-gold") == 1 and "<mark>match</mark>" in markup
    assert "waiting" in results_html(None, "reasoned", "waiting for the model")


def test_scores_and_gold_moves_describe_the_comparison():
    example = Example("q1", "query", ("g1", "g2", "g3"))
    side = SideResults("raw", "query", [], 0.25)
    better = SideResults("reasoned", "text", [], 0.75)
    moves = [GoldMove("g1", 7, 2), GoldMove("g2", None, 4), GoldMove("g3", 3, None)]
    comparison = Comparison("query", example, side, better, moves)
    assert "0.250" in scores_markdown(comparison) and "0.750" in scores_markdown(comparison)
    assert "+0.500" in scores_markdown(comparison)
    table = gold_moves_markdown(comparison)
    assert "| `g1` | 7 | 2 | up 5 |" in table
    assert "| `g2` | not in top 1000 | 4 | entered |" in table
    assert "| `g3` | 3 | not in top 1000 | dropped out |" in table
    typed = Comparison("query", None, side, better, [])
    assert "no gold documents" in scores_markdown(typed) and gold_moves_markdown(typed) == ""


def test_changed_queries_are_listed_with_escaped_reasonings(reports):
    gained, _ = biggest_changes(reports, n=2)
    markup = changes_html(gained, "Gained most")
    assert markup.count("<details") == 2 and gained[0].query_id in markup
    assert "none" in changes_html([], "Lost most")
