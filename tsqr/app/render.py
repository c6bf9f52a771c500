"""HTML and Markdown the app shows: result columns, gold-document movements, score lines, changed queries.

Usage:
    results_html(comparison.raw, "Raw query")  ->  '<div class="tsqr-results" ...>'
    gold_moves_markdown(comparison)            ->  a table of each gold document's raw and reasoned rank

Kept apart from app.py so the markup is unit-tested, and escaped in one place: document text, ids and
reasonings come from user uploads and model output, never trusted as HTML. Ids are cut to SHOWN_ID_CHARS for
display (an uploaded id may be megabytes long, and every search would send it back per column). Elements carry
data-* attributes (doc id, rank, gold) so the browser and API tests read results without parsing the visible text.
"""
from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tsqr.reasoner import CacheRow

if TYPE_CHECKING:
    from tsqr.app.charts import QueryChange
    from tsqr.app.search import Comparison, SideResults

CSS = """
.tsqr-results { display: flex; flex-direction: column; gap: 6px; }
.tsqr-hit { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 6px 10px; }
.tsqr-hit.gold { border-color: #e0a800; background: rgba(255, 193, 7, 0.08); }
.tsqr-head { display: flex; gap: 10px; align-items: baseline; font-size: 0.9em; }
.tsqr-rank { font-weight: 700; min-width: 2em; }
.tsqr-id { font-family: var(--font-mono); overflow-wrap: anywhere; }
.tsqr-score { margin-left: auto; color: var(--body-text-color-subdued); }
.tsqr-gold { color: #b8860b; font-weight: 700; }
.tsqr-snippet { font-size: 0.88em; margin-top: 3px; }
.tsqr-snippet mark { background: #fff3a3; color: inherit; padding: 0 1px; border-radius: 2px; }
.tsqr-empty { color: var(--body-text-color-subdued); font-style: italic; }
"""
SHOWN_ID_CHARS = 200  # longest document or query id shown (data-* attributes included)


def shown_id(identifier: str) -> str:
    """An id as the page shows it: whole up to SHOWN_ID_CHARS, else its start and an ellipsis (not escaped)."""
    return identifier if len(identifier) <= SHOWN_ID_CHARS else identifier[: SHOWN_ID_CHARS - 1] + "\u2026"


def _hit_html(row) -> str:
    doc_id = shown_id(row.doc_id)
    gold = ' <span class="tsqr-gold" title="gold document">&#9733; gold</span>' if row.gold else ""
    return (f'<div class="tsqr-hit{" gold" if row.gold else ""}" data-doc-id="{html.escape(doc_id, quote=True)}" '
            f'data-rank="{row.rank}" data-gold="{str(row.gold).lower()}">'
            f'<div class="tsqr-head"><span class="tsqr-rank">#{row.rank}</span>'
            f'<span class="tsqr-id">{html.escape(doc_id)}</span>{gold}'
            f'<span class="tsqr-score">{row.score:.3f}</span></div>'
            f'<div class="tsqr-snippet">{row.snippet.html}</div></div>')


def results_html(side: "SideResults | None", side_name: str, waiting: str = "") -> str:
    """One result column; `waiting` is shown while the side has no results yet (e.g. reasoning in progress)."""
    if side is None:
        return f'<div class="tsqr-results" data-side="{side_name}"><p class="tsqr-empty">{html.escape(waiting)}</p></div>'
    if not side.rows:
        return f'<div class="tsqr-results" data-side="{side_name}"><p class="tsqr-empty">no documents</p></div>'
    hits = "".join(_hit_html(row) for row in side.rows)
    return f'<div class="tsqr-results" data-side="{side_name}">{hits}</div>'


def _score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def scores_markdown(comparison: "Comparison") -> str:
    """The nDCG@10 of each side for a dataset query, or a note saying why there is none."""
    if comparison.example is None:
        return "_Typed query: no gold documents, so no nDCG@10. Pick an example query to see scores._"
    if not comparison.example.gold_ids:
        return f"_Query `{comparison.example.id}` has no gold documents, so no nDCG@10._"
    line = f"**Query `{comparison.example.id}`**: nDCG@10 raw **{_score(comparison.raw.ndcg)}**"
    if comparison.reasoned is not None:
        raw, reasoned = comparison.raw.ndcg or 0.0, comparison.reasoned.ndcg or 0.0
        line += f" &rarr; reasoned **{_score(comparison.reasoned.ndcg)}** ({reasoned - raw:+.3f})"
        if reasoned < raw:
            line += ": **the reasoning made this query worse**"
    return line


