"""The comparison's numbers: p-values are scipy's on the same per-query vectors, Holm's adjustment is statsmodels',
a system identical to the baseline is never marked and one better on every query is, and the tables print the
comparison's own numbers with the marks where the comparison put them."""
from __future__ import annotations

import csv
import random

import pytest
from scipy.stats import ttest_rel, wilcoxon

from conftest import require_reference
from tsqr.compare import AVERAGE, compare, holm, paired_p_value, to_latex, to_markdown, to_terminal, win_tie_loss
from tsqr.compare.cost import SystemCost
from tsqr.compare.tables import csv_rows, write_csv

MEASURE = "nDCG@10"


def _scores(values: dict[str, dict[str, list[float]]]) -> dict:
    """label -> domain -> list of per-query values, as the comparison's nested mapping."""
    return {label: {domain: {f"{domain}-q{i}": {MEASURE: v} for i, v in enumerate(vector)}
                    for domain, vector in by_domain.items()} for label, by_domain in values.items()}


def _vectors(seed: int, n: int) -> tuple[list[float], list[float]]:
    rng = random.Random(seed)
    base = [rng.random() for _ in range(n)]
    return [min(1.0, b + rng.gauss(0.05, 0.2)) for b in base], base


@pytest.mark.parametrize("seed", range(6))
def test_p_values_equal_scipy_on_the_same_vectors(seed):
    system, base = _vectors(seed, 15 + seed)
    assert paired_p_value(system, base, "t") == pytest.approx(float(ttest_rel(system, base).pvalue), rel=1e-12)
    assert paired_p_value(system, base, "wilcoxon") == pytest.approx(float(wilcoxon(system, base).pvalue),
                                                                     rel=1e-12)


def test_degenerate_vectors_have_defined_answers():
    assert paired_p_value([0.3, 0.5], [0.3, 0.5], "t") == 1.0          # scipy says NaN: nothing differs
    assert paired_p_value([0.3, 0.5], [0.3, 0.5], "wilcoxon") == 1.0
    assert paired_p_value([0.9], [0.1], "t") is None                    # one query: untestable
    assert paired_p_value([0.9, 0.8], [0.1, 0.2], "none") is None
    with pytest.raises(ValueError, match="one value per query"):
        paired_p_value([0.1, 0.2], [0.1], "t")
    with pytest.raises(ValueError, match="unknown test"):
        paired_p_value([0.1, 0.2], [0.1, 0.3], "z")


@pytest.mark.parametrize("p_values", [[0.01, 0.04, 0.03, 0.005], [0.5, 0.2, 0.01], [0.02], [0.04, 0.04, 0.04],
                                      [0.001, 0.3, 0.012, 0.9, 0.049, 0.02]])
def test_holm_equals_statsmodels(p_values):
    multipletests = require_reference("statsmodels.stats.multitest", "statsmodels (Holm's reference)").multipletests
    expected = multipletests(p_values, alpha=0.05, method="holm")[1]
    assert holm(p_values) == pytest.approx(list(expected), rel=1e-12)


def test_holm_leaves_untestable_entries_out_of_the_family():
    multipletests = require_reference("statsmodels.stats.multitest", "statsmodels (Holm's reference)").multipletests
    expected = list(multipletests([0.01, 0.03], method="holm")[1])
    assert holm([0.01, None, 0.03]) == [pytest.approx(expected[0]), None, pytest.approx(expected[1])]


def test_win_tie_loss_counts_queries():
    assert tuple(win_tie_loss([0.5, 0.2, 0.3, 0.1], [0.4, 0.2, 0.6, 0.1])) == (1, 2, 1)


def _hand_made() -> dict:
    rng = random.Random(7)
    base = {"bio": [rng.random() * 0.5 for _ in range(12)], "econ": [rng.random() * 0.5 for _ in range(10)]}
    return _scores({
        "raw": base,
        "same": {d: list(v) for d, v in base.items()},                             # identical to the baseline
        "better": {d: [x + 0.2 + 0.01 * i for i, x in enumerate(v)] for d, v in base.items()},  # above on every query
        "worse": {d: [x * 0.2 for x in v] for d, v in base.items()},
    })


