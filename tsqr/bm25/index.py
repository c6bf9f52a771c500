"""tsqr's BM25 engine: BRIGHT's official BM25 scores, reproduced exactly, at sparse-matrix speed.

Usage:
    index = load_or_build(documents)                      # analyzes + indexes once, then loads from the cache
    hits = index.search("why do cats purr", k=10, exclude=["doc-3"])
    runs = index.search_many(queries, k=1000, excludes=[ex.excluded_ids for ex in examples])

Scorings (the `scoring` argument):
- "bright" (default): what BRIGHT's `retrieval_bm25` computes with gensim: Lucene-8 BM25 weights (k1=0.9,
  b=0.4, idf = log((N+1)/(df+0.5)), no (k1+1) factor) for the document terms AND for the query's own terms
  (the query's length against the corpus average length), float32 dot product. Scores are bit-identical
  to gensim's `LuceneBM25Model` + `SparseMatrixSimilarity`, because each document's float32 products are
  summed in the same (ascending term id) order.
- "classic": Lucene's BM25 of the query as a bag of tokens: every query token occurrence adds the document's
  weight for that term (same document weights, summed in float64).
- "rank_bm25": `rank_bm25.BM25Okapi` on the same tokens, for users who want that library's variant (slow).

Ranking follows BRIGHT: excluded ids are removed first, then documents are ordered by descending score with
ties kept in corpus order, and the top k are returned (zero-scored documents included when k allows).
Query terms missing from the corpus vocabulary contribute nothing.
"""
from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tsqr.bm25.analysis import Analyzer
from tsqr.bm25.counts import TermCounts, count_terms
from tsqr.bm25.store import SavedIndex, corpus_key, mark_used, prune_cache, read_index, write_index
from tsqr.limits import Limits
from tsqr.paths import cache_dir, write_folder_atomically
from tsqr.records import Document, Hit

if TYPE_CHECKING:
    import scipy.sparse

    from tsqr.bm25.analysis import Analyzer

SCORINGS = ("bright", "classic", "rank_bm25")
DEFAULT_K1 = 0.9
DEFAULT_B = 0.4


def default_analyzer() -> "Analyzer":
    """pyserini's default Lucene English analyzer, as tsqr reimplements it (BRIGHT's tokenization)."""
    return Analyzer()


def _check_doc_ids(doc_ids: Sequence[str]) -> None:
    seen: dict[str, int] = {}
    for position, doc_id in enumerate(doc_ids):
        if not isinstance(doc_id, str):
            raise TypeError(f"document id at position {position} is {doc_id!r} ({type(doc_id).__name__}), not str")
        if doc_id in seen:
            raise ValueError(f"duplicate document id {doc_id!r} at positions {seen[doc_id]} and {position}")
        seen[doc_id] = position


def _check_documents(documents: Sequence[Document]) -> None:
    if len(documents) == 0:
        raise ValueError("cannot build a BM25 index from an empty corpus (0 documents)")
    for position, doc in enumerate(documents):
        if not isinstance(getattr(doc, "content", None), str):
            raise TypeError(f"documents[{position}] has no str content (got {type(doc).__name__}); "
                            "expected tsqr.records.Document(id, content)")


def _idf(document_frequencies: np.ndarray, n_docs: int) -> np.ndarray:
    """gensim's LuceneBM25Model idf, log(N + 1) - log(df + 0.5), with Python's math.log so every bit matches."""
    log_n = math.log(n_docs + 1.0)
    unique, inverse = np.unique(document_frequencies, return_inverse=True)
    values = np.array([log_n - math.log(df + 0.5) for df in unique.tolist()], dtype=np.float64)
    return values[inverse]


def _length_norm(k1: float, b: float, lengths, avgdl: float):
    """k1 * (1 - b + b * length / avgdl), evaluated in gensim's operation order."""
    return k1 * ((1 - b) + b * lengths / avgdl)


def _check_k(k: int) -> None:
    if not isinstance(k, (int, np.integer)) or k <= 0:
        raise ValueError(f"k must be a positive integer, got {k!r}")


