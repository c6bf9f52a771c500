"""The app's words for tsqr's choice lists. The lists themselves are owned where they mean something
(tsqr.bm25.SCORINGS, tsqr.evaluate.COMPOSITIONS); this only labels them, so a new choice there shows up here
(and a missing label fails at import, not in front of a user)."""
from __future__ import annotations

from tsqr.bm25 import SCORINGS
from tsqr.evaluate import COMPOSITIONS

SCORING_LABELS = {"bright": "BRIGHT BM25 (official)", "classic": "classic Lucene BM25",
                  "rank_bm25": "rank_bm25's BM25Okapi (slow on large corpora)"}
COMPOSITION_LABELS = {"replace": "the reasoning alone (the paper)", "concat": "query + reasoning (query2doc)",
                      "fuse": "raw and reasoning runs fused (RRF)"}


def _labelled(values: tuple[str, ...], labels: dict[str, str]) -> list[tuple[str, str]]:
    missing = [value for value in values if value not in labels]
    if missing:
        raise KeyError(f"no label for {', '.join(missing)}")
    return [(labels[value], value) for value in values]


SCORING_CHOICES = _labelled(SCORINGS, SCORING_LABELS)
COMPOSITION_CHOICES = _labelled(COMPOSITIONS, COMPOSITION_LABELS)
