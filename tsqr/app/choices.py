"""The app's words for tsqr's choice lists. The lists themselves are owned where they mean something
(tsqr.bm25.SCORINGS, tsqr.composition.COMPOSITIONS); this only labels them, so a new choice there shows up here
(and a missing label fails at import, not in front of a user)."""
from __future__ import annotations

from tsqr.bm25 import SCORINGS
from tsqr.composition import COMPOSITIONS
from tsqr.retrieval import RETRIEVER_KINDS

SCORING_LABELS = {"bright": "BRIGHT BM25 (official)", "classic": "classic Lucene BM25",
                  "rank_bm25": "rank_bm25's BM25Okapi (slow on large corpora)"}
# The app offers each kind with its offline default model (all-MiniLM-L6-v2): a visitor never makes the server
# download another; the CLI takes any model (dense:MODEL).
RETRIEVER_LABELS = {"bm25": "BM25", "dense": "dense (all-MiniLM-L6-v2)", "hybrid": "hybrid: BM25 + dense, RRF"}
COMPOSITION_LABELS = {"replace": "the reasoning alone (the paper)", "concat": "query + reasoning (query2doc)",
                      "fuse": "raw and reasoning runs fused (RRF)"}


def _labelled(values: tuple[str, ...], labels: dict[str, str]) -> list[tuple[str, str]]:
    missing = [value for value in values if value not in labels]
    if missing:
        raise KeyError(f"no label for {', '.join(missing)}")
    return [(labels[value], value) for value in values]


SCORING_CHOICES = _labelled(SCORINGS, SCORING_LABELS)
COMPOSITION_CHOICES = _labelled(COMPOSITIONS, COMPOSITION_LABELS)
RETRIEVER_CHOICES = _labelled(RETRIEVER_KINDS, RETRIEVER_LABELS)


def checked_retriever(value: str) -> str:
    """The retriever a visitor chose, refused on the server unless it is one the app offers."""
    if value not in RETRIEVER_KINDS:
        raise ValueError(f"unknown retriever {value!r}: choose one of {', '.join(RETRIEVER_KINDS)}")
    return value
