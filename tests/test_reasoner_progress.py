"""Progress that moves per query: the llama.cpp backend (the embedded default's) hands back each reasoning of a
batch the moment its slot finishes, so the CLI's bar and `on_progress` advance per query and the cache holds a
finished reasoning before its batch ends (a batch of 1024-token reasonings takes minutes on a CPU)."""
from __future__ import annotations

import pytest
from conftest import missing_reference

from tsqr.reasoner import GenerationSettings, ReasoningCache, default_gguf_path, load_reasoner
from tsqr.reasoner.backend_llamacpp import llamacpp_available

pytestmark = pytest.mark.slow

QUERIES = ["Why does bread go stale?", "Why do cats purr?", "How do tides work?", "Why is the sky blue?"]


def test_a_batch_reports_and_caches_each_reasoning_as_it_finishes(tmp_path):
    try:
        default_gguf_path()
    except FileNotFoundError as error:
        missing_reference(f"the embedded model is missing: {error}")
    if not llamacpp_available():
        missing_reference("xllamacpp (requirements.txt) is not installed")
    cache = ReasoningCache(tmp_path / "cache.jsonl")
    settings = GenerationSettings(max_new_tokens=8, batch_size=len(QUERIES), threads=1)
    seen: list[tuple[int, int, int]] = []  # (done, total, rows in the cache file at that moment)
    with load_reasoner("default", settings, cache=cache) as reasoner:
        results = reasoner.reason(QUERIES, progress=False, on_progress=lambda done, total: seen.append(
            (done, total, len(ReasoningCache(cache.path).rows()))))
    assert [(done, total) for done, total, _ in seen] == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    assert [rows for *_, rows in seen] == [0, 1, 2, 3, 4]  # each one cached before the next is reported
    assert [result.query for result in results] == QUERIES and all(r.text.strip() for r in results)
    assert sum(r.seconds for r in results) > 0
