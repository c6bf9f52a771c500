"""The app's corpus store: one index per distinct content shared by every session, bounded memory, sessions
only see their own uploads, and upload errors that name the user's file rather than a server path."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

import tsqr.app.corpora
from tsqr.app.corpora import (
    CorpusGone,
    CorpusStore,
    DEMO_DIR,
    load_demo,
    load_uploaded_documents,
    shown_error,
)
from tsqr.bright import DataError, check_domain
from tsqr.records import Document, Domain, Example


def _domain(name: str = "toy", n: int = 5, examples: tuple[Example, ...] = ()) -> Domain:
    return Domain(name, list(examples), [Document(f"{name}-{i}", f"document {i} about topic {i % 3}") for i in range(n)])


@pytest.fixture
def store(tmp_path: Path) -> CorpusStore:
    return CorpusStore(capacity=2, index_cache=tmp_path / "indexes")


def test_one_index_serves_every_corpus_with_the_same_content(store):
    first = store.add(_domain(), "mine")
    second = store.add(_domain(examples=(Example("q", "topic 1", ("toy-1",)),)), "yours")
    assert first.id != second.id and first.content_key == second.content_key
    index = store.index(first.id, progress=False)
    assert store.index(second.id, progress=False) is index
    assert index.doc_ids == [f"toy-{i}" for i in range(5)]
    assert store.add(_domain(), "mine").id == first.id  # the same load again is the same entry


def test_concurrent_first_searches_build_the_index_once(store, monkeypatch):
    builds = []
    real = tsqr.app.corpora.load_or_build

    def counting(*args, **kwargs):
        builds.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(tsqr.app.corpora, "load_or_build", counting)  # the name the store calls
    corpus = store.add(_domain(n=300), "big")
    indexes = []
    threads = [threading.Thread(target=lambda: indexes.append(store.index(corpus.id, progress=False)))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1 and len({id(index) for index in indexes}) == 1


def test_least_recently_used_corpora_are_forgotten_beyond_capacity_but_pinned_ones_stay(store):
    pinned = store.add(_domain("demo"), "demo", pinned=True)
    a, b = store.add(_domain("a"), "a"), store.add(_domain("b"), "b")
    store.get(a.id)  # a is now more recent than b
    c = store.add(_domain("c"), "c")
    assert pinned.id in store and a.id in store and c.id in store and b.id not in store
    with pytest.raises(CorpusGone, match="load it again"):
        store.get(b.id)
    with pytest.raises(CorpusGone):
        store.index(b.id)


def test_a_session_lists_the_pinned_corpora_and_only_its_own(store):
    demo = store.add(_domain("demo"), "demo", pinned=True)
    mine, theirs = store.add(_domain("mine"), "mine"), store.add(_domain("theirs"), "theirs")
    assert store.choices([mine.id, "forgotten-id", mine.id]) == [("demo", demo.id), ("mine", mine.id)]
    assert ("theirs", theirs.id) not in store.choices([mine.id])


def test_a_corpus_needs_documents(store):
    with pytest.raises(ValueError, match="empty: no documents"):
        store.add(Domain("q-only", [Example("q", "x", ("d",))], []), "empty")


def test_store_capacity_must_be_positive():
    with pytest.raises(ValueError, match="capacity"):
        CorpusStore(capacity=0)


@pytest.mark.skipif(not (DEMO_DIR / "documents.jsonl").is_file(), reason="tsqr/data/demo not present in this checkout")
def test_bundled_demo_corpus_loads_with_every_gold_document():
    demo = load_demo()
    assert demo.examples and demo.documents
    assert check_domain(demo).missing_gold == {}


def test_uploaded_documents_become_a_query_less_corpus(tmp_path: Path):
    path = tmp_path / "notes.jsonl"
    path.write_text("\n".join(json.dumps({"id": f"n{i}", "content": f"note {i}"}) for i in range(3)))
    domain = load_uploaded_documents([str(path)], "notes")
    assert domain.examples == [] and [doc.id for doc in domain.documents] == ["n0", "n1", "n2"]
    assert domain.source == "notes.jsonl"


def test_upload_errors_name_the_file_and_the_line_not_the_server_path(tmp_path: Path):
    upload = tmp_path / "gradio" / "0123abcd" / "corpus.jsonl"
    upload.parent.mkdir(parents=True)
    upload.write_text('{"id": "a", "content": "fine"}\n{"id": "b", "text": "wrong field"}\n')
    with pytest.raises(DataError) as caught:
        load_uploaded_documents([upload])
    message = shown_error(caught.value, [upload])
    assert message.startswith("corpus.jsonl") and "line 2" in message and "content" in message
    assert str(tmp_path) not in message


def test_no_upload_is_a_clear_error():
    with pytest.raises(ValueError, match="no files uploaded"):
        load_uploaded_documents([])


def test_no_server_upload_path_is_shown(tmp_path, monkeypatch):
    """Uploads live at <upload root>/<hash>/<name>; an error may name the file, its folder, or a path derived
    from it: the visitor sees the names, never the server's folders."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    upload = tmp_path / "gradio" / "0a1b2c" / "mine.json"
    error = DataError(f"{upload}: line 3: not valid JSON; also tried {upload.parent}/mine.json.gz and "
                      f"'{upload.parent}'")
    message = shown_error(error, [upload])
    assert message == "mine.json: line 3: not valid JSON; also tried mine.json.gz and ''"
    assert shown_error(DataError(f"{upload}: bad"), []) == "mine.json: bad"  # even when not told which uploads
