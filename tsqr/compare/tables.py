"""The comparison as papers print it: systems as rows, domains then the average as columns, one table per
measure, a mark on every cell that differs significantly from the baseline; rendered for Markdown, LaTeX, CSV
and the terminal from one grid, so the four cannot disagree.

Usage:
    print(to_terminal(tables, costs))                      # tables: tsqr.compare.compare(...); costs: label -> cost
    Path("table.md").write_text(to_markdown(tables, costs, price_per_mtok=0.6))
    Path("table.tex").write_text(to_latex(tables, costs))
    write_csv(tables, Path("table.csv"))                   # long form: every mean, p-value and adjusted p-value

Scores are printed x100 with one decimal, as the paper and BRIGHT print them; ↑ marks a cell significantly above
the baseline, ↓ one below. The cost columns are per query: new tokens, seconds (and money when priced).
"""
from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from tsqr.compare.comparison import MeasureTable
from tsqr.compare.cost import SystemCost

MARKS = {1: "↑", -1: "↓"}
LATEX_MARKS = {1: r"$^{\uparrow}$", -1: r"$^{\downarrow}$"}
TEST_NAMES = {"t": "two-sided paired t-test", "wilcoxon": "two-sided Wilcoxon signed-rank test"}
Costs = Mapping[str, SystemCost | None]


class Entry(NamedTuple):
    """One printed cell: its text and its significance direction (+1, -1, 0)."""

    text: str
    direction: int = 0


def _cost_header(price_per_mtok: float | None) -> list[str]:
    return ["tokens/q", "s/q", *(["price/q"] if price_per_mtok is not None else []), "hardware"]


def _cost_entries(cost: SystemCost | None, price_per_mtok: float | None) -> list[Entry]:
    if cost is None:
        return [Entry("?"), Entry("?"), *([Entry("?")] if price_per_mtok is not None else []), Entry("")]
    price = cost.price_per_query(price_per_mtok)
    return [Entry(f"{cost.tokens_per_query:.0f}"), Entry(f"{cost.seconds_per_query:.2f}"),
            *([Entry(f"{price:.6f}")] if price is not None else []), Entry(cost.hardware)]


def grid(table: MeasureTable, costs: Costs | None = None,
         price_per_mtok: float | None = None) -> tuple[list[str], list[list[Entry]]]:
    """The header and the rows every renderer prints; cost columns only when `costs` is given."""
    header = ["system", *table.columns, "W/T/L"] + (_cost_header(price_per_mtok) if costs is not None else [])
    rows = []
    for system in table.systems:
        row = [Entry(system)]
        for column in table.columns:
            cell = table.cell(system, column)
            row.append(Entry(f"{100 * cell.mean:.1f}", cell.direction))
        record = table.record.get(system)
        row.append(Entry("baseline" if system == table.baseline else str(record)))
        if costs is not None:
            row += _cost_entries(costs.get(system), price_per_mtok)
        rows.append(row)
    return header, rows


def legend(table: MeasureTable) -> str:
    """What the marks mean, in one sentence under each table."""
    if table.test == "none":
        return f"{table.measure} x100; no significance test was run. W/T/L: queries won/tied/lost against " \
               f"{table.baseline}."
    family = len(table.systems) - 1
    return (f"{table.measure} x100. ↑/↓: significantly above/below {table.baseline} at alpha {table.alpha:g} "
            f"({TEST_NAMES[table.test]} over the queries of each domain; the average over all queries pooled), "
            f"Holm-corrected across the {family} system(s) compared with it. W/T/L: queries won/tied/lost.")


def to_markdown(tables: Sequence[MeasureTable], costs: Costs | None = None,
                price_per_mtok: float | None = None) -> str:
    parts = []
    for table in tables:
        header, rows = grid(table, costs, price_per_mtok)
        lines = [f"### {table.measure}", "", "| " + " | ".join(_md(h) for h in header) + " |",
                 "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
        for row in rows:
            lines.append("| " + " | ".join(_md(e.text) + MARKS.get(e.direction, "") for e in row) + " |")
        parts.append("\n".join(lines + ["", legend(table)]))
    return "\n\n".join(parts) + "\n"


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _tex(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text.replace("\n", " "))


def to_latex(tables: Sequence[MeasureTable], costs: Costs | None = None,
             price_per_mtok: float | None = None) -> str:
    """One `table` environment per measure (booktabs rules), the legend as its caption."""
    parts = []
    for table in tables:
        header, rows = grid(table, costs, price_per_mtok)
        lines = [r"\begin{table}[t]", r"\centering", r"\begin{tabular}{l" + "r" * (len(header) - 1) + "}",
                 r"\toprule", " & ".join(_tex(h) for h in header) + r" \\", r"\midrule"]
        for row in rows:
            lines.append(" & ".join(_tex(e.text) + LATEX_MARKS.get(e.direction, "") for e in row) + r" \\")
        caption = _tex(legend(table)).replace("↑/↓", r"$\uparrow$/$\downarrow$")
        lines += [r"\bottomrule", r"\end{tabular}", rf"\caption{{{caption}}}", r"\end{table}"]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def to_terminal(tables: Sequence[MeasureTable], costs: Costs | None = None,
                price_per_mtok: float | None = None) -> str:
    """Fixed-width tables with the same marks, each followed by its legend."""
    parts = []
    for table in tables:
        header, rows = grid(table, costs, price_per_mtok)
        texts = [header] + [[e.text + MARKS.get(e.direction, "") for e in row] for row in rows]
        widths = [max(len(line[i]) for line in texts) for i in range(len(header))]
        lines = [table.measure]
        for line in texts:
            lines.append("  ".join(text.ljust(widths[0]) if i == 0 else text.rjust(widths[i])
                                   for i, text in enumerate(line)).rstrip())
        parts.append("\n".join(lines + [legend(table)]))
    return "\n\n".join(parts)


CSV_HEADER = ["measure", "system", "column", "mean", "queries", "delta", "p_value", "p_holm", "significant",
              "test", "alpha", "wins", "ties", "losses"]


def csv_rows(tables: Sequence[MeasureTable]) -> list[list]:
    """The long form: one row per measure, system and column, with the unrounded numbers behind each mark."""
    rows = []
    for table in tables:
        for system in table.systems:
            record = table.record.get(system)
            for column in table.columns:
                cell = table.cell(system, column)
                rows.append([table.measure, system, column, cell.mean, cell.queries, cell.delta, cell.p_value,
                             cell.adjusted, cell.significant, table.test, table.alpha,
                             *(record if record is not None else ("", "", ""))])
    return rows


def write_csv(tables: Sequence[MeasureTable], path: Path) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_HEADER)
        writer.writerows(csv_rows(tables))
    return path
