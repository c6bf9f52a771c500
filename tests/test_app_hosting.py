"""What the app does for a public host beyond its policy: Gradio's cache in a folder of the app's own, emptied at
start-up; ids cut for display (escaped still); the cache state of a reasoning not shown in public mode; uploaded
queries cut to the query bound before any reasoning. (The same through the running app: test_app_public_live.py.)"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tsqr.app.corpora import CorpusStore
from tsqr.app.evaluation import DataChoice, EvaluationJob, ReasoningChoice
from tsqr.app.gradio_cache import own_gradio_cache, sweep_gradio_caches
from tsqr.app.highlight import Snippet
from tsqr.app.render import SHOWN_ID_CHARS, cost_markdown, results_html
from tsqr.app.search import ResultRow, SideResults
from tsqr.evaluate import EvaluationConfig
from tsqr.reasoner import CacheRow

ROOT = Path(__file__).resolve().parents[1]


def test_each_run_keeps_gradio_files_in_a_folder_of_its_own(tmp_path):
    env = {"GRADIO_TEMP_DIR": str(tmp_path)}
    folder = own_gradio_cache(env)
    assert folder == tmp_path / f"tsqr-gradio-{os.getpid()}" and folder.is_dir()
    assert env["GRADIO_TEMP_DIR"] == str(folder)
    assert own_gradio_cache(env) == folder  # asked again (a second import, a child): the same folder


def _run_elsewhere(base: Path, *, stay: bool) -> subprocess.Popen:
    """Another process that takes its own tsqr Gradio folder under `base`, writes a file, and lives on (stay) or
    is killed with SIGKILL once the file is there."""
    code = ("import os, sys, time; from tsqr.app.gradio_cache import own_gradio_cache; "
            "folder = own_gradio_cache(); (folder / 'upload.jsonl').write_text('{}'); print(folder, flush=True); "
            "time.sleep(600)")
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "GRADIO_TEMP_DIR": str(base), "PYTHONPATH": str(ROOT)})
    assert Path(process.stdout.readline().strip()).is_dir()
    if not stay:
        process.kill()
        process.wait()
    return process


def test_a_start_sweeps_what_killed_runs_left_and_nothing_else(tmp_path):
    killed, running = _run_elsewhere(tmp_path, stay=False), _run_elsewhere(tmp_path, stay=True)
    try:
        neighbour = tmp_path / "someone-else.txt"
        neighbour.write_text("keep me")
        folder = own_gradio_cache({"GRADIO_TEMP_DIR": str(tmp_path)})
        (folder / "stale").mkdir()  # a reused pid may find files in its own folder
        assert sweep_gradio_caches(folder) == 3  # its own stale folder, the killed run's folder and file
        assert not (tmp_path / f"tsqr-gradio-{killed.pid}").exists() and list(folder.iterdir()) == []
        assert (tmp_path / f"tsqr-gradio-{running.pid}" / "upload.jsonl").is_file()  # a live app's files stay
        assert neighbour.read_text() == "keep me"
        with pytest.raises(ValueError, match="not a tsqr Gradio cache folder"):
            sweep_gradio_caches(tmp_path)  # any other folder is refused
    finally:
        running.kill()
        running.wait()


def _side(doc_id: str) -> SideResults:
    return SideResults("raw", "q", [ResultRow(1, doc_id, 1.0, Snippet("text", 0, 4, ()), False)], None)


def test_a_long_id_is_cut_for_display_and_stays_escaped():
    long_id = '<b onmouseover="x">' + "x" * 1_000_000
    column = results_html(_side(long_id), "raw")
    assert len(column) < 3 * SHOWN_ID_CHARS + 1000  # not two megabytes per column
    assert "<b onmouseover" not in column and "&lt;b onmouseover=&quot;x&quot;&gt;" in column
    assert "\u2026" in column
    short = results_html(_side("doc-1"), "raw")
    assert 'data-doc-id="doc-1"' in short and "\u2026" not in short


def test_public_mode_shows_a_cached_reasoning_as_its_generation():
    row = CacheRow(key="k", query="why", text="because", model="m", template="tongsearch", new_tokens=64,
                   seconds=2.0)
    generated = cost_markdown(row, True, "CPU", "BM25", 0.004)
    assert cost_markdown(row, False, "CPU", "BM25", 0.004, reveal_cache=False) == generated  # nothing to learn from
    assert "from the reasoning cache" in cost_markdown(row, False, "CPU", "BM25", 0.004)  # a local user still sees it


def _upload(folder: Path, query_chars: int) -> tuple[Path, Path]:
    folder.mkdir()
    examples, documents = folder / "examples.jsonl", folder / "documents.jsonl"
    rows = [{"id": "long", "query": ("why does ice float " * query_chars)[:query_chars], "gold_ids": ["ice"]},
            {"id": "short", "query": "why does bread go stale", "gold_ids": ["bread"]}]
    examples.write_text("\n".join(json.dumps(row) for row in rows))
    documents.write_text("\n".join(json.dumps({"id": doc_id, "content": text}) for doc_id, text in
                                   [("ice", "ice floats as water expands when it freezes"),
                                    ("bread", "bread goes stale as starch recrystallises")]))
    return examples, documents


def test_uploaded_queries_are_cut_like_typed_ones_before_anything_uses_them(tmp_path):
    store = CorpusStore(index_cache=tmp_path / "indexes")
    job = EvaluationJob(store, tmp_path / "out", EvaluationConfig(measures=("nDCG@10",)), ReasoningChoice(),
                        max_query_chars=100)
    for update in job.run(DataChoice(files=_upload(tmp_path / "upload", 10_000))):  # within tsqr.bright's own cap
        pass
    assert update.done and not update.error
    assert update.warnings == ["[uploaded] 1 uploaded query was cut to 100 characters (this server's "
                               "TSQR_MAX_QUERY_CHARS), as typed queries are; the rest was neither searched nor "
                               "reasoned about"]
    searched = update.reports[0].raw.searched
    assert len(searched["long"]) == 100 and searched["short"] == "why does bread go stale"
    stored = store.get(update.corpus_ids[0]).domain
    assert [len(example.query) for example in stored.examples] == [100, 23]  # what the Search tab offers too
