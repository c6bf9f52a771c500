"""The corpora the app searches, and one BM25 index per corpus shared by every user of the process.

Usage:
    store = CorpusStore()
    demo = store.add(load_demo(), "demo (bundled)", pinned=True)
    index = store.index(demo.id)              # built (or loaded from the disk cache) once, then shared
    mine = store.add(load_uploaded_documents(paths), "my files")

Indexes are keyed by corpus content (tsqr.bm25.store.corpus_key), so two users uploading the same files, or a
user loading a domain in the Evaluate tab and searching it in the Search tab, share one index: BM25 indexes
of BRIGHT domains take seconds to minutes to build and hundreds of megabytes to hold. Given `work` bounds (the
app's), an unpinned corpus (a visitor's upload, a loaded domain) is indexed and embedded in a worker process under
them (tsqr.app.worker), so that CPU work never stops other visitors' requests; a refusal is remembered for that
content, so a later search is told at once instead of paying the budget again. A session only keeps
the ids of the corpora it loaded (see app.py), so one user's uploads are never listed to another; the store
forgets the least recently used unpinned corpus beyond `capacity` to bound the server's memory.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from tsqr.app.public import WorkBounds
from tsqr.app.worker import WorkRefused, embed_in_worker, index_in_worker
from tsqr.bm25 import DEFAULT_B, DEFAULT_K1, default_analyzer, load_or_build
from tsqr.bm25.store import corpus_key
from tsqr.bright import load_documents, load_domain
from tsqr.data import DEMO_DIR, DEMO_NAME
from tsqr.records import Document, Domain
from tsqr.retrieval import build_retriever, parse_retriever_spec

if TYPE_CHECKING:
    from tsqr.bm25 import Index
    from tsqr.retrieval import Retriever



class CorpusGone(LookupError):
    """A session refers to a corpus the store has since forgotten (capacity reached)."""


@dataclass(frozen=True)
class Corpus:
    """A searchable corpus as one load made it: `id` (what sessions keep), what the UI calls it, the domain (its
    queries may be empty) and `content_key`, the key its BM25 index is shared under."""

    id: str
    label: str
    domain: Domain
    content_key: str
    pinned: bool = False

    @cached_property
    def documents_by_id(self) -> dict[str, Document]:
        return {doc.id: doc for doc in self.domain.documents}


def content_key(documents: Sequence[Document]) -> str:
    """The key of a corpus's content, the same one the BM25 disk cache uses (default analyzer and k1/b)."""
    return corpus_key(documents, default_analyzer().fingerprint, DEFAULT_K1, DEFAULT_B)


def _corpus_id(key: str, label: str, domain: Domain) -> str:
    """Loading the same files under the same name twice gives the same id, so a session's list does not grow."""
    digest = hashlib.sha256(json.dumps([key, label, domain.name, [[ex.id, ex.query, list(ex.gold_ids)]
                                                                   for ex in domain.examples]]).encode())
    return digest.hexdigest()[:20]


