"""BM25 indexes on disk: a folder of JSON and npz files (no pickle), and the key that names a cached one.

Layout of an index folder:
    meta.json       format, version, k1, b, analyzer fingerprint, sizes, the corpus key it was built for and
                    content_sha256, a hash over everything below
    doc_ids.json    document ids in corpus order
    vocabulary.json terms in term id order
    counts.npz      indptr, doc_rows, counts (terms x documents, compressed by term) and doc_lengths

Only counts are stored: weights follow from them in well under a second, and the files stay valid whatever
the scoring code computes from them.

A cached index is trusted only if it is the one written for this corpus: the files must hash to
content_sha256 (an id or term list edited, swapped or taken from another save is caught, not only a
truncated or unreadable file), and `load_or_build` checks the corpus key and the ids, in order, against the
documents being searched; any mismatch rebuilds the index with a warning. The hash finds accidents and
tampering with single files; someone able to rewrite the whole folder, meta.json included, could forge it.

The cache of such folders (`cache_dir("index")`) is capped by TSQR_INDEX_CACHE_MB (tsqr.limits): loading an
entry marks it used (its folder's mtime), and after each save `prune_cache` (tsqr.paths, shared by every cache)
removes the least recently used entries until the cache fits, so a public app indexing every upload cannot
fill its disk.
"""
from __future__ import annotations

import hashlib
import json
import struct
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tsqr.bm25.counts import TermCounts
from tsqr.paths import mark_used, prune_cache  # the one cache-pruning mechanism; tsqr.bm25.index uses both
from tsqr.records import Document

FORMAT = "tsqr-bm25-index"
VERSION = 2  # 2: meta.json holds corpus_key and content_sha256
ARRAYS = ("indptr", "doc_rows", "counts", "doc_lengths")


@dataclass(frozen=True)
class SavedIndex:
    """What an index folder holds."""

    doc_ids: list[str]
    counts: TermCounts
    k1: float
    b: float
    analyzer_fingerprint: str
    corpus_key: str = ""  # `corpus_key` of the documents it was built from ("" when built from tokens)


def corpus_key(documents: Sequence[Document], analyzer_fingerprint: str, k1: float, b: float) -> str:
    """A folder name that changes whenever anything the index depends on changes: every id and content (in
    order), the analyzer and its version, k1, b and this file format."""
    header = json.dumps({"format": FORMAT, "version": VERSION, "analyzer": analyzer_fingerprint,
                         "k1": float(k1), "b": float(b)}, sort_keys=True)
    return corpus_fingerprint(documents, header)


def corpus_fingerprint(documents: Sequence[Document], header: str) -> str:
    """"<n>docs-<24 hex>": a hash of `header` (what was computed from the corpus, and how) and every document id
    and content in order, each length-prefixed so no two corpora collide by shifting text between fields.
    Shared by every on-disk cache keyed by a corpus (BM25 indexes, dense embeddings)."""
    digest = hashlib.sha256()
    digest.update(header.encode())
    for doc in documents:
        for field in (doc.id, doc.content):
            data = field.encode("utf-8", "surrogatepass")
            digest.update(struct.pack("<Q", len(data)))
            digest.update(data)
    return f"{len(documents)}docs-{digest.hexdigest()[:24]}"


