"""Snippet highlighting marks exactly the words BM25 matched: analyzed-term equality, not string equality."""
from __future__ import annotations

import re

import pytest

from tsqr.bm25.analysis import Analyzer
from tsqr.app.highlight import best_window, make_snippet, query_terms

ANALYZER = Analyzer()


def marked(snippet_html: str) -> list[str]:
    return re.findall(r"<mark>(.*?)</mark>", snippet_html)


def test_stems_match_across_word_forms_and_case():
    terms = query_terms("Why do runs train you?", ANALYZER)
    snippet = make_snippet("Running daily helps. A runner trains; Trained athletes RUN far.", terms, ANALYZER)
    # Porter stems "runner" to "runner", not "run": BM25 does not match it, so neither does the highlight.
    assert marked(snippet.html) == ["Running", "trains", "Trained", "RUN"]
    assert snippet.matched_terms == ("run", "train")


def test_stop_words_and_unrelated_words_are_never_marked():
    terms = query_terms("the cat is on the mat", ANALYZER)
    assert "the" not in terms and "is" not in terms
    snippet = make_snippet("The dog is on the mat, not the cat.", terms, ANALYZER)
    assert marked(snippet.html) == ["mat", "cat"]


def test_possessives_match_their_noun():
    snippet = make_snippet("The dog's bowl was empty.", query_terms("dogs", ANALYZER), ANALYZER)
    assert marked(snippet.html) == ["dog's"]


def test_document_text_is_escaped_even_inside_marks():
    terms = query_terms("script alert", ANALYZER)
    snippet = make_snippet('<script>alert("x")</script> & more', terms, ANALYZER)
    assert "<script>" not in snippet.html
    assert "&lt;<mark>script</mark>&gt;<mark>alert</mark>(\"x\")" in snippet.html
    assert "&amp; more" in snippet.html


def test_the_window_goes_where_the_query_terms_are():
    filler = "Nothing relevant is written in this sentence. " * 30
    text = filler + "Photosynthesis in chloroplasts converts light. " + filler
    snippet = make_snippet(text, query_terms("chloroplast photosynthesis light", ANALYZER), ANALYZER, width=120)
    assert marked(snippet.html) == ["Photosynthesis", "chloroplasts", "light"]
    assert snippet.html.startswith("\u2026") and snippet.html.endswith("\u2026")
    assert snippet.end - snippet.start <= 120 + 2 * 30  # the width, widened at most to the nearest spaces


def test_without_matches_the_document_start_is_shown_unmarked():
    snippet = make_snippet("Alpha beta gamma. " * 50, query_terms("zebra", ANALYZER), ANALYZER, width=40)
    assert snippet.start == 0 and "<mark>" not in snippet.html and snippet.matched_terms == ()
    assert snippet.html.endswith("\u2026")


def test_whitespace_is_collapsed_so_snippets_stay_one_paragraph():
    snippet = make_snippet("first line\n\n\tsecond   line", query_terms("second", ANALYZER), ANALYZER)
    assert snippet.html == "first line <mark>second</mark> line"


def test_spans_are_the_analyzers_tokens_with_their_terms():
    text = "The Lakers' 2019 season: U.S.-based fans cheered; e-mail me at x@y.org!"
    spans = ANALYZER.spans(text)
    assert [span.term for span in spans] == ANALYZER(text)
    for span in spans:
        assert ANALYZER(text[span.start:span.end])[0] == span.term


def test_densest_window_prefers_more_distinct_terms():
    text = "cat cat cat cat " + "x " * 100 + "cat dog bird"
    spans = [s for s in ANALYZER.spans(text) if s.term in {"cat", "dog", "bird"}]
    start, end = best_window(spans, len(text), width=20)
    assert "cat dog bird" in text[start:end]


def test_width_must_be_positive():
    with pytest.raises(ValueError, match="width"):
        make_snippet("text", frozenset(), ANALYZER, width=0)
