"""Many systems compared with a baseline: paired tests, Holm's correction, tables as papers print them, and the
cost-quality frontier.

Usage:
    from tsqr.compare import compare, to_markdown
    tables = compare(scores, baseline="raw", measures=["nDCG@10"])   # scores: label -> domain -> query -> measure
    print(to_markdown(tables))

Modules, one job each: `stats` (the tests, Holm, win/tie/loss), `comparison` (systems x domains -> MeasureTable),
`cost` (reasoning cost per query), `tables` (Markdown, LaTeX, CSV, terminal), `frontier` (the cost-quality chart;
plotly deferred).
"""
from tsqr.compare.comparison import AVERAGE, Cell, MeasureTable, compare
from tsqr.compare.cost import SystemCost
from tsqr.compare.stats import CORRECTION, DEFAULT_ALPHA, TESTS, WinTieLoss, holm, paired_p_value, win_tie_loss
from tsqr.compare.tables import to_latex, to_markdown, to_terminal, write_csv

__all__ = [
    "AVERAGE", "CORRECTION", "Cell", "DEFAULT_ALPHA", "MeasureTable", "SystemCost", "TESTS", "WinTieLoss", "compare",
    "holm", "paired_p_value", "to_latex", "to_markdown", "to_terminal", "win_tie_loss", "write_csv",
]
