"""Released reasonings (tsqr.released): read from tsqr's cache where the fetcher looks, checked by checksum, fetched
over HTTP from a server this test runs (the real homes are not reachable in tests), and refused with one clear
line when offline, oversized or altered. The real TongSearch files in ../shared/data verify against the pinned
checksums and cover every BRIGHT query."""
from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.server
import json
import os
import threading
from pathlib import Path

import pytest

from conftest import SHARED_DATA
from tsqr import released
from tsqr.records import Example
from tsqr.released import RELEASED, ReleasedUnavailable, fetch, released_reasonings

QUERY = "Why does my sourdough starter smell like nail polish remover?"
REASONING = "acetone-like ethyl acetate from a hungry starter; lactobacillus and yeast fermentation byproducts"


@pytest.fixture(autouse=True)
def _fresh_memory():
    released_reasonings.cache_clear()
    yield
    released_reasonings.cache_clear()


def _tongsearch_file(payload: bytes, monkeypatch) -> released.Released:
    """TongSearch-QR-7B's catalog entry pinned to `payload`'s checksum (the real one pins the real file)."""
    entry = dataclasses.replace(RELEASED["tongsearch-qr-7b"], sha256=hashlib.sha256(payload).hexdigest())
    monkeypatch.setitem(RELEASED, entry.name, entry)
    return entry


def test_a_cached_tongsearch_file_is_read_without_any_download(monkeypatch):
    payload = json.dumps({QUERY: REASONING}).encode()
    entry = _tongsearch_file(payload, monkeypatch)
    path = entry.cached_path(None)
    path.parent.mkdir(parents=True)
    path.write_bytes(payload)
    source = released_reasonings(entry.name)
    assert source.text_for(Example("q1", QUERY, ("d",))) == REASONING
    assert source.text_for(Example("q2", "another question", ("d",))) is None
    assert released_reasonings(entry.name) is source  # read once, shared


def test_offline_and_not_cached_says_what_was_not_fetched(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    expected = r"HF_HUB_OFFLINE is set.*raw\.githubusercontent\.com/bigai-nlco"
    with pytest.raises(ReleasedUnavailable, match=expected) as refused:
        released_reasonings("tongsearch-qr-1.5b")
    assert os.environ["TSQR_CACHE"] not in str(refused.value)  # a public app shows it: no path of the server's


def test_an_altered_cached_file_is_refused_and_deleted(monkeypatch):
    entry = _tongsearch_file(b'{"q": "r"}', monkeypatch)
    path = entry.cached_path(None)
    path.parent.mkdir(parents=True)
    path.write_bytes(b'{"q": "something else"}')
    with pytest.raises(ReleasedUnavailable, match="expected " + entry.sha256):
        fetch(entry)
    assert not path.exists()


def test_bright_reasonings_are_per_domain_and_only_for_bright_domains():
    pandas = pytest.importorskip("pandas")
    entry = RELEASED["bright-gpt4"]
    path = entry.cached_path("earth-science")
    assert path.name == "earth_science-00000-of-00001.parquet" and path.parent.name == "gpt4_reason"
    path.parent.mkdir(parents=True)
    pandas.DataFrame({"id": ["0", "1"], "query": ["gpt-4 reasoning zero", "gpt-4 reasoning one"]}).to_parquet(path)
    source = released_reasonings("bright-gpt4", "earth_science")
    assert source.text_for(Example("1", "the question, whatever its text", ())) == "gpt-4 reasoning one"
    for corpus in ("demo", "../../etc", None):  # a corpus's name never reaches the URL or the cache path
        with pytest.raises(ReleasedUnavailable, match="cover BRIGHT's 12 domains"):
            released_reasonings("bright-gpt4", corpus)


@pytest.fixture()
def file_server(tmp_path, monkeypatch):
    """An HTTP server on 127.0.0.1 serving tmp_path/www, standing in for the released files' homes."""
    root = tmp_path / "www"
    root.mkdir()
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):
            requests.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(released, "TONGSEARCH_URL", f"http://127.0.0.1:{server.server_port}/{{commit}}/{{file}}")
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")
    yield root, requests
    server.shutdown()
    server.server_close()


def test_fetched_once_then_read_from_the_cache(file_server, monkeypatch):
    root, requests = file_server
    payload = json.dumps({QUERY: REASONING}).encode()
    entry = _tongsearch_file(payload, monkeypatch)
    (root / entry.commit).mkdir()
    (root / entry.commit / entry.file).write_bytes(payload)
    assert fetch(entry).read_bytes() == payload
    assert fetch(entry) == entry.cached_path(None)
    assert len([r for r in requests if entry.file in r]) == 1
    assert released_reasonings(entry.name).text_for(Example("q", QUERY, ())) == REASONING


def test_a_download_that_is_too_big_or_altered_leaves_nothing_behind(file_server, monkeypatch):
    root, _ = file_server
    entry = _tongsearch_file(b"{}", monkeypatch)
    (root / entry.commit).mkdir()
    (root / entry.commit / entry.file).write_bytes(b'{"q": "' + b"x" * 5000 + b'"}')
    monkeypatch.setattr(released, "MAX_BYTES", 1000)
    with pytest.raises(ReleasedUnavailable, match="larger than"):
        fetch(entry)
    monkeypatch.setattr(released, "MAX_BYTES", 1 << 20)
    with pytest.raises(ReleasedUnavailable, match="expected"):
        fetch(entry)
    assert list(entry.cached_path(None).parent.iterdir()) == []
    with pytest.raises(ReleasedUnavailable, match="could not fetch .*404"):
        fetch(dataclasses.replace(entry, file="missing.json"))


@pytest.mark.parametrize("size", ["1.5B", "7B"])
def test_the_real_released_files_match_the_pinned_checksums_and_cover_bright(size):
    real = SHARED_DATA / "tongsearch" / f"TongSearch-QR-{size}_reasoned_BRIGHT_queries.json"
    topics = SHARED_DATA / "bright" / "anserini-tools" / "topics"
    if not real.is_file() or not topics.is_dir():
        pytest.skip(f"{real} or {topics} absent (real data is not on users' machines)")
    entry = RELEASED[f"tongsearch-qr-{size.lower()}"]
    path = entry.cached_path(None)
    path.parent.mkdir(parents=True)
    path.symlink_to(real)  # where the fetcher looks, as a download would have left it
    source = released_reasonings(entry.name)
    examples = [Example(row["id"], row["query"], tuple(row["gold_ids"]))
                for file in sorted(topics.glob("topics.bright-*-original.jsonl.gz"))
                for row in map(json.loads, gzip.open(file, "rt", encoding="utf-8"))]
    assert len(examples) == 1384 and str(source.coverage(examples)) == "1384/1384 examples (100.0%)"
