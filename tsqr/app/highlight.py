"""Snippets of retrieved documents with the query's matched terms highlighted, for the app's result columns.

Usage:
    terms = query_terms("Why do cats purr?", analyzer)           # {'why', 'do', 'cat', 'purr'}
    snippet = make_snippet(document.content, terms, analyzer)     # snippet.html has <mark>purring</mark> ...

A word is highlighted when tsqr.bm25.analysis turns it into one of the query's index terms, i.e. exactly when BM25
counted it: "purring" lights up for the query word "purrs" (both stem to "purr"), while "the" never does (a stop
word has no term). Highlighting by plain string equality would mark words BM25 ignored and miss the stems it
matched, which would misexplain the ranking the user is looking at.
"""
from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tsqr.bm25.analysis import Analyzer, TermSpan

DEFAULT_WIDTH = 320  # characters of document shown per result
ELLIPSIS = "\u2026"


@dataclass(frozen=True)
class Snippet:
    """A window of a document, as escaped HTML with matched words in <mark>, and the terms it matched."""

    html: str
    start: int
    end: int
    matched_terms: tuple[str, ...]


def query_terms(query: str, analyzer: Analyzer) -> frozenset[str]:
    """The index terms BM25 looks up for `query` (stop words gone, words stemmed)."""
    return frozenset(analyzer(query))


def best_window(spans: Sequence[TermSpan], text_length: int, width: int) -> tuple[int, int]:
    """The `width`-character window holding the most distinct matched terms (then the most matches, then the
    earliest); the document's start when nothing matched."""
    if not spans:
        return 0, min(text_length, width)
    best = (0, 0, 0)  # (distinct terms, matches, -start) of the best window so far
    best_start = spans[0].start
    first = 0
    for last in range(len(spans)):
        while spans[last].end - spans[first].start > width:
            first += 1
        window = spans[first:last + 1]
        score = (len({span.term for span in window}), len(window), -window[0].start)
        if score > best:
            best, best_start = score, window[0].start
    # Centre the matches: start a little before the first one so it is read in context.
    start = max(0, min(best_start - width // 6, text_length - width))
    return start, min(text_length, start + width)


def _snap_to_words(text: str, start: int, end: int, slack: int = 30) -> tuple[int, int]:
    """Move a window's edges outwards to whitespace (at most `slack` characters) so no word is cut in half."""
    lowest = max(0, start - slack)
    while start > lowest and not text[start - 1].isspace():
        start -= 1
    highest = min(len(text), end + slack)
    while end < highest and not text[end].isspace():
        end += 1
    return start, end


def render(text: str, start: int, end: int, spans: Iterable[TermSpan]) -> str:
    """Escaped HTML of text[start:end] with each span inside it wrapped in <mark>; ellipses mark cut edges."""
    pieces = [ELLIPSIS] if start > 0 else []
    position = start
    for span in spans:
        if span.start < start or span.end > end:
            continue
        pieces.append(html.escape(text[position:span.start], quote=False))
        pieces.append(f"<mark>{html.escape(text[span.start:span.end], quote=False)}</mark>")
        position = span.end
    pieces.append(html.escape(text[position:end], quote=False))
    if end < len(text):
        pieces.append(ELLIPSIS)
    return "".join(pieces)


def make_snippet(text: str, terms: frozenset[str], analyzer: Analyzer, width: int = DEFAULT_WIDTH) -> Snippet:
    """The most query-dense window of `text`, whitespace collapsed, with the words matching `terms` marked."""
    if width <= 0:
        raise ValueError(f"snippet width must be positive, got {width}")
    flat = " ".join(text.split())
    matches = [span for span in analyzer.spans(flat) if span.term in terms]
    start, end = best_window(matches, len(flat), width)
    start, end = _snap_to_words(flat, start, end)
    shown = [span for span in matches if span.start >= start and span.end <= end]
    matched = tuple(dict.fromkeys(span.term for span in shown))
    return Snippet(render(flat, start, end, shown), start, end, matched)