def content_digest(doc_ids: Sequence[str], counts: TermCounts) -> str:
    """sha256 over the ids, the vocabulary and every count array (dtype and shape included), in order: any
    edit, swap or truncation of what an index folder holds changes it."""
    digest = hashlib.sha256()
    for strings in (doc_ids, counts.vocabulary):
        data = json.dumps(list(strings), ensure_ascii=False).encode("utf-8", "surrogatepass")
        digest.update(struct.pack("<Q", len(data)))
        digest.update(data)
    for name in ARRAYS:
        array = np.ascontiguousarray(getattr(counts, name))
        digest.update(f"{name} {array.dtype.str} {array.shape}\n".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def write_index(folder: Path, saved: SavedIndex) -> Path:
    """Write `saved` into `folder` (created if needed); returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    counts = saved.counts
    np.savez(folder / "counts.npz", indptr=counts.indptr, doc_rows=counts.doc_rows, counts=counts.counts,
             doc_lengths=counts.doc_lengths)
    (folder / "doc_ids.json").write_text(json.dumps(saved.doc_ids, ensure_ascii=False), encoding="utf-8")
    (folder / "vocabulary.json").write_text(json.dumps(counts.vocabulary, ensure_ascii=False), encoding="utf-8")
    meta = {"format": FORMAT, "version": VERSION, "k1": saved.k1, "b": saved.b,
            "analyzer_fingerprint": saved.analyzer_fingerprint, "n_docs": counts.n_docs,
            "n_terms": counts.n_terms, "nnz": int(len(counts.counts)), "corpus_key": saved.corpus_key,
            "content_sha256": content_digest(saved.doc_ids, counts)}
    # meta.json last: its presence marks a complete folder
    (folder / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return folder


def _read_json(path: Path):
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing (not a complete tsqr BM25 index folder)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from None


def _read_string_list(path: Path) -> list[str]:
    values = _read_json(path)
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"{path}: expected a JSON list of strings")
    return values


def read_index(folder: Path) -> SavedIndex:
    """Read an index folder; raises FileNotFoundError or ValueError naming the file and the problem."""
    if not folder.is_dir():
        raise FileNotFoundError(f"no BM25 index folder at {folder}")
    meta_path = folder / "meta.json"
    meta = _read_json(meta_path)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{meta_path}: not a tsqr BM25 index (format {meta.get('format') if isinstance(meta, dict) else None!r})")
    if meta.get("version") != VERSION:
        raise ValueError(f"{meta_path}: index format version {meta.get('version')!r}, this tsqr reads {VERSION}; "
                         "rebuild the index")
    for field in ("k1", "b"):
        if not isinstance(meta.get(field), (int, float)):
            raise ValueError(f"{meta_path}: field {field!r} must be a number, got {meta.get(field)!r}")
    for field in ("corpus_key", "content_sha256"):
        if not isinstance(meta.get(field), str):
            raise ValueError(f"{meta_path}: field {field!r} must be a string, got {meta.get(field)!r}")

    npz_path = folder / "counts.npz"
    if not npz_path.is_file():
        raise FileNotFoundError(f"{npz_path}: missing (not a complete tsqr BM25 index folder)")
    try:
        with open(npz_path, "rb") as handle, np.load(handle, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in ARRAYS if name in npz.files}
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as error:
        raise ValueError(f"{npz_path}: unreadable ({error})") from None
    missing = [name for name in ARRAYS if name not in arrays]
    if missing:
        raise ValueError(f"{npz_path}: missing array(s) {', '.join(missing)}")

    doc_ids = _read_string_list(folder / "doc_ids.json")
    vocabulary = _read_string_list(folder / "vocabulary.json")
    counts = TermCounts(vocabulary=vocabulary, doc_lengths=arrays["doc_lengths"], indptr=arrays["indptr"],
                        doc_rows=arrays["doc_rows"], counts=arrays["counts"])
    _check_consistent(folder, doc_ids, counts)
    if content_digest(doc_ids, counts) != meta["content_sha256"]:
        raise ValueError(f"{folder}: the index files do not hash to the content_sha256 of meta.json (edited, or "
                         "mixed from different saves)")
    return SavedIndex(doc_ids=doc_ids, counts=counts, k1=float(meta["k1"]), b=float(meta["b"]),
                      analyzer_fingerprint=str(meta.get("analyzer_fingerprint", "")),
                      corpus_key=meta["corpus_key"])


def _check_consistent(folder: Path, doc_ids: list[str], counts: TermCounts) -> None:
    """Catch files from different saves (or truncated ones) before they turn into wrong scores."""
    problems = []
    if len(counts.doc_lengths) != len(doc_ids):
        problems.append(f"{len(doc_ids)} ids in doc_ids.json but {len(counts.doc_lengths)} document lengths")
    if len(counts.indptr) != len(counts.vocabulary) + 1:
        problems.append(f"{len(counts.vocabulary)} terms in vocabulary.json but {len(counts.indptr) - 1} in counts.npz")
    elif len(counts.indptr) and counts.indptr[-1] != len(counts.doc_rows):
        problems.append("indptr does not end at the number of stored counts")
    if len(counts.doc_rows) != len(counts.counts):
        problems.append("doc_rows and counts differ in length")
    elif len(counts.doc_rows) and (counts.doc_rows.min() < 0 or counts.doc_rows.max() >= len(doc_ids)):
        problems.append("doc_rows point outside the documents")
    if problems:
        raise ValueError(f"{folder}: inconsistent index files: {'; '.join(problems)}")