class CorpusStore:
    """Thread-safe registry of corpora and of one index per distinct content; at most `capacity` unpinned
    corpora are kept (an index goes with the last corpus using it)."""

    def __init__(self, capacity: int = 6, index_cache: Path | None = None, work: WorkBounds | None = None) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self.index_cache = index_cache
        self.work = work  # None: every corpus is indexed and embedded in this process
        self._refused: dict[str, str] = {}  # content key -> why its index or embeddings were refused
        self._corpora: OrderedDict[str, Corpus] = OrderedDict()
        self._indexes: dict[str, "Index"] = {}
        self._retrievers: dict[tuple[str, str, str], "Retriever"] = {}  # (content, retriever, scoring): dense, hybrid
        self._building: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def add(self, domain: Domain, label: str, *, pinned: bool = False) -> Corpus:
        """Register a loaded domain under `label`; returns its Corpus (whose `id` a session keeps)."""
        if not domain.documents:
            raise ValueError(f"{label}: no documents to search")
        key = content_key(domain.documents)
        corpus = Corpus(_corpus_id(key, label, domain), label, domain, key, pinned)
        with self._lock:
            self._corpora[corpus.id] = corpus
            self._corpora.move_to_end(corpus.id)
            self._evict()
        return corpus

    def _evict(self) -> None:
        unpinned = [cid for cid, corpus in self._corpora.items() if not corpus.pinned]
        for cid in unpinned[: max(0, len(unpinned) - self.capacity)]:
            del self._corpora[cid]
        used = {corpus.content_key for corpus in self._corpora.values()}
        for key in [key for key in self._indexes if key not in used]:
            del self._indexes[key]
        for key in [key for key in self._retrievers if key[0] not in used]:
            del self._retrievers[key]
        for key in [key for key in self._refused if key.split(" ")[0] not in used]:
            del self._refused[key]

    def get(self, corpus_id: str) -> Corpus:
        """The corpus stored under `corpus_id`, or CorpusGone with a message a user can act on."""
        with self._lock:
            corpus = self._corpora.get(corpus_id)
            if corpus is None:
                raise CorpusGone("this corpus is no longer loaded (the server keeps the "
                                 f"{self.capacity} most recent ones to save memory): load it again")
            self._corpora.move_to_end(corpus_id)
            return corpus

    def __contains__(self, corpus_id: str) -> bool:
        with self._lock:
            return corpus_id in self._corpora

    def index(self, corpus_id: str, *, progress: bool = True) -> "Index":
        """The corpus's BM25 index: built (or loaded from the disk cache) by the first caller for this content,
        shared after. Concurrent first callers wait for one build instead of each building a copy."""
        corpus = self.get(corpus_id)
        with self._lock:
            if corpus.content_key in self._indexes:
                return self._indexes[corpus.content_key]
            build_lock = self._building.setdefault(corpus.content_key, threading.Lock())
        with build_lock:
            with self._lock:
                index = self._indexes.get(corpus.content_key)
            if index is None:
                index = self._remembering_refusal(corpus.content_key, lambda: self._build_index(corpus, progress))
            with self._lock:
                if any(c.content_key == corpus.content_key for c in self._corpora.values()):
                    self._indexes[corpus.content_key] = index
                self._building.pop(corpus.content_key, None)
        return index

    def ready(self, corpus_id: str, spec: str, scoring: str = "bright") -> bool:
        """True when `retriever(corpus_id, spec, scoring)` answers at once (BM25's index, or a retriever built)."""
        spec = str(parse_retriever_spec(spec))
        corpus = self.get(corpus_id)
        with self._lock:
            if spec == "bm25":
                return corpus.content_key in self._indexes
            return (corpus.content_key, spec, scoring) in self._retrievers

    def retriever(self, corpus_id: str, spec: str, scoring: str = "bright",
                  on_progress: Callable[[int, int], None] | None = None) -> "Retriever":
        """The corpus's retriever named `spec` (tsqr.retrieval) ranking with BM25 `scoring`: built once (dense
        document embeddings from their disk cache when known) over the shared index, and shared by every session.
        The caller that builds it hears `on_progress(documents embedded, total)`, from a worker process too."""
        parsed = parse_retriever_spec(spec)
        spec = str(parsed)
        index = self.index(corpus_id, progress=False)
        corpus = self.get(corpus_id)
        key = (corpus.content_key, spec, scoring)
        with self._lock:
            known = self._retrievers.get(key)
            build_lock = self._building.setdefault(f"{key}", threading.Lock())
        if known is not None:
            return known
        with build_lock:
            with self._lock:
                known = self._retrievers.get(key)
            if known is None:
                if self.work is not None and not corpus.pinned and parsed.kind != "bm25":  # BM25 embeds nothing
                    self._remembering_refusal(f"{corpus.content_key} {spec}", lambda: embed_in_worker(
                        corpus.domain.documents, spec, domain=corpus.domain.name, seconds=self.work.seconds,
                        max_documents=self.work.embedded_documents, on_progress=on_progress))
                known = build_retriever(spec, corpus.domain.documents, bm25_index=index, domain=corpus.domain.name,
                                        scoring=scoring, progress=False, on_progress=on_progress)  # worker: cached
                with self._lock:
                    if any(c.content_key == corpus.content_key for c in self._corpora.values()):
                        self._retrievers[key] = known
                    self._building.pop(f"{key}", None)
        return known

    def _build_index(self, corpus: Corpus, progress: bool) -> "Index":
        if self.work is None or corpus.pinned:
            return load_or_build(corpus.domain.documents, cache=self.index_cache, progress=progress)
        return index_in_worker(corpus.domain.documents, self.index_cache, self.work.seconds)

    def _remembering_refusal(self, key: str, work):
        """`work()`, or the WorkRefused it raised before for `key` (raised again at once, without the work)."""
        with self._lock:
            refused = self._refused.get(key)
        if refused is not None:
            raise WorkRefused(refused)
        try:
            return work()
        except WorkRefused as error:
            with self._lock:
                self._refused[key] = str(error)
            raise

    def choices(self, corpus_ids: Iterable[str]) -> list[tuple[str, str]]:
        """(label, id) pairs for a dropdown: pinned corpora first, then the given ids still stored, in order."""
        with self._lock:
            pinned = [cid for cid, corpus in self._corpora.items() if corpus.pinned]
            wanted = pinned + [cid for cid in dict.fromkeys(corpus_ids) if cid in self._corpora and cid not in pinned]
            return [(self._corpora[cid].label, cid) for cid in wanted]


def load_demo(folder: Path = DEMO_DIR) -> Domain:
    """The bundled demo corpus (tsqr/data/demo: examples.jsonl and documents.jsonl in BRIGHT's format)."""
    return load_domain(folder, DEMO_NAME, progress=False)


def load_uploaded_documents(paths: Sequence[str | Path], name: str = "uploaded") -> Domain:
    """A documents-only corpus (files with id and content) a user uploads to search."""
    files = [Path(path) for path in paths]
    if not files:
        raise ValueError("no files uploaded: add parquet, jsonl or json files with id and content columns")
    return Domain(name=name, examples=[], documents=load_documents(files, name, progress=False),
                  source=", ".join(file.name for file in files))


def upload_root() -> Path:
    """Where Gradio keeps uploads: $GRADIO_TEMP_DIR, else <temp dir>/gradio."""
    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio")


def shown_error(error: BaseException, uploads: Iterable[str | Path] = ()) -> str:
    """An error as one readable line, uploaded files named by their own names rather than server temp paths.

    Uploads live at <upload root>/<hash>/<name>: the given files become their names, and any other path under
    the upload root (a file's folder, a file the message names some other way) loses its server prefix too.
    """
    message = str(error) or type(error).__name__
    for path in sorted((Path(p) for p in uploads), key=lambda p: -len(str(p))):
        message = message.replace(str(path), path.name)
    root = re.escape(str(upload_root()).rstrip(os.sep) + os.sep)
    return re.sub(root + r"[^/\\\s'\"]+(?:[/\\]|(?=[\s'\"]|$))", "", message)
