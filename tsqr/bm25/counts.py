"""Term counts of a tokenized corpus, laid out for BM25: the one thing an index must keep.

Everything BM25 needs (document frequencies, document lengths, the weight matrix for any k1/b) follows from
these counts, so they are what an index saves and loads; weights are recomputed in a fraction of a second.

Term ids are assigned the way gensim's `Dictionary(corpus)` assigns them (documents in order; the new terms of
each document in sorted order). BRIGHT's official BM25 sums a document's float32 term contributions in
ascending term id order, so matching its ids is what makes tsqr's "bright" scores bit-identical to BRIGHT's.
One difference is left on purpose: gensim silently prunes a vocabulary that grows past 2,000,000 terms
(`prune_at`); tsqr keeps every term and warns, since pruning drops real query matches.
"""
from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

GENSIM_PRUNE_AT = 2_000_000


@dataclass(frozen=True)
class TermCounts:
    """A (documents x terms) count matrix in compressed-column form, plus the vocabulary and lengths.

    Column `t` (term `vocabulary[t]`) holds the documents `doc_rows[indptr[t]:indptr[t+1]]` (ascending)
    and how often the term occurs in each, `counts[...]`. `doc_lengths[d]` is document d's token count.
    """

    vocabulary: list[str]
    doc_lengths: np.ndarray
    indptr: np.ndarray
    doc_rows: np.ndarray
    counts: np.ndarray

    @property
    def n_docs(self) -> int:
        return len(self.doc_lengths)

    @property
    def n_terms(self) -> int:
        return len(self.vocabulary)

    @property
    def document_frequencies(self) -> np.ndarray:
        """How many documents hold each term (one entry per vocabulary term)."""
        return np.diff(self.indptr)

    def token_lists(self) -> list[list[str]]:
        """Each document as a bag of tokens (terms repeated by count, in term id order).

        Word order is gone, but every BM25 variant only sees counts, so this is enough to rebuild
        another engine (rank_bm25) on exactly the same input.
        """
        import scipy.sparse as sp

        by_doc = sp.csc_matrix((self.counts, self.doc_rows, self.indptr), shape=(self.n_docs, self.n_terms)).tocsr()
        by_doc.sort_indices()
        vocabulary = self.vocabulary
        bags = []
        for row in range(self.n_docs):
            start, end = by_doc.indptr[row], by_doc.indptr[row + 1]
            bag: list[str] = []
            for term, count in zip(by_doc.indices[start:end].tolist(), by_doc.data[start:end].tolist()):
                bag.extend([vocabulary[term]] * count)
            bags.append(bag)
        return bags


def count_terms(token_lists: Sequence[Sequence[str]], *, progress: bool = False) -> TermCounts:
    """Count the terms of every document; raises TypeError naming the document when one is not a token list."""
    import scipy.sparse as sp
    from tqdm.auto import tqdm

    vocabulary: dict[str, int] = {}
    term_ids: list[int] = []  # the vocabulary's own int objects: 8 bytes per entry
    term_counts: list[int] = []
    terms_per_doc = np.zeros(len(token_lists), dtype=np.int64)
    doc_lengths = np.zeros(len(token_lists), dtype=np.int64)
    bar = tqdm(token_lists, desc="BM25 counting terms", unit="doc", disable=not progress)
    for row, tokens in enumerate(bar):
        if isinstance(tokens, (str, bytes)):
            raise TypeError(f"token_lists[{row}] is a {type(tokens).__name__}, not a list of tokens")
        counter = Counter(tokens)
        new_terms = set(counter).difference(vocabulary)
        if new_terms:
            for term in new_terms:
                if not isinstance(term, str):
                    raise TypeError(f"token_lists[{row}] holds {term!r} ({type(term).__name__}); tokens must be str")
            for term in sorted(new_terms):
                vocabulary[term] = len(vocabulary)
        term_ids.extend(map(vocabulary.__getitem__, counter))
        term_counts.extend(counter.values())
        terms_per_doc[row] = len(counter)
        doc_lengths[row] = len(tokens)

    if len(vocabulary) > GENSIM_PRUNE_AT:
        warnings.warn(f"{len(vocabulary):,} distinct terms: gensim's Dictionary (BRIGHT's BM25) would have pruned "
                      f"the vocabulary to {GENSIM_PRUNE_AT:,}, so scores may differ from BRIGHT's here", stacklevel=2)
    nnz = len(term_ids)
    index_dtype = np.int32 if max(nnz, len(vocabulary), len(token_lists)) < 2**31 - 1 else np.int64
    row_indptr = np.zeros(len(token_lists) + 1, dtype=index_dtype)
    np.cumsum(terms_per_doc, out=row_indptr[1:])
    by_doc = sp.csr_matrix(
        (np.array(term_counts, dtype=np.int32), np.array(term_ids, dtype=index_dtype), row_indptr),
        shape=(len(token_lists), len(vocabulary)),
    )
    del term_ids, term_counts
    by_term = by_doc.tocsc()  # rows come out ascending within each column
    return TermCounts(
        vocabulary=list(vocabulary),
        doc_lengths=doc_lengths,
        indptr=by_term.indptr,
        doc_rows=by_term.indices,
        counts=by_term.data,
    )
