"""Building the RL training set from every supported shape, with skipped rows reported and bad input refused."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from train.build_dataset import build_parser, main
from train.data_sources import Collected, clean_query, read_bright
from train.dataset import TrainExample, TrainingSet
from tsqr.bright import DataError
from tsqr.records import Document
from tsqr.reasoner.prompts import TONGSEARCH_INSTRUCTIONS

SMOKE = Path(__file__).resolve().parents[1] / "train" / "data" / "smoke.jsonl"


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def run(tmp_path: Path, *args: str) -> tuple[TrainingSet, dict]:
    out = tmp_path / "built"
    assert main([*args, "--out", str(out)]) == 0
    training_set = TrainingSet.read(out)
    return training_set, json.loads((out / "manifest.json").read_text())


def test_smoke_set_builds_with_heldout_split_and_mined_negatives(tmp_path: Path, capsys) -> None:
    training_set, manifest = run(tmp_path, "--jsonl", str(SMOKE), "--heldout", "6", "--mine-negatives", "2")
    assert len(training_set.examples) == 18 and len(training_set.heldout) == 6
    assert manifest["counts"]["skipped"] == 0 and manifest["rows_read"] == {str(SMOKE): 24}
    ids = training_set.document_map()
    assert len(ids) == 48  # 24 answers + 24 lexical traps, each stored once
    for example in training_set.examples + training_set.heldout:
        assert len(example.positive_ids) == 1 and not set(example.positive_ids) & set(example.negative_ids)
        assert len(example.negative_ids) == 4  # the row's trap and one other answer, plus two mined
    assert not {e.id for e in training_set.examples} & {e.id for e in training_set.heldout}
    assert "18 training queries, 6 held out, 48 documents" in capsys.readouterr().out


def test_mined_negatives_are_the_top_bm25_non_positives(tmp_path: Path) -> None:
    rows = [{"id": "q", "query": "purring cats", "positives": ["Laryngeal muscles make the glottis vibrate."]},
            {"id": "r", "query": "sourdough", "positives": ["Yeast ferments flour."]}]
    corpus = write_jsonl(tmp_path / "corpus.jsonl", [
        {"id": "cats", "content": "Cats and purring: a photo gallery of cats purring."},
        {"id": "dogs", "content": "Dogs bark."}])
    training_set, _ = run(tmp_path, "--jsonl", str(write_jsonl(tmp_path / "rows.jsonl", rows)), "--corpus",
                          str(corpus), "--mine-negatives", "3")
    by_id = {e.id: e for e in training_set.examples}
    assert by_id["q"].negative_ids == ("cats",)  # only documents BM25 scores above zero are mined
    assert "dogs" not in training_set.document_map()  # unreferenced corpus documents are left out...
    kept, _ = run(tmp_path, "--jsonl", str(tmp_path / "rows.jsonl"), "--corpus", str(corpus), "--keep-all-documents")
    assert "dogs" in kept.document_map()  # ...unless asked for


def test_tongsearch_json_shape_with_instruction_prefix_and_bad_entries(tmp_path: Path, capsys) -> None:
    prefixed = TONGSEARCH_INSTRUCTIONS + "Question: How do plants sense gravity?"
    source = {prefixed: ["Statoliths settle in root cap cells.", "Amyloplasts sediment."],
              "Why is the sea salty?": "Rivers carry dissolved minerals to the ocean.",
              "Empty answer?": [],
              "Bad answer type?": [42]}
    path = tmp_path / "V1-R1.json"
    path.write_text(json.dumps(source), encoding="utf-8")
    training_set, manifest = run(tmp_path, "--tongsearch", str(path))
    queries = {e.query: e for e in training_set.examples}
    assert set(queries) == {"How do plants sense gravity?", "Why is the sea salty?"}
    assert len(queries["How do plants sense gravity?"].positive_ids) == 2
    reasons = {item["reason"] for item in manifest["skipped"]}
    assert reasons == {"no positive document text", "documents[0] is neither a text nor an {id, content} object"}
    assert all(item["where"].startswith(str(path)) for item in manifest["skipped"])
    assert "skipped or trimmed 2 rows" in capsys.readouterr().out


def test_plain_rows_resolve_ids_and_report_what_they_skip(tmp_path: Path) -> None:
    corpus = write_jsonl(tmp_path / "corpus.jsonl", [{"id": "d1", "content": "one"}, {"id": "d2", "content": "two"},
                                                     {"content": "no id"}])
    rows = write_jsonl(tmp_path / "rows.jsonl", [
        {"id": "a", "query": "first", "positive_ids": ["d1", "ghost"], "negative_ids": ["d2", "d1"]},
        {"id": "b", "query": "second", "positive_ids": ["ghost"]},
        {"id": "c", "query": "  "},
        {"id": "d", "query": "third", "positives": "inline text", "negatives": [{"id": "d2", "content": "two"}]},
        {"id": "a", "query": "fourth", "positive_ids": ["d1"]},
        {"id": "e", "query": "first", "positive_ids": ["d2"]},
        {"id": "f", "query": "fifth", "positive_ids": "d1", "negatives": 7},
    ])
    training_set, manifest = run(tmp_path, "--jsonl", str(rows), "--corpus", str(corpus))
    by_id = {e.id: e for e in training_set.examples}
    assert set(by_id) == {"a", "d"}
    assert by_id["a"].positive_ids == ("d1",) and by_id["a"].negative_ids == ("d2",)  # a positive is never negative
    reasons = [item["reason"] for item in manifest["skipped"]]
    assert any("corpus row needs an 'id'" in r for r in reasons)
    assert any("1 unknown positive id(s) dropped: ['ghost']" in r for r in reasons)
    assert any("none of its positive ids is a known document" in r for r in reasons)
    assert any("missing or empty 'query'" in r for r in reasons)
    assert any("duplicate example id" in r for r in reasons)
    assert any("same query text as example 'a'" in r for r in reasons)
    assert any("field 'negatives' must be a list" in r for r in reasons)
    assert any("line 3" in item["where"] for item in manifest["skipped"])


def test_one_id_with_two_texts_stops_the_build_naming_both_places(tmp_path: Path, capsys) -> None:
    rows = write_jsonl(tmp_path / "rows.jsonl", [
        {"query": "q1", "positives": [{"id": "x", "content": "first text"}]},
        {"query": "q2", "positives": [{"id": "x", "content": "other text"}]}])
    assert main(["--jsonl", str(rows), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert "document id 'x' has a different text" in error and "line 1" in error and "line 2" in error


def test_bright_evaluation_domains_are_refused_without_force(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="BRIGHT evaluation domain.*--force"):
        read_bright(str(tmp_path), "earth-science", Collected())


def test_bright_format_files_of_another_domain_are_used(tmp_path: Path) -> None:
    examples = write_jsonl(tmp_path / "examples.jsonl", [
        {"id": "1", "query": "How do bees find flowers?", "gold_ids": ["bee"], "excluded_ids": ["N/A"]},
        {"id": "2", "query": "No judgements here", "gold_ids": [], "excluded_ids": []}])
    documents = write_jsonl(tmp_path / "documents.jsonl", [
        {"id": "bee", "content": "Bees see ultraviolet nectar guides."},
        {"id": "ant", "content": "Ants follow pheromone trails to flowers."}])
    training_set, manifest = run(tmp_path, "--bright", str(examples), "--bright-documents", str(documents),
                                 "--domain", "pollinators", "--mine-negatives", "1")
    (example,) = training_set.examples
    assert example.id == "pollinators-1" and example.positive_ids == ("bee",) and example.negative_ids == ("ant",)
    assert [item["reason"] for item in manifest["skipped"]] == ["no gold_ids"]


def test_cli_refuses_nonsense_before_reading(tmp_path: Path, capsys) -> None:
    assert main(["--out", str(tmp_path / "o")]) == 2
    assert "no training data given" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:  # a parse error: the one-line parser exits at once
        main(["--jsonl", str(SMOKE), "--heldout", "-1", "--out", str(tmp_path / "o")])
    assert refused.value.code == 2 and "--heldout: expected a whole number >= 0" in capsys.readouterr().err
    assert main(["--jsonl", str(SMOKE), "--heldout", "24", "--out", str(tmp_path / "o")]) == 2
    assert "leaves nothing to train on" in capsys.readouterr().err
    assert main(["--jsonl", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o")]) == 2
    assert "file not found" in capsys.readouterr().err
    assert build_parser().parse_args(["--out", "x"]).seed == 2025


def test_clean_query_strips_only_the_tongsearch_block() -> None:
    assert clean_query(TONGSEARCH_INSTRUCTIONS + "Query: Why?") == "Why?"
    assert clean_query("  Instructions are on the box. Why?  ") == "Instructions are on the box. Why?"


def test_reading_a_folder_validates_what_the_trainers_rely_on(tmp_path: Path) -> None:
    good = TrainingSet([TrainExample("a", "q", ("d1",))], [Document("d1", "text")])
    good.write(tmp_path / "ok")
    assert TrainingSet.read(tmp_path / "ok").examples == good.examples
    with pytest.raises(ValueError, match="no train.parquet"):
        TrainingSet.read(tmp_path / "nowhere")
    broken = TrainingSet([TrainExample("a", "q", ("d9",))], [Document("d1", "text")])
    with pytest.raises(ValueError, match=r"train.parquet row 1 \(id 'a'\).*\['d9'\]"):
        broken.write(tmp_path / "bad")
    with pytest.raises(ValueError, match="no positive documents"):
        TrainingSet([TrainExample("a", "q", ())], [Document("d1", "text")]).validate()