def test_identical_system_is_never_marked_and_a_better_one_is():
    scores = _hand_made()
    for test in ("t", "wilcoxon"):
        table = compare(scores, "raw", [MEASURE], test=test)[0]
        assert table.columns == ("bio", "econ", AVERAGE)
        for column in table.columns:
            assert not table.cell("same", column).significant
            assert table.cell("better", column).direction == 1
            assert table.cell("worse", column).direction == -1
            assert table.cell("raw", column).p_value is None
        assert tuple(table.record["better"]) == (22, 0, 0)
        assert tuple(table.record["same"]) == (0, 22, 0)


def test_cells_hold_scipy_p_values_holm_adjusted_across_the_systems():
    multipletests = require_reference("statsmodels.stats.multitest", "statsmodels (Holm's reference)").multipletests
    scores = _hand_made()
    table = compare(scores, "raw", [MEASURE], test="t")[0]
    others = ["same", "better", "worse"]
    for column in table.columns:
        domains = table.domains if column == AVERAGE else (column,)

        def pooled(label):
            return [scores[label][d][q][MEASURE] for d in domains for q in scores["raw"][d]]

        raw_p = [1.0 if pooled(s) == pooled("raw") else float(ttest_rel(pooled(s), pooled("raw")).pvalue)
                 for s in others]
        adjusted = multipletests(raw_p, method="holm")[1]
        for label, p_value, p_holm in zip(others, raw_p, adjusted):
            assert table.cell(label, column).p_value == pytest.approx(p_value, rel=1e-12)
            assert table.cell(label, column).adjusted == pytest.approx(p_holm, rel=1e-12)


def test_average_is_the_mean_of_domain_means():
    table = compare(_hand_made(), "raw", [MEASURE])[0]
    for label in table.systems:
        domain_means = [table.cell(label, d).mean for d in table.domains]
        assert table.cell(label, AVERAGE).mean == pytest.approx(sum(domain_means) / 2)


def test_no_test_marks_nothing():
    table = compare(_hand_made(), "raw", [MEASURE], test="none")[0]
    assert not any(table.cell(s, c).significant for s in table.systems for c in table.columns)


def test_bad_inputs_fail_clearly():
    scores = _hand_made()
    with pytest.raises(ValueError, match="baseline 'nope'"):
        compare(scores, "nope", [MEASURE])
    with pytest.raises(ValueError, match="alpha"):
        compare(scores, "raw", [MEASURE], alpha=1.5)
    scores["same"]["bio"] = dict(list(scores["same"]["bio"].items())[:-1])
    with pytest.raises(ValueError, match="different queries"):
        compare(scores, "raw", [MEASURE])


def test_renderers_print_the_same_cells_and_marks(tmp_path):
    tables = compare(_hand_made(), "raw", [MEASURE])
    costs = {"raw": SystemCost.free(), "same": None, "better": SystemCost(22, 2200, 11.0, "cpu"),
             "worse": SystemCost(22, 440, 2.2, "cpu")}
    better_bio = f"{100 * tables[0].cell('better', 'bio').mean:.1f}"
    worse_bio = f"{100 * tables[0].cell('worse', 'bio').mean:.1f}"
    markdown = to_markdown(tables, costs, price_per_mtok=2.0)
    assert f"| better | {better_bio}↑ |" in markdown
    assert f"| worse | {worse_bio}↓ |" in markdown
    assert "| same | " in markdown and "↑" not in markdown.split("| same |")[1].split("\n")[0]
    assert "| 100 | 0.50 | 0.000200 | cpu |" in markdown                     # 2200 tokens / 22 queries
    assert f"{better_bio}$^{{\\uparrow}}$" in to_latex(tables, costs)
    terminal = to_terminal(tables, costs)
    assert f"{better_bio}↑" in terminal and "baseline" in terminal
    path = write_csv(tables, tmp_path / "table.csv")
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(csv_rows(tables)) == 4 * 3
    better = next(r for r in rows if r["system"] == "better" and r["column"] == "bio")
    assert float(better["p_holm"]) == pytest.approx(tables[0].cell("better", "bio").adjusted)
    assert better["significant"] == "True" and better["wins"] == "22"


def test_latex_and_markdown_escape_labels():
    scores = _hand_made()
    scores["a_b & 50%|x"] = scores.pop("worse")
    tables = compare(scores, "raw", [MEASURE])
    assert r"a\_b \& 50\%|x" in to_latex(tables)
    assert r"| a_b & 50%\|x |" in to_markdown(tables)
