"""How a reasoning meets the retriever: the composition modes, the composing and the sample combinations, owned here.

Usage:
    text = compose_query(query, reasoning, "concat", repeat=3)            # the query 3 times, then the reasoning
    composed = Composition("fuse", repeat=1, combination="rrf")
    composed.text(query, (r1, r2))                                        # what the reasoned side searches with
    runs = composed.search(retriever, queries, samples, k=1000, excludes=excludes, raw_runs=raw_runs)

The composition (`composition` in code, `--mode` on the command line, "BM25 searches with" in the app):
- replace: the reasoning alone, as TongSearch QR evaluates (an empty reasoning falls back to the query, so a failed
  generation never searches with nothing);
- concat: the query `repeat` times, then the reasoning, as query2doc does to keep the original terms' weight
  against a long expansion;
- fuse: the reasoning alone is searched, and that run is fused with the raw query's run by reciprocal rank.

A query's reasonings are always a tuple of texts, one per sample (a precomputed or a single reasoning is a
1-tuple). Several samples are combined one of two ways, both cheap next to generating them:
- combination="concat" (as MuGI, Zhang et al. 2024, feeds BM25 and dense retrievers): every reasoning joined into
  one text, composed as above. One search per query; a term several samples agree on weighs more.
- combination="rrf": each reasoning composed with the query on its own and searched; the n runs are fused by
  reciprocal rank. A sample that drifts off only costs one run's votes.
Nothing here runs a reasoner: samples come in as text, so cached, precomputed or other systems' rewrites all fit.
Empty reasonings are skipped; a query without any falls back to the query itself.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tsqr.fusion import reciprocal_rank_fusion
from tsqr.records import Hit

if TYPE_CHECKING:
    from tsqr.retrieval.base import Retriever

FUSE = "fuse"
COMPOSITIONS: tuple[str, ...] = ("replace", "concat", FUSE)
SAMPLE_COMBINATIONS = ("concat", "rrf")
Samples = tuple[str, ...]  # a query's reasonings, one per sample


def check_composition(composition: str, repeat: int = 1) -> None:
    """Refuse an unknown composition or a repeat below 1, naming the choices."""
    if composition not in COMPOSITIONS:
        raise ValueError(f"unknown composition {composition!r}; choose one of {', '.join(COMPOSITIONS)}")
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")


def compose_query(query: str, reasoning: str, composition: str = "replace", repeat: int = 1) -> str:
    """The one text the reasoned side searches with (fuse searches the reasoning alone, as replace does)."""
    check_composition(composition, repeat)
    if composition == "concat":
        return " ".join([query] * repeat + ([reasoning] if reasoning.strip() else []))
    return reasoning if reasoning.strip() else query


def _kept(samples: Samples) -> list[str]:
    if isinstance(samples, str):
        raise TypeError("samples must be a tuple of texts, not one string")
    return [text for text in samples if text.strip()]


def compose_samples(query: str, samples: Samples, composition: str = "replace", repeat: int = 1) -> str:
    """One text from n reasonings: the non-empty ones joined, then composed with the query."""
    return compose_query(query, " ".join(_kept(samples)), composition, repeat)


def sample_texts(query: str, samples: Samples, composition: str = "replace", repeat: int = 1) -> list[str]:
    """One search text per non-empty reasoning (just the query when there is none), for combination="rrf"."""
    return [compose_query(query, text, composition, repeat) for text in _kept(samples)] or [query]


@dataclass(frozen=True)
class Composition:
    """How a query's reasonings become the reasoned side's run: the `mode`, the query's `repeat` (concat) and how
    several samples combine (`combination`)."""

    mode: str = "replace"
    repeat: int = 1
    combination: str = "concat"
    rrf_k: float = 60

    def __post_init__(self) -> None:
        check_composition(self.mode, self.repeat)
        if self.combination not in SAMPLE_COMBINATIONS:
            raise ValueError(f"unknown sample combination {self.combination!r}; choose one of "
                             f"{', '.join(SAMPLE_COMBINATIONS)}")

    def text(self, query: str, samples: Samples) -> str:
        """The text shown and saved as what the reasoned side searched with (several samples: joined)."""
        return compose_samples(query, samples, self.mode, self.repeat)

    def _fuses(self, samples: Samples) -> bool:
        """Whether a query's samples are searched one by one and their runs fused (rrf, several samples)."""
        return self.combination == "rrf" and len(samples) > 1

    def search(self, retriever: "Retriever", queries: Sequence[str], samples: Sequence[Samples], *, k: int = 1000,
               excludes: Sequence[Iterable[str]] | None = None, raw_runs: Sequence[list[Hit]] | None = None,
               progress: bool = True) -> list[list[Hit]]:
        """The reasoned side's k best hits per query (`samples[i]` belongs to `queries[i]`).

        Every text goes to the retriever in one `search_many` call (a dense retriever encodes them in batches);
        excluded ids never appear, since every search removes them before its cut and fusion only merges those
        lists. fuse needs `raw_runs`, the raw query's hits in the same order.
        """
        if len(samples) != len(queries):
            raise ValueError(f"{len(queries)} queries but {len(samples)} tuples of samples")
        if excludes is not None and len(excludes) != len(queries):
            raise ValueError(f"{len(queries)} queries but {len(excludes)} exclusion lists")
        if self.mode == FUSE and (raw_runs is None or len(raw_runs) != len(queries)):
            raise ValueError("the fuse composition needs the raw run of every query")
        excludes = list(excludes) if excludes is not None else [() for _ in queries]
        groups = [sample_texts(query, texts, self.mode, self.repeat) if self._fuses(texts)
                  else [self.text(query, texts)] for query, texts in zip(queries, samples)]
        flat_texts = [text for group in groups for text in group]
        flat_excludes = [excludes[i] for i, group in enumerate(groups) for _ in group]
        runs = retriever.search_many(flat_texts, k=k, excludes=flat_excludes, progress=progress)
        combined, start = [], 0
        for texts, group in zip(samples, groups):
            found = runs[start:start + len(group)]
            combined.append(reciprocal_rank_fusion(found, k=self.rrf_k, depth=k) if self._fuses(texts) else found[0])
            start += len(group)
        if self.mode == FUSE:
            return [reciprocal_rank_fusion([raw, hits], depth=k) for raw, hits in zip(raw_runs, combined)]
        return combined
