"""A visitor's corpus indexed and embedded in a worker process (tsqr.app.worker): the same index as in-process,
killed past its time budget with one line naming the variable, a dense request over the document cap refused,
and a refusal remembered by the store so a later search is told at once. (Through the running app, that this
work no longer stalls other visitors: test_app_public_live.py.)"""
from __future__ import annotations

import time

import pytest

from tsqr.app.corpora import CorpusStore
from tsqr.app.public import WorkBounds
from tsqr.app.worker import WorkRefused, embed_in_worker, index_in_worker
from tsqr.bm25 import load_or_build
from tsqr.records import Document, Domain
from tsqr.retrieval import build_retriever

DOCUMENTS = [
    Document("cats", "Cats purr when content and also when stressed; the purr comes from the larynx muscles."),
    Document("bread", "Bread goes stale as its starch recrystallises, which happens fastest at fridge temperature."),
    Document("ice", "Ice floats because water expands as it freezes, so the solid is less dense than the liquid."),
]


def test_the_worker_builds_the_index_the_process_would_build(tmp_path):
    in_worker = index_in_worker(DOCUMENTS, cache=tmp_path / "worker", seconds=120)
    here = load_or_build(DOCUMENTS, cache=tmp_path / "here", progress=False)
    for query in ("why does my cat purr", "stale bread in the fridge", "floating ice"):
        assert in_worker.search(query, k=3) == here.search(query, k=3)
    assert in_worker.loaded_from.parent == tmp_path / "worker"  # read back from the cache entry it saved


def test_with_no_index_cache_the_worker_hands_the_index_over_privately(tmp_path, monkeypatch):
    monkeypatch.setenv("TSQR_INDEX_CACHE_MB", "0")  # the cache keeps nothing on disk
    index = index_in_worker(DOCUMENTS, cache=tmp_path, seconds=120)
    assert [hit.doc_id for hit in index.search("why does my cat purr", k=1)] == ["cats"]
    assert not any(tmp_path.iterdir()) and not index.loaded_from.exists()  # the private folder went too


def test_past_its_budget_the_worker_is_killed_and_the_visitor_told_why(tmp_path):
    documents = [Document(f"d{n}", "word " * 2000) for n in range(500)]
    begun = time.monotonic()
    with pytest.raises(WorkRefused, match=r"^indexing 500 documents took longer than this server allows "
                                          r"\(0\.5 s, TSQR_MAX_INDEX_SECONDS\)"):
        index_in_worker(documents, cache=tmp_path, seconds=0.5)
    assert time.monotonic() - begun < 30  # killed, not waited for
    assert not any(tmp_path.iterdir())  # nothing half-written left in the cache


@pytest.mark.slow
def test_a_dense_request_over_the_document_cap_is_refused_unless_already_embedded(tmp_path):
    with pytest.raises(WorkRefused, match=r"embeds at most 2 documents per request on this server "
                                          r"\(TSQR_MAX_EMBEDDED_DOCS\); this corpus has 3: choose bm25"):
        embed_in_worker(DOCUMENTS, "dense", seconds=300, max_documents=2)
    embed_in_worker(DOCUMENTS, "dense", seconds=300, max_documents=None)
    retriever = build_retriever("dense", DOCUMENTS, progress=False)
    assert retriever.loaded_from is not None  # the worker's embeddings, read from the cache, not re-encoded
    embed_in_worker(DOCUMENTS, "dense", seconds=300, max_documents=2)  # cached: no longer counts against the cap


def test_the_store_indexes_uploads_in_the_worker_and_remembers_a_refusal(tmp_path):
    store = CorpusStore(index_cache=tmp_path, work=WorkBounds(seconds=0.5))
    slow = store.add(Domain("slow", [], [Document(f"d{n}", "word " * 2000) for n in range(500)]), "slow upload")
    with pytest.raises(WorkRefused, match="TSQR_MAX_INDEX_SECONDS"):
        store.index(slow.id)
    begun = time.monotonic()
    with pytest.raises(WorkRefused, match="TSQR_MAX_INDEX_SECONDS"):
        store.index(slow.id)  # told at once: the budget is not paid twice for the same content
    assert time.monotonic() - begun < 0.5
    pinned = store.add(Domain("demo", [], DOCUMENTS), "demo", pinned=True)
    assert store.index(pinned.id, progress=False).loaded_from is None  # the host's own: built here, in-process


@pytest.mark.slow
def test_the_embedding_worker_reports_its_count_to_the_waiting_visitor():
    """The child writes "done total" after each batch; the parent relays it, and always hears the last one."""
    documents = [Document(f"d{n}", f"note {n} about tides, bread and ice") for n in range(70)]
    counts: list[tuple[int, int]] = []
    embed_in_worker(documents, "dense", seconds=300, on_progress=lambda done, total: counts.append((done, total)))
    assert counts and counts[-1] == (70, 70)
    assert all(total == 70 for _, total in counts) and [done for done, _ in counts] == sorted(d for d, _ in counts)


def test_a_bm25_search_of_an_upload_embeds_nothing(tmp_path):
    """BM25 needs only the index: asking the store for it must not start an embedding worker (which refused the
    retriever spec "bm25" for want of an embedding model, so every uploaded corpus failed to search)."""
    store = CorpusStore(index_cache=tmp_path, work=WorkBounds(seconds=120))
    upload = store.add(Domain("notes", [], DOCUMENTS), "notes")
    hits = store.retriever(upload.id, "bm25").search("why does my cat purr", k=1)
    assert [hit.doc_id for hit in hits] == ["cats"]