def cost_markdown(row: CacheRow | None, generated: bool, hardware: str, retriever: str, search_seconds: float,
                  *, released: str = "", reveal_cache: bool = True) -> str:
    """What this search cost: the reasoning's new tokens and seconds (as its cache row recorded them) and the
    retriever's time, named (BM25, dense, hybrid), so a user sees that reasoning is the whole cost and what it
    would be on this hardware; a reasoning that used every allowed token says it was cut there.

    With `reveal_cache` False (public mode) a reasoning from the shared cache gets the line its generation got:
    saying "from the reasoning cache" would tell a visitor that someone else asked the same query."""
    search = f"{retriever} {1000 * search_seconds:.1f} ms"
    if released:
        return f"_Cost: no generation ({released}); {search}._"
    if row is None:
        return f"_Cost: no generation; {search}._"
    rate = row.new_tokens / row.seconds if row.seconds > 0 else 0.0
    spent = f"{row.new_tokens} tokens in {row.seconds:.1f} s ({rate:.1f} tokens/s)"
    cut = (f"\n\n**Cut at the token limit**: the reasoning stopped at {row.new_tokens} tokens, the most allowed; "
           "raise Max new tokens to read (and search with) the rest." if row.reached_token_limit else "")
    if generated or not reveal_cache:
        return f"_Cost: {spent} on {hardware}; {search}._{cut}"
    return f"_Cost: from the reasoning cache (written as {spent}); {search}._{cut}"


def _rank(rank: int | None) -> str:
    return "not in top 1000" if rank is None else str(rank)


def _movement(move) -> str:
    if move.improvement is None:
        return "entered" if move.raw_rank is None and move.reasoned_rank is not None else (
            "dropped out" if move.reasoned_rank is None and move.raw_rank is not None else "not retrieved")
    if move.improvement == 0:
        return "same rank"
    return f"{'up' if move.improvement > 0 else 'down'} {abs(move.improvement)}"


def gold_moves_markdown(comparison: "Comparison") -> str:
    """A table of each gold document's rank with the raw and the reasoned query."""
    if not comparison.gold_moves:
        return ""
    lines = ["| gold document | raw rank | reasoned rank | change |", "|---|---|---|---|"]
    for move in comparison.gold_moves:
        doc_id = shown_id(move.doc_id).replace("|", "\\|")
        lines.append(f"| `{doc_id}` | {_rank(move.raw_rank)} | {_rank(move.reasoned_rank)} | {_movement(move)} |")
    return "\n".join(lines)


def clip_words(text: str, limit: int) -> str:
    """`text` on one line, cut to at most `limit` characters at a word boundary (a word longer than the limit is
    cut inside), with an ellipsis when anything was cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    kept = text[: limit - 1]
    if text[limit - 1] != " " and " " in kept:
        kept = kept[: kept.rindex(" ")]
    return kept.rstrip(" ,;:.") + "\u2026"


def error_markdown(message: str) -> str:
    """An error for the page: one line as it is, several (a file's problems) as a list, one per line."""
    lines = [line for line in message.splitlines() if line.strip()] or ["unknown error"]
    if len(lines) == 1:
        return f"**Error**: {lines[0]}"
    return "**Error**:\n" + "\n".join(f"- {line}" for line in lines)


def changes_html(changes: Sequence["QueryChange"], title: str, measure: str = "nDCG@10") -> str:
    """The queries that moved most, each with its reasoning, as collapsible entries."""
    if not changes:
        return f"<p><b>{html.escape(title)}</b>: none</p>"
    items = []
    for change in changes:
        query_id = shown_id(change.query_id)
        summary = (f"{html.escape(change.domain)} / <code>{html.escape(query_id)}</code>: "
                   f"{measure} {change.raw:.3f} &rarr; {change.reasoned:.3f} ({change.delta:+.3f})")
        items.append(f'<details data-query-id="{html.escape(query_id, quote=True)}"><summary>{summary}</summary>'
                     f"<p><b>Query</b>: {html.escape(clip_words(change.query, 600))}</p>"
                     f"<p><b>Reasoning</b>: {html.escape(clip_words(change.reasoning, 1200))}</p></details>")
    return f"<p><b>{html.escape(title)}</b></p>" + "".join(items)