def rank_indices(scores: np.ndarray, k: int, excluded: np.ndarray | None = None) -> np.ndarray:
    """Positions of the k best scores, best first, ties in corpus order; `excluded` positions never appear.

    Exclusion happens before the cut, so a query still gets k results when some are excluded.
    """
    _check_k(k)
    n = len(scores)
    available = n
    if excluded is not None and len(excluded):
        excluded = np.unique(excluded)
        scores = scores.copy()
        scores[excluded] = -np.inf
        available = n - len(excluded)
    k = min(k, available)
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    if k < n:
        kth_best = scores[np.argpartition(scores, n - k)[n - k]]
        above = np.flatnonzero(scores > kth_best)
        tied = np.flatnonzero(scores == kth_best)[: k - len(above)]
        chosen = np.sort(np.concatenate([above, tied]))
    else:
        chosen = np.arange(n)
    return chosen[np.argsort(-scores[chosen], kind="stable")]


class Positions:
    """Document id -> corpus position, for turning exclusion lists into the positions `rank_indices` takes."""

    def __init__(self, doc_ids: Sequence[str]) -> None:
        self._positions = {doc_id: position for position, doc_id in enumerate(doc_ids)}

    def excluded(self, exclude: Iterable[str]) -> np.ndarray:
        """Positions of the known ids in `exclude` (a lone string counts as one id; unknown ids are ignored)."""
        if isinstance(exclude, str):
            exclude = [exclude]
        return np.array([self._positions[d] for d in exclude if d in self._positions], dtype=np.int64)


