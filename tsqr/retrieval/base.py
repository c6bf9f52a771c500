"""What every retriever offers the evaluation (BM25's `tsqr.bm25.Index` already does), and the checks they share.

A retriever ranks a fixed corpus for a text: `search(text, k, exclude)` returns the k best `Hit`s, best first,
never an excluded id (exclusion happens before the cut, so k results come back when the corpus allows), ties in
corpus order; `search_many` does the same for many texts, with one exclusion list per text.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from tsqr.records import Hit


@runtime_checkable
class Retriever(Protocol):
    """The search interface shared by BM25, dense and hybrid retrieval."""

    doc_ids: list[str]

    def search(self, text: str, k: int = 1000, exclude: Iterable[str] = ()) -> list[Hit]: ...

    def search_many(self, texts: Sequence[str], k: int = 1000, excludes: Sequence[Iterable[str]] | None = None,
                    progress: bool = True) -> list[list[Hit]]: ...


class Positions:
    """Document id -> corpus position, for turning exclusion lists into the positions `rank_indices` takes."""

    def __init__(self, doc_ids: Sequence[str]) -> None:
        self._positions = {doc_id: position for position, doc_id in enumerate(doc_ids)}

    def excluded(self, exclude: Iterable[str]) -> np.ndarray:
        """Positions of the known ids in `exclude` (a lone string counts as one id; unknown ids are ignored)."""
        if isinstance(exclude, str):
            exclude = [exclude]
        return np.array([self._positions[d] for d in exclude if d in self._positions], dtype=np.int64)


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
