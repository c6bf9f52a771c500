"""What every retriever offers the evaluation, and the one search loop BM25, dense and hybrid retrieval share.

A retriever ranks a fixed corpus for a text: `search(text, k, exclude)` returns the k best `Hit`s, best first,
never an excluded id (exclusion happens before the cut, so k results come back when the corpus allows), ties in
corpus order; `search_many` does the same for many texts, with one exclusion list per text. Each kind is built
with everything that decides its ranking (BM25 its scoring, dense its model, hybrid both and the fusion), so a
caller searches every kind alike.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from tsqr.bm25 import Positions, rank_indices
from tsqr.records import Hit

QUERY_BLOCK = 256  # texts scored together: bounds the (block x corpus) score matrix in memory


@runtime_checkable
class Retriever(Protocol):
    """The search interface shared by BM25, dense and hybrid retrieval."""

    doc_ids: list[str]
    scoring: str | None  # the BM25 scoring it ranks with; None where BM25 plays no part (dense)

    def search(self, text: str, k: int = 1000, exclude: Iterable[str] = ()) -> list[Hit]: ...

    def search_many(self, texts: Sequence[str], k: int = 1000, excludes: Sequence[Iterable[str]] | None = None,
                    progress: bool = True) -> list[list[Hit]]: ...


def check_batch(texts: Sequence[str], k: int, excludes: Sequence[Iterable[str]] | None) -> None:
    """Refuse what `search_many` cannot answer, naming the argument."""
    if isinstance(texts, str):
        raise TypeError("search_many() takes a sequence of texts; use search() for one")
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k <= 0:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if excludes is not None and len(excludes) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(excludes)} exclusion lists")
    for position, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{position}] is {type(text).__name__}, not str")


class ScoringRetriever(ABC):
    """A retriever that scores every document for a text, then ranks: the search loop every kind shares.

    A kind says how a block of texts is scored (`score_block`) and, when the final score of a text depends on
    its exclusions (a hybrid's rank fusion), how (`final_scores`); `block` texts are scored at a time.
    """

    label = "search"  # the progress bar's name
    block = QUERY_BLOCK
    scoring: str | None = None

    def __init__(self, doc_ids: Sequence[str]) -> None:
        self.doc_ids: list[str] = list(doc_ids)
        self._positions = Positions(self.doc_ids)

    @abstractmethod
    def score_block(self, texts: Sequence[str]) -> Sequence[np.ndarray]:
        """One score per document (in `doc_ids` order) for each text."""

    def final_scores(self, text: str, scores: np.ndarray, excluded: np.ndarray) -> np.ndarray:
        """The scores a text is ranked by, given its row of `score_block` and its excluded positions."""
        return scores

    def search(self, text: str, k: int = 1000, exclude: Iterable[str] = ()) -> list[Hit]:
        """The k best documents for `text`, best first, never one of `exclude` (unknown ids ignored)."""
        return self.search_many([text], k, [exclude], progress=False)[0]

    def search_many(self, texts: Sequence[str], k: int = 1000, excludes: Sequence[Iterable[str]] | None = None,
                    progress: bool = True) -> list[list[Hit]]:
        """`search` for each text, scored `block` texts at a time; `excludes[i]` applies to `texts[i]`."""
        from tqdm.auto import tqdm

        check_batch(texts, k, excludes)
        results: list[list[Hit]] = []
        with tqdm(total=len(texts), desc=self.label, unit="query", disable=not progress) as bar:
            for start in range(0, len(texts), self.block):
                rows = self.score_block(texts[start:start + self.block])
                for position, row in enumerate(rows, start=start):
                    excluded = self._positions.excluded(excludes[position] if excludes is not None else ())
                    scores = self.final_scores(texts[position], row, excluded)
                    order = rank_indices(scores, k, excluded)
                    results.append([Hit(self.doc_ids[i], score)
                                    for i, score in zip(order.tolist(), scores[order].tolist())])
                bar.update(len(rows))
        return results
