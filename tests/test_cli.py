"""The command line end to end: instant help, and a real BRIGHT domain (queries + qrels from ../shared) evaluated
raw vs TongSearch-QR reasoned against a corpus file supplied separately, as a user without the hub would."""
from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tsqr.__main__ import main

REPO = Path(__file__).resolve().parents[1]


def test_help_is_instant_because_nothing_heavy_is_imported():
    code = ("import sys, tsqr.__main__ as m; m.build_parser(); "
            "heavy = [n for n in ('torch', 'transformers', 'gradio', 'datasets', 'pandas') if n in sys.modules]; "
            "print(heavy); raise SystemExit(1 if heavy else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    help_text = subprocess.run([sys.executable, "-m", "tsqr", "evaluate", "--help"], cwd=REPO,
                               capture_output=True, text=True)
    assert "--reasoned" in help_text.stdout and "--scoring" in help_text.stdout


def _corpus_for(topics: Path, path: Path, limit: int) -> None:
    """A corpus in which each query's gold documents hold BRIGHT's own human reasoning for that query, and every
    other query's text is a distractor: enough to run the real pipeline; the numbers say nothing about BRIGHT."""
    with gzip.open(topics, "rt") as handle:
        rows = [json.loads(line) for line in handle][:limit]
    with path.open("w") as out:
        seen = set()
        for row in rows:
            for gold in row["gold_ids"]:
                if gold not in seen:
                    seen.add(gold)
                    out.write(json.dumps({"id": gold, "content": row["reasoning"]}) + "\n")
            out.write(json.dumps({"id": f"distractor-{row['id']}", "content": row["query"]}) + "\n")


def test_evaluate_real_queries_and_qrels_with_a_supplied_corpus(shared_data, tmp_path, capsys):
    anserini = shared_data / "bright" / "anserini-tools"
    corpus = tmp_path / "corpus.jsonl"
    _corpus_for(anserini / "topics" / "topics.bright-biology-original.jsonl.gz", corpus, limit=20)
    reasoned = shared_data / "tongsearch" / "TongSearch-QR-7B_reasoned_BRIGHT_queries.json"
    out = tmp_path / "out"
    code = main(["evaluate", "--data", str(anserini), "--domain", "biology", "--documents", str(corpus),
                 "--reasoned", str(reasoned), "--limit", "20", "--out", str(out)])
    assert code == 0
    table = capsys.readouterr().out
    assert "biology" in table and "nDCG@10" in table
    results = json.loads((out / "results.json").read_text())["biology"]
    assert results["queries"] == 20 and results["missing_reasoning"] == []
    for side in ("raw", "reasoned"):
        assert 0.0 < results["mean"][side]["nDCG@10"] <= 1.0
    assert (out / "biology.reasoned.trec").stat().st_size > 0


def test_missing_corpus_is_a_clear_error(shared_data, capsys):
    anserini = shared_data / "bright" / "anserini-tools"
    assert main(["evaluate", "--data", str(anserini), "--domain", "biology"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "no documents" in error and "--documents" in error


def test_export_reasonings_writes_tongsearch_json_that_loads_back(tmp_path, capsys):
    import os

    from tsqr.reasoner.cache import CacheRow, ReasoningCache
    from tsqr.reasonings import load_reasonings
    from tsqr.records import Example

    folder = Path(os.environ["TSQR_CACHE"]) / "reasoning"
    folder.mkdir(parents=True, exist_ok=True)
    rows = [CacheRow(key=f"k{i}", query=f"why {i}?", text=f"because {i}", model="m", template=template)
            for i, template in enumerate(["tongsearch", "tongsearch", "hyde"])]
    ReasoningCache(folder / "my-model.jsonl").append(rows)
    out = tmp_path / "mine.json"
    assert main(["export-reasonings", "my-model", str(out), "--template", "tongsearch"]) == 0
    assert json.loads(out.read_text()) == {"why 0?": "because 0", "why 1?": "because 1"}
    released_shape = load_reasonings(out)  # read like TongSearch's own files
    assert released_shape.text_for(Example(id="q1", query="why 1?", gold_ids=())) == "because 1"
    assert main(["export-reasonings", "no-such-cache", str(out)]) == 2
    error = capsys.readouterr().err
    assert "no reasoning cache 'no-such-cache'" in error and "my-model" in error


def test_export_reasonings_refuses_to_mix_settings_and_lists_them(tmp_path, capsys):
    import os

    from tsqr.reasoner.cache import CacheRow, ReasoningCache

    folder = Path(os.environ["TSQR_CACHE"]) / "reasoning"
    folder.mkdir(parents=True, exist_ok=True)
    short, long = {"max_new_tokens": 64, "temperature": 0.0}, {"max_new_tokens": 1024, "temperature": 0.0}
    ReasoningCache(folder / "mixed.jsonl").append([
        CacheRow(key="a", query="why?", text="short answer", model="m", template="tongsearch", settings=short),
        CacheRow(key="b", query="why?", text="long answer", model="m", template="tongsearch", settings=long),
        CacheRow(key="c", query="how?", text="long how", model="m", template="tongsearch", settings=long),
    ])
    out = tmp_path / "mine.json"
    assert main(["export-reasonings", "mixed", str(out)]) == 2
    error = capsys.readouterr().err
    assert not out.exists() and "2 different settings" in error and "--setting" in error
    listed = [line.split() for line in error.splitlines() if "max_new_tokens=" in line]
    assert len(listed) == 2  # one line per setting: its id, its row count, what it is
    by_tokens = {next(word for word in words if word.startswith("max_new_tokens=")): words for words in listed}
    assert by_tokens["max_new_tokens=64"][1] == "1" and by_tokens["max_new_tokens=1024"][1] == "2"

    assert main(["export-reasonings", "mixed", str(out), "--setting", by_tokens["max_new_tokens=1024"][0]]) == 0
    assert json.loads(out.read_text()) == {"why?": "long answer", "how?": "long how"}
    assert main(["export-reasonings", "mixed", str(out), "--setting", "00000000"]) == 2
    assert "no rows with setting '00000000'" in capsys.readouterr().err
