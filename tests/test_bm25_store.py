"""Saving, loading and caching BM25 indexes: round trips give identical scores, the cache is hit, bad files
are reported by name, and a broken cache never costs a result."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from tsqr.bm25 import Index, load_or_build
from tsqr.bm25.store import corpus_key
from tsqr.records import Document

QUERIES = (["t1", "t2", "t2", "café"], ["日本", "t40", "unknown"], [])


@pytest.fixture(scope="module")
def index():
    """120 random documents (one empty) over a skewed vocabulary with a few non-ASCII terms."""
    rng = np.random.default_rng(2)
    words = np.array([f"t{i}" for i in range(300)] + ["café", "日本", "straße"])
    weights = 1.0 / np.arange(1, len(words) + 1)
    token_lists = [rng.choice(words, size=0 if i == 9 else int(rng.integers(1, 80)), p=weights / weights.sum()).tolist()
                   for i in range(120)]
    return Index.from_tokens([f"d{i}" for i in range(120)], token_lists, k1=1.2, b=0.7)


@pytest.fixture(scope="module")
def documents():
    texts = ["Honey bees dance to tell the hive where flowers are.", "Bees sting once; wasps sting repeatedly.",
             "", "Photosynthesis turns light into sugar.", "Why do bees dance? Foraging bees' waggle dance.",
             "Naïve café owners keep bees on the roof — 日本語 too."]
    return [Document(f"doc{i}", text) for i, text in enumerate(texts)]


def assert_same_index(a: Index, b: Index) -> None:
    assert a.doc_ids == b.doc_ids and a.counts.vocabulary == b.counts.vocabulary
    assert (a.k1, a.b, a.analyzer_fingerprint) == (b.k1, b.b, b.analyzer_fingerprint)
    for query in QUERIES:
        for scoring in ("bright", "classic", "rank_bm25"):
            np.testing.assert_array_equal(a.scores(query, scoring), b.scores(query, scoring))


def test_save_load_round_trip_gives_identical_scores(index, tmp_path):
    folder = index.save(tmp_path / "idx")
    assert sorted(p.name for p in folder.iterdir()) == ["counts.npz", "doc_ids.json", "meta.json", "vocabulary.json"]
    loaded = Index.load(folder)
    assert loaded.loaded_from == folder
    assert_same_index(index, loaded)


def test_save_load_keeps_the_analyzer_fingerprint_and_checks_it(documents, tmp_path):
    from tsqr.bm25.analysis import Analyzer

    built = Index.build(documents, progress=False)
    loaded = Index.load(built.save(tmp_path / "idx"))
    assert loaded.analyzer_fingerprint == Analyzer().fingerprint
    assert loaded.search("dancing bees", k=3) == built.search("dancing bees", k=3)
    other = Analyzer(stemmer="none")
    with pytest.raises(ValueError, match="built with analyzer"):
        Index.load(tmp_path / "idx", analyzer=other)


def test_load_or_build_hits_the_cache_the_second_time(documents, tmp_path, monkeypatch):
    first = load_or_build(documents, cache=tmp_path, progress=False)
    assert first.loaded_from is None
    entries = [p for p in tmp_path.iterdir()]
    assert len(entries) == 1 and entries[0].name.startswith("6docs-")

    def no_rebuild(*args, **kwargs):
        raise AssertionError("load_or_build rebuilt an index that was cached")

    monkeypatch.setattr(Index, "build", no_rebuild)
    second = load_or_build(documents, cache=tmp_path, progress=False)
    assert second.loaded_from == entries[0]
    assert second.search("bee sting", k=6) == first.search("bee sting", k=6)


def test_cache_key_follows_contents_ids_analyzer_and_parameters(documents):
    base = corpus_key(documents, "fp", 0.9, 0.4)
    assert corpus_key(list(documents), "fp", 0.9, 0.4) == base
    changed_text = documents[:1] + [Document("doc1", documents[1].content + " ")] + documents[2:]
    changed_id = documents[:1] + [Document("doc1b", documents[1].content)] + documents[2:]
    # moving text from one document to the next must not collide
    split = [Document("a", "xy"), Document("b", "")], [Document("a", "x"), Document("b", "y")]
    variants = {corpus_key(changed_text, "fp", 0.9, 0.4), corpus_key(changed_id, "fp", 0.9, 0.4),
                corpus_key(documents, "fp2", 0.9, 0.4), corpus_key(documents, "fp", 1.2, 0.4),
                corpus_key(documents, "fp", 0.9, 0.75), corpus_key(documents[::-1], "fp", 0.9, 0.4),
                corpus_key(split[0], "fp", 0.9, 0.4), corpus_key(split[1], "fp", 0.9, 0.4)}
    assert base not in variants and len(variants) == 8


def test_load_or_build_rebuilds_for_other_parameters(documents, tmp_path):
    default = load_or_build(documents, cache=tmp_path, progress=False)
    other = load_or_build(documents, cache=tmp_path, k1=1.5, b=0.75, progress=False)
    assert other.loaded_from is None and (other.k1, other.b) == (1.5, 0.75)
    assert len(list(tmp_path.iterdir())) == 2
    assert not np.array_equal(default.scores("bees dance"), other.scores("bees dance"))


def test_a_corrupt_cache_entry_is_rebuilt_with_a_warning(documents, tmp_path):
    first = load_or_build(documents, cache=tmp_path, progress=False)
    (folder,) = tmp_path.iterdir()
    (folder / "vocabulary.json").write_text("[truncated", encoding="utf-8")
    with pytest.warns(UserWarning, match="vocabulary.json"):
        rebuilt = load_or_build(documents, cache=tmp_path, progress=False)
    assert rebuilt.loaded_from is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = load_or_build(documents, cache=tmp_path, progress=False)
    assert again.loaded_from == folder and again.search("bees", k=6) == first.search("bees", k=6)


def test_unwritable_cache_still_returns_the_index(documents, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    with pytest.warns(UserWarning, match="could not cache"):
        index = load_or_build(documents, cache=blocker / "index", progress=False)
    assert index.search("bees", k=1)[0].doc_id in {"doc0", "doc1", "doc4", "doc5"}


def test_bad_index_folders_are_reported_by_file(index, tmp_path):
    with pytest.raises(FileNotFoundError, match="no BM25 index folder"):
        Index.load(tmp_path / "missing")

    folder = index.save(tmp_path / "idx")
    meta = json.loads((folder / "meta.json").read_text())
    (folder / "meta.json").write_text(json.dumps({**meta, "version": 99}))
    with pytest.raises(ValueError, match=r"meta.json: index format version 99"):
        Index.load(folder)
    (folder / "meta.json").write_text(json.dumps({**meta, "format": "something-else"}))
    with pytest.raises(ValueError, match="meta.json: not a tsqr BM25 index"):
        Index.load(folder)
    (folder / "meta.json").write_text("{")
    with pytest.raises(ValueError, match="meta.json: not valid JSON"):
        Index.load(folder)
    (folder / "meta.json").write_text(json.dumps(meta))

    ids = json.loads((folder / "doc_ids.json").read_text())
    (folder / "doc_ids.json").write_text(json.dumps(ids[:-1]))
    with pytest.raises(ValueError, match="inconsistent index files: 119 ids in doc_ids.json but 120 document"):
        Index.load(folder)
    (folder / "doc_ids.json").write_text(json.dumps(ids))

    with np.load(folder / "counts.npz") as npz:
        arrays = {name: npz[name] for name in npz.files if name != "doc_lengths"}
    good_npz = (folder / "counts.npz").read_bytes()
    np.savez(folder / "counts.npz", **arrays)
    with pytest.raises(ValueError, match="counts.npz: missing array.s. doc_lengths"):
        Index.load(folder)
    (folder / "counts.npz").write_bytes(good_npz[:200])
    with pytest.raises(ValueError, match="counts.npz: unreadable"):
        Index.load(folder)
    (folder / "counts.npz").unlink()
    with pytest.raises(FileNotFoundError, match="counts.npz: missing"):
        Index.load(folder)


def _corpora(documents):
    """Three different corpora, so three cache entries."""
    return [documents, documents[:4], documents[1:]]


def _entry_sizes(documents, cache) -> list[int]:
    sizes = []
    for corpus in _corpora(documents):
        load_or_build(corpus, cache=cache, progress=False)
    for corpus in _corpora(documents):
        folder = load_or_build(corpus, cache=cache, progress=False).loaded_from
        sizes.append(sum(path.stat().st_size for path in folder.iterdir()))
    return sizes


def test_the_index_cache_keeps_the_most_recently_used_entries_within_its_cap(documents, tmp_path, monkeypatch):
    import os

    a, b, c = _entry_sizes(documents, tmp_path / "measure")
    cache = tmp_path / "cache"
    monkeypatch.setenv("TSQR_INDEX_CACHE_MB", str((a + b + c - 1) / (1 << 20)))  # room for two of the three
    for corpus in _corpora(documents)[:2]:
        load_or_build(corpus, cache=cache, progress=False)
    for folder in cache.iterdir():  # both saved long ago, the first corpus's entry the older
        stamp = 1_000_000 if folder.name.startswith("6docs") else 2_000_000
        os.utime(folder, (stamp, stamp))
    assert load_or_build(documents, cache=cache, progress=False).loaded_from is not None  # the first, used now
    load_or_build(_corpora(documents)[2], cache=cache, progress=False)  # a third entry passes the cap
    kept = sorted(folder.name.split("-")[0] for folder in cache.iterdir())
    assert kept == ["5docs", "6docs"]  # documents[1:] (5 docs) and the recently used first corpus
    assert load_or_build(documents[:4], cache=cache, progress=False).loaded_from is None  # evicted: rebuilt
    assert sum(p.stat().st_size for folder in cache.iterdir() for p in folder.iterdir()) <= a + b + c - 1


def test_a_zero_index_cache_keeps_nothing_on_disk(documents, tmp_path, monkeypatch):
    monkeypatch.setenv("TSQR_INDEX_CACHE_MB", "0")
    index = load_or_build(documents, cache=tmp_path, progress=False)
    assert index.search("bees", k=1) and list(tmp_path.iterdir()) == []
    assert load_or_build(documents, cache=tmp_path, progress=False).loaded_from is None


def test_a_bad_index_cache_cap_is_an_error_naming_the_variable(documents, tmp_path, monkeypatch):
    monkeypatch.setenv("TSQR_INDEX_CACHE_MB", "lots")
    with pytest.raises(ValueError, match="TSQR_INDEX_CACHE_MB='lots'"):
        load_or_build(documents, cache=tmp_path, progress=False)
# -- paths mutation testing found unguarded (tests/README.md) ----------------------------------------------
def test_a_custom_analyzer_is_used_for_building_caching_and_loading(tmp_path):
    from tsqr.bm25.analysis import Analyzer

    unstemmed = Analyzer(stemmer="none")
    documents = [Document("a", "dancing bees"), Document("b", "bees dance"), Document("c", "wasps sting")]
    built = load_or_build(documents, unstemmed, cache=tmp_path, progress=False)
    hits = built.search("dancing", k=3)
    assert hits[0].doc_id == "a" and hits[1].score == 0.0  # without stemming "dance" is another term
    cached = load_or_build(documents, unstemmed, cache=tmp_path, progress=False)
    assert cached.loaded_from is not None and cached.search("dancing", k=3) == hits
    assert Index.load(cached.loaded_from, unstemmed).search("dancing", k=3) == hits
    stemmed = load_or_build(documents, cache=tmp_path, progress=False)  # another analyzer: another entry
    assert stemmed.loaded_from is None and len(list(tmp_path.iterdir())) == 2
    assert stemmed.search("dancing", k=3)[1].score > 0.0
    assert Index.build(documents, unstemmed, progress=False).search("dancing", k=3) == hits


def test_the_default_cache_is_the_index_folder_of_the_tsqr_cache(documents):
    from tsqr.paths import cache_dir

    assert load_or_build(documents, progress=False).loaded_from is None
    again = load_or_build(documents, progress=False)
    assert again.loaded_from is not None and again.loaded_from.parent == cache_dir("index")


def test_a_writer_that_lost_the_race_leaves_no_temporary_folder_and_no_warning(documents, tmp_path, monkeypatch):
    """Two processes cache the same corpus at once: the one whose rename fails because the other's complete
    index is already in place says nothing and cleans up after itself."""
    import tsqr.paths

    rename = tsqr.paths.os.rename

    def other_process_won(source, destination):
        Index.build(documents, progress=False).save(destination)
        raise OSError(39, "Directory not empty")

    monkeypatch.setattr(tsqr.paths.os, "rename", other_process_won)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_or_build(documents, cache=tmp_path, progress=False)
    monkeypatch.setattr(tsqr.paths.os, "rename", rename)
    [entry] = tmp_path.iterdir()
    assert (entry / "meta.json").is_file()
    assert load_or_build(documents, cache=tmp_path, progress=False).loaded_from == entry
