"""The "none" reasoner: the reasoning is the query itself, so BM25 searches with the raw query.

It is the baseline every comparison needs, and it lets the app and the evaluation run with no model at all.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

from tsqr.reasoner.base import ProgressCallback, Reasoner, check_queries
from tsqr.records import Reasoning


class NoneReasoner(Reasoner):
    """Returns each query unchanged, instantly; nothing to cache."""

    name = "none"

    def reason(self, queries: Sequence[str], *, on_progress: ProgressCallback | None = None,
               progress: bool = True) -> list[Reasoning]:
        checked = check_queries(queries)
        if on_progress:
            on_progress(len(checked), len(checked))
        return [Reasoning(query=query, text=query, model=self.name, template="none") for query in checked]

    def stream(self, query: str) -> Iterator[str]:
        yield check_queries([query])[0]