class Index:
    """A BM25 index over a fixed corpus. Build with `Index.build`, `Index.from_tokens` or `load_or_build`.

    `doc_ids` lists the documents in corpus order; `scores()` returns one score per document in that order.
    """

    def __init__(self, doc_ids: Sequence[str], counts: TermCounts, *, k1: float = DEFAULT_K1, b: float = DEFAULT_B,
                 analyzer: "Analyzer | None" = None, analyzer_fingerprint: str = "") -> None:
        if len(doc_ids) == 0:
            raise ValueError("cannot build a BM25 index from an empty corpus (0 documents)")
        if len(doc_ids) != counts.n_docs:
            raise ValueError(f"{len(doc_ids)} document ids for {counts.n_docs} token lists")
        if not (k1 >= 0 and 0 <= b <= 1):
            raise ValueError(f"BM25 needs k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")
        _check_doc_ids(doc_ids)
        self.doc_ids: list[str] = list(doc_ids)
        self.counts = counts
        self.k1 = float(k1)
        self.b = float(b)
        self._analyzer = analyzer
        self.analyzer_fingerprint = analyzer.fingerprint if analyzer is not None else analyzer_fingerprint
        self.loaded_from: Path | None = None
        self.corpus_key = ""  # tsqr.bm25.store.corpus_key of the documents, for indexes built from documents
        self._positions = Positions(self.doc_ids)
        self._term_ids = {term: term_id for term_id, term in enumerate(counts.vocabulary)}
        self.avgdl = int(counts.doc_lengths.sum()) / counts.n_docs
        self.idf = _idf(counts.document_frequencies, counts.n_docs)
        self.weights = self._document_weights()
        self._okapi = None

    # ----------------------------------------------------------------------------------------------- building
    @classmethod
    def build(cls, documents: Sequence[Document], analyzer: "Analyzer | None" = None, *, k1: float = DEFAULT_K1,
              b: float = DEFAULT_B, progress: bool = True) -> "Index":
        """Analyze every document's content and index it (ids must be unique)."""
        _check_documents(documents)
        _check_doc_ids([doc.id for doc in documents])
        analyzer = analyzer if analyzer is not None else default_analyzer()
        token_lists = analyzer.analyze_many([doc.content for doc in documents], progress=progress)
        counts = count_terms(token_lists, progress=progress)
        index = cls([doc.id for doc in documents], counts, k1=k1, b=b, analyzer=analyzer)
        index.corpus_key = corpus_key(documents, analyzer.fingerprint, k1, b)
        return index

    @classmethod
    def from_tokens(cls, doc_ids: Sequence[str], token_lists: Sequence[Sequence[str]],
                    analyzer: "Analyzer | None" = None, k1: float = DEFAULT_K1, b: float = DEFAULT_B) -> "Index":
        """Index documents that are already tokenized; `analyzer` (default: tsqr's) tokenizes string queries."""
        if len(doc_ids) != len(token_lists):
            raise ValueError(f"{len(doc_ids)} document ids but {len(token_lists)} token lists")
        _check_doc_ids(doc_ids)
        return cls(doc_ids, count_terms(token_lists), k1=k1, b=b, analyzer=analyzer)

    def _document_weights(self) -> "scipy.sparse.csc_array":
        """The (documents x terms) matrix of Lucene-8 BM25 weights, float32 as gensim stores them."""
        import scipy.sparse as sp

        counts = self.counts
        weights = np.zeros(len(counts.counts), dtype=np.float32)
        if len(counts.counts):
            norms = _length_norm(self.k1, self.b, counts.doc_lengths, self.avgdl)
            tf = counts.counts.astype(np.float64)
            idf = np.repeat(self.idf, np.diff(counts.indptr))
            weights = (idf * (tf / (tf + norms[counts.doc_rows]))).astype(np.float32)
        return sp.csc_array((weights, counts.doc_rows, counts.indptr), shape=(counts.n_docs, counts.n_terms))

    # ----------------------------------------------------------------------------------------------- scoring
    @property
    def analyzer(self) -> "Analyzer":
        """The analyzer for string queries (created on first use when none was given)."""
        if self._analyzer is None:
            analyzer = default_analyzer()
            if self.analyzer_fingerprint and analyzer.fingerprint != self.analyzer_fingerprint:
                raise ValueError(f"this index was built with analyzer {self.analyzer_fingerprint!r}, but the default "
                                 f"analyzer is now {analyzer.fingerprint!r}: rebuild it or pass the original analyzer")
            self._analyzer = analyzer
        return self._analyzer

    def query_tokens(self, query: str | Sequence[str]) -> list[str]:
        """The tokens BM25 sees for `query`: a string is analyzed, a list of tokens is taken as it is."""
        if isinstance(query, str):
            return self.analyzer(query)
        return list(query)

    def _query_bag(self, tokens: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """In-vocabulary term ids of the query, ascending, with their counts."""
        pairs = sorted((term_id, count) for term, count in Counter(tokens).items()
                       if (term_id := self._term_ids.get(term)) is not None)
        ids = np.array([term_id for term_id, _ in pairs], dtype=np.int64)
        tf = np.array([count for _, count in pairs], dtype=np.int64)
        return ids, tf

    def scores(self, query: str | Sequence[str], scoring: str = "bright") -> np.ndarray:
        """One score per document (in `doc_ids` order): float32 for "bright", float64 otherwise."""
        tokens = self.query_tokens(query)
        if scoring == "rank_bm25":
            return self._rank_bm25().get_scores(tokens)
        if scoring not in SCORINGS:
            raise ValueError(f"unknown scoring {scoring!r}; choose one of {', '.join(SCORINGS)}")
        ids, tf = self._query_bag(tokens)
        if scoring == "classic":
            if len(ids) == 0:
                return np.zeros(len(self.doc_ids), dtype=np.float64)
            return self.weights[:, ids] @ tf.astype(np.float64)
        if len(ids) == 0:
            return np.zeros(len(self.doc_ids), dtype=np.float32)
        query_norm = _length_norm(self.k1, self.b, int(tf.sum()), self.avgdl)
        query_weights = (self.idf[ids] * (tf / (tf + query_norm))).astype(np.float32)
        return self.weights[:, ids] @ query_weights

    def _rank_bm25(self):
        if self._okapi is None:
            from rank_bm25 import BM25Okapi

            self._okapi = BM25Okapi(self.counts.token_lists(), k1=self.k1, b=self.b)
        return self._okapi

    # ----------------------------------------------------------------------------------------------- searching
    def search(self, query: str | Sequence[str], k: int = 1000, exclude: Iterable[str] = (),
               scoring: str = "bright") -> list[Hit]:
        """The k best documents for `query`, best first, never one of `exclude` (unknown ids are ignored)."""
        _check_k(k)
        scores = self.scores(query, scoring)
        order = rank_indices(scores, k, self._positions.excluded(exclude))
        return [Hit(self.doc_ids[i], score) for i, score in zip(order.tolist(), scores[order].tolist())]

    def search_many(self, queries: Sequence[str | Sequence[str]], k: int = 1000,
                    excludes: Sequence[Iterable[str]] | None = None, scoring: str = "bright",
                    progress: bool = True) -> list[list[Hit]]:
        """`search` for each query; `excludes[i]` lists the ids never returned for `queries[i]`."""
        from tqdm.auto import tqdm

        _check_k(k)
        if scoring not in SCORINGS:
            raise ValueError(f"unknown scoring {scoring!r}; choose one of {', '.join(SCORINGS)}")
        if excludes is not None and len(excludes) != len(queries):
            raise ValueError(f"{len(queries)} queries but {len(excludes)} exclusion lists")
        results = []
        for position, query in enumerate(tqdm(queries, desc="BM25 search", unit="query", disable=not progress)):
            results.append(self.search(query, k, excludes[position] if excludes is not None else (), scoring))
        return results

    # ----------------------------------------------------------------------------------------------- storage
    def save(self, folder: str | Path) -> Path:
        """Write the index to `folder` (JSON + npz, no pickle); returns the folder."""
        return write_index(Path(folder), SavedIndex(self.doc_ids, self.counts, self.k1, self.b,
                                                    self.analyzer_fingerprint, self.corpus_key))

    @classmethod
    def load(cls, folder: str | Path, analyzer: "Analyzer | None" = None) -> "Index":
        """Read an index written by `save`; `analyzer` must be the one it was built with (default: tsqr's)."""
        saved = read_index(Path(folder))
        if analyzer is not None and saved.analyzer_fingerprint and analyzer.fingerprint != saved.analyzer_fingerprint:
            raise ValueError(f"{folder}: index was built with analyzer {saved.analyzer_fingerprint!r}, "
                             f"not the given {analyzer.fingerprint!r}")
        index = cls(saved.doc_ids, saved.counts, k1=saved.k1, b=saved.b, analyzer=analyzer,
                    analyzer_fingerprint=saved.analyzer_fingerprint)
        index.loaded_from = Path(folder)
        index.corpus_key = saved.corpus_key
        return index


def load_or_build(documents: Sequence[Document], analyzer: "Analyzer | None" = None, cache: Path | None = None, *,
                  k1: float = DEFAULT_K1, b: float = DEFAULT_B, progress: bool = True) -> Index:
    """The index of `documents`, loaded from the cache when this exact corpus, analyzer and k1/b were indexed
    before, else built and cached. A cache that cannot be read or written costs a rebuild, never the result.

    `cache` is the folder holding cached indexes (default: `cache_dir("index")`); `index.loaded_from` says
    which entry a loaded index came from. After a save the cache is pruned to TSQR_INDEX_CACHE_MB, least
    recently used entries first.
    """
    _check_documents(documents)
    analyzer = analyzer if analyzer is not None else default_analyzer()
    key = corpus_key(documents, analyzer.fingerprint, k1, b)
    folder = Path(cache if cache is not None else cache_dir("index")) / key
    cap = Limits.from_env().index_cache_bytes
    if folder.is_dir():
        try:
            index = Index.load(folder, analyzer)
            _check_built_for(index, documents, key)
            mark_used(folder)
            return index
        except (OSError, ValueError) as error:
            warnings.warn(f"rebuilding the cached index {folder}, which cannot be trusted: {error}", stacklevel=2)
    index = Index.build(documents, analyzer, k1=k1, b=b, progress=progress)
    write_folder_atomically(folder, index.save, "the BM25 index")
    prune_cache(folder.parent, cap)
    return index


def _check_built_for(index: Index, documents: Sequence[Document], key: str) -> None:
    """A loaded index must be the one built from `documents`: the same corpus key (ids, contents, analyzer,
    k1, b) and the same ids in the same order, or its scores would belong to other documents."""
    if index.corpus_key != key:
        raise ValueError(f"it was built for corpus {index.corpus_key or 'unknown'!r}, not {key!r}")
    ids = [doc.id for doc in documents]
    if index.doc_ids != ids:
        position = next((i for i, (saved, wanted) in enumerate(zip(index.doc_ids, ids)) if saved != wanted),
                        min(len(ids), len(index.doc_ids)))
        raise ValueError(f"its document ids differ from the corpus's from position {position} on "
                         f"({index.doc_ids[position:position + 1]} instead of {ids[position:position + 1]})")
