"""BRIGHT's BM25, exactly, at sparse-matrix speed: the analyzer, the index, its counts and its saved form.

Usage:
    from tsqr.bm25 import load_or_build
    index = load_or_build(documents)                     # analysed and indexed once, then loaded from disk
    hits = index.search("why do cats purr", k=10, exclude=["doc-3"])

Modules, each readable alone: `tokenizer` (Lucene's StandardTokenizer), `analysis` (EnglishAnalyzer on it),
`counts` (term statistics as gensim's Dictionary keeps them), `index` (Index: build, search, save, load;
the scorings), `store` (the on-disk format and the corpus key).
"""
from tsqr.bm25.analysis import Analyzer
from tsqr.bm25.index import (
    DEFAULT_B,
    DEFAULT_K1,
    SCORINGS,
    Index,
    Positions,
    default_analyzer,
    load_or_build,
    rank_indices,
)

__all__ = ["Analyzer", "DEFAULT_B", "DEFAULT_K1", "Index", "Positions", "SCORINGS", "default_analyzer",
           "load_or_build", "rank_indices"]
