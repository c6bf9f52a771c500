"""Saving, loading and caching BM25 indexes: round trips give identical scores, the cache is hit, bad files
are reported by name, and a broken cache never costs a result."""
from __future__ import annotations

import dataclasses
import json
import shutil
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


def _swap_first_two_ids(folder) -> None:
    ids = json.loads((folder / "doc_ids.json").read_text(encoding="utf-8"))
    ids[0], ids[1] = ids[1], ids[0]
    (folder / "doc_ids.json").write_text(json.dumps(ids), encoding="utf-8")


def test_a_cached_index_with_swapped_ids_is_rebuilt_not_trusted(documents, tmp_path):
    """Two ids swapped in doc_ids.json keep every file well-formed and consistent: trusted, they would move
    every hit of those two documents onto the other (and nDCG with them). The content hash catches it."""
    first = load_or_build(documents, cache=tmp_path, progress=False)
    (folder,) = tmp_path.iterdir()
    _swap_first_two_ids(folder)
    with pytest.raises(ValueError, match="do not hash to the content_sha256"):
        Index.load(folder)
    with pytest.warns(UserWarning, match="rebuilding the cached index .* cannot be trusted.*content_sha256"):
        rebuilt = load_or_build(documents, cache=tmp_path, progress=False)
    assert rebuilt.loaded_from is None and rebuilt.doc_ids == [doc.id for doc in documents]
    assert rebuilt.search("bees dance", k=6) == first.search("bees dance", k=6)
    again = load_or_build(documents, cache=tmp_path, progress=False)  # the rebuilt entry replaced the bad one
    assert again.loaded_from == folder and again.search("bees dance", k=6) == first.search("bees dance", k=6)


def test_an_edited_term_list_is_caught_by_the_hash(documents, tmp_path):
    load_or_build(documents, cache=tmp_path, progress=False)
    (folder,) = tmp_path.iterdir()
    vocabulary = json.loads((folder / "vocabulary.json").read_text(encoding="utf-8"))
    vocabulary[0], vocabulary[1] = vocabulary[1], vocabulary[0]
    (folder / "vocabulary.json").write_text(json.dumps(vocabulary), encoding="utf-8")
    with pytest.warns(UserWarning, match="content_sha256"):
        assert load_or_build(documents, cache=tmp_path, progress=False).loaded_from is None
    with np.load(folder / "counts.npz") as npz:
        arrays = {name: npz[name] for name in npz.files}
    arrays["counts"] = arrays["counts"][::-1].copy()  # the same counts, given to other documents
    np.savez(folder / "counts.npz", **arrays)
    with pytest.warns(UserWarning, match="content_sha256"):
        assert load_or_build(documents, cache=tmp_path, progress=False).loaded_from is None


def test_a_rehashed_index_with_swapped_ids_is_still_checked_against_the_corpus(documents, tmp_path):
    """Even with meta.json's hash recomputed to match, the ids are compared with the documents searched."""
    from tsqr.bm25.store import read_index, write_index

    load_or_build(documents, cache=tmp_path, progress=False)
    (folder,) = tmp_path.iterdir()
    saved = read_index(folder)
    swapped = [saved.doc_ids[1], saved.doc_ids[0], *saved.doc_ids[2:]]
    write_index(folder, dataclasses.replace(saved, doc_ids=swapped))
    with pytest.warns(UserWarning, match=r"document ids differ from the corpus's from position 0 on \(\['doc1'\]"):
        assert load_or_build(documents, cache=tmp_path, progress=False).loaded_from is None


def test_an_index_of_another_corpus_put_in_this_corpus_entry_is_rebuilt(documents, tmp_path):
    """Same ids, other texts: only the corpus key recorded at build time tells the two indexes apart."""
    other_texts = [Document(doc.id, "wasps and hornets " + doc.content) for doc in documents]
    load_or_build(documents, cache=tmp_path / "mine", progress=False)
    load_or_build(other_texts, cache=tmp_path / "other", progress=False)
    (mine,) = (tmp_path / "mine").iterdir()
    (other,) = (tmp_path / "other").iterdir()
    shutil.rmtree(mine)
    shutil.copytree(other, mine)
    with pytest.warns(UserWarning, match="it was built for corpus '6docs-"):
        assert load_or_build(documents, cache=tmp_path / "mine", progress=False).loaded_from is None


def test_the_corpus_key_survives_a_save_and_load(documents, tmp_path):
    built = load_or_build(documents, cache=tmp_path, progress=False)
    assert built.corpus_key == corpus_key(documents, built.analyzer_fingerprint, built.k1, built.b)
    loaded = load_or_build(documents, cache=tmp_path, progress=False)
    assert loaded.loaded_from is not None and loaded.corpus_key == built.corpus_key
    assert Index.load(built.save(tmp_path / "copy")).corpus_key == built.corpus_key
    from_tokens = Index.from_tokens(["a"], [["x"]])
    assert Index.load(from_tokens.save(tmp_path / "tokens")).corpus_key == ""
