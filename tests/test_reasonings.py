"""tsqr.reasonings: TongSearch's query->reasoning JSON, BRIGHT's <model>_reason rows (by id) and tsqr's cache
(by query, later rows win) all answer `text_for(example)`; our reasonings export in TongSearch's exact format.
Fixtures are written here; the real TongSearch files are checked when ../shared/data is present."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tsqr.bright import BRIGHT_DOMAINS, DataError, load_domain
from tsqr.reasonings import (
    load_bright_reasonings,
    load_reasoning_cache,
    load_reasonings,
    load_tongsearch_json,
    write_tongsearch_json,
)
from tsqr.records import Example, Reasoning

EXAMPLES = [
    Example("0", "Why do moths circle lamps?\nI saw it last night.", ("d1",)),
    Example("1", "How do roots sense gravity?", ("d2",)),
    Example("2", "What is a statolith?", ("d3",)),
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_tongsearch_json_is_looked_up_by_query_text(tmp_path):
    path = write_tongsearch_json({EXAMPLES[0].query: "Moths use transverse orientation.",
                                  EXAMPLES[1].query: "Statoliths settle in root cap cells."}, tmp_path / "ts.json")
    source = load_tongsearch_json(path)
    assert source.text_for(EXAMPLES[0]) == "Moths use transverse orientation."
    assert source.text_for(EXAMPLES[2]) is None
    # The id does not matter for text-keyed sources: a query shared by two domains finds the same reasoning.
    assert source.text_for(Example("other-domain-7", EXAMPLES[1].query, ())) == "Statoliths settle in root cap cells."
    coverage = source.coverage(EXAMPLES)
    assert (coverage.total, coverage.found, coverage.missing) == (3, 2, ["2"])
    assert str(coverage) == "2/3 examples (66.7%)"
    assert source.texts_for(EXAMPLES) == {"0": "Moths use transverse orientation.",
                                          "1": "Statoliths settle in root cap cells."}
    assert load_reasonings(path).by_query == source.by_query


def test_whitespace_differences_fall_back_to_collapsed_text_only_when_unambiguous(tmp_path):
    source = load_tongsearch_json(write_tongsearch_json({
        "Why do moths circle lamps?\nI saw it last night. ": "moths",
        "A  question": "first", "A\nquestion": "second",      # collapse to the same text, different reasonings
        "B  question": "same", "B\tquestion": "same",         # collapse together but agree
    }, tmp_path / "ts.json"))
    flattened = Example("0", "Why do moths circle lamps? I saw it last night.", ())
    assert source.text_for(flattened) == "moths"
    assert source.text_for(Example("x", "A question", ())) is None
    assert source.text_for(Example("x", "A  question", ())) == "first"  # exact text always wins
    assert source.text_for(Example("y", "B question", ())) == "same"


def test_write_tongsearch_json_matches_their_format_and_takes_reasoning_records(tmp_path):
    path = write_tongsearch_json([Reasoning("Qu'est-ce qu'un café ?", "Un café est…", model="m"),
                                  Reasoning("Second?", "Two\nlines")], tmp_path / "out" / "r.json")
    data = path.read_bytes()
    assert data == json.dumps({"Qu'est-ce qu'un café ?": "Un café est…", "Second?": "Two\nlines"},
                              ensure_ascii=False).encode()
    assert b"\n" not in data and "café".encode() in data
    with pytest.raises(DataError, match="every key and value must be text"):
        write_tongsearch_json({"q": None}, tmp_path / "bad.json")


def test_bright_reason_config_is_matched_by_id_from_a_hub_copy(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "BRIGHT" / "gpt4_reason"
    folder.mkdir(parents=True)
    rows = [{"id": "0", "query": "GPT-4 reasoning about moths", "gold_ids": ["d1"]},
            {"id": "2", "query": "GPT-4 reasoning about statoliths", "gold_ids": ["d3"]}]
    pq.write_table(pa.Table.from_pylist(rows), folder / "biology-00000-of-00001.parquet")
    pq.write_table(pa.Table.from_pylist([{"id": "0", "query": "pony text", "gold_ids": []}]),
                   folder / "pony-00000-of-00001.parquet")
    for source in (load_bright_reasonings(tmp_path / "BRIGHT", "biology", "gpt4"),
                   load_reasonings(tmp_path / "BRIGHT", domain="biology", model="gpt4_reason"),
                   load_reasonings(folder / "biology-00000-of-00001.parquet")):
        assert source.texts_for(EXAMPLES) == {"0": "GPT-4 reasoning about moths", "2": "GPT-4 reasoning about statoliths"}
    with pytest.raises(DataError, match=r"need domain= and model= \(one of gpt4_reason\)"):
        load_reasonings(tmp_path / "BRIGHT")
    with pytest.raises(DataError, match="no llama3-70b_reason/biology"):
        load_bright_reasonings(tmp_path / "BRIGHT", "biology", "llama3-70b")


def test_bright_reason_rows_with_duplicate_ids_are_refused(tmp_path):
    path = write_jsonl(tmp_path / "gpt4_reason.jsonl", [{"id": "0", "query": "a"}, {"id": "0", "query": "b"}])
    with pytest.raises(DataError, match=r"gpt4_reason.jsonl: line 2: field 'id': duplicate id '0'"):
        load_reasonings(path)


def test_reasoning_cache_later_rows_win_and_models_are_kept_apart(tmp_path):
    cache = tmp_path / "reasoning"
    write_jsonl(cache / "a.jsonl", [
        {"key": "k1", "query": EXAMPLES[0].query, "text": "old", "model": "smol", "template": "t"},
        {"key": "k2", "query": EXAMPLES[1].query, "text": "roots", "model": "smol", "template": "t"},
    ])
    write_jsonl(cache / "b.jsonl", [{"key": "k1", "query": EXAMPLES[0].query, "text": "new", "model": "smol"}])
    source = load_reasoning_cache(cache)
    assert source.texts_for(EXAMPLES) == {"0": "new", "1": "roots"}
    assert load_reasonings(cache).by_query == source.by_query
    assert load_reasonings(cache / "a.jsonl").text_for(EXAMPLES[0]) == "old"

    write_jsonl(cache / "c.jsonl", [{"key": "k9", "query": EXAMPLES[2].query, "text": "from qwen", "model": "qwen"}])
    with pytest.raises(DataError, match=r"several models \(qwen, smol\): choose one with model="):
        load_reasoning_cache(cache)
    assert load_reasoning_cache(cache, model="qwen").texts_for(EXAMPLES) == {"2": "from qwen"}
    with pytest.raises(DataError, match="no reasonings by model 'gpt'; found qwen, smol"):
        load_reasoning_cache(cache, model="gpt")


@pytest.mark.parametrize("content, expected", [
    ('{"q": ["not", "text"]}', "key 'q': expected the reasoning as text, got list"),
    ('{"query": "q", "text": 3}\n', "line 1: field 'text': expected text, got int"),
    ('{"query": "q", "text": "t"}\n{"query": null, "text": "t"}\n', "line 2: field 'query': expected text, got null"),
    ('[{"question": "q", "answer": "a"}]', "not a reasoning file"),
    ('"just a string"', "expected a JSON list of records, got a JSON str"),
])
def test_bad_reasoning_files_name_file_line_and_field(tmp_path, content, expected):
    path = tmp_path / ("r.json" if content.startswith(('"', "[")) or content.endswith("}") else "r.jsonl")
    path.write_text(content)
    with pytest.raises(DataError) as caught:
        load_reasonings(path)
    assert str(path) in str(caught.value) and expected in str(caught.value)


def test_missing_sources(tmp_path):
    with pytest.raises(DataError, match="reasoning file not found"):
        load_reasonings(tmp_path / "nothing.json")
    with pytest.raises(DataError, match="no .jsonl reasoning cache files"):
        load_reasonings(tmp_path)


@pytest.mark.parametrize("model", ["1.5B", "7B"])
def test_tongsearch_release_covers_every_bright_query(shared_data, model, tmp_path):
    path = shared_data / "tongsearch" / f"TongSearch-QR-{model}_reasoned_BRIGHT_queries.json"
    source = load_reasonings(path)
    assert len(source.by_query) == 1308
    anserini = shared_data / "bright" / "anserini-tools"
    examples = [ex for name in BRIGHT_DOMAINS for ex in load_domain(anserini, name).examples]
    assert len(examples) == 1384
    assert sum(ex.query in source.by_query for ex in examples) == 1384  # exact text: no normalising needed
    coverage = source.coverage(examples)
    assert (coverage.found, coverage.missing) == (1384, [])
    # Anserini's .tsv topics flatten newlines: exact text then misses most queries, collapsed whitespace none.
    flat = [Example(ex.id, " ".join(ex.query.split()), ex.gold_ids) for ex in examples]
    assert sum(ex.query in source.by_query for ex in flat) < 400
    assert source.coverage(flat).found == 1384
    assert all(source.text_for(a) == source.text_for(b) for a, b in zip(examples, flat))
    # Our writer reproduces their file byte for byte.
    assert write_tongsearch_json(source.by_query, tmp_path / "copy.json").read_bytes() == path.read_bytes()


def test_another_systems_rewrites_in_examples_shape_load_by_id(tmp_path):
    """INF-X-Retriever releases its rewrites as BRIGHT examples whose query field is the rewrite."""
    rows = [{"id": ex.id, "query": f"rewritten: {ex.query.split('?')[0]}", "gold_ids": list(ex.gold_ids),
             "excluded_ids": ["N/A"], "reasoning": "", "gold_answer": "N/A"} for ex in EXAMPLES[:2]]
    source = load_reasonings(write_jsonl(tmp_path / "rewrites.jsonl", rows))
    coverage = source.check_usable(EXAMPLES, "rewrites.jsonl")
    assert (coverage.found, coverage.missing) == (2, ["2"])
    assert source.texts_for(EXAMPLES) == {"0": "rewritten: Why do moths circle lamps", "1": "rewritten: How do roots sense gravity"}


def test_the_examples_file_itself_is_refused_as_reasonings(tmp_path):
    rows = [{"id": ex.id, "query": ex.query, "gold_ids": list(ex.gold_ids)} for ex in EXAMPLES]
    source = load_reasonings(write_jsonl(tmp_path / "examples.jsonl", rows))
    with pytest.raises(DataError, match="examples.jsonl: every reasoning equals its query"):
        source.check_usable(EXAMPLES, "examples.jsonl")
    stray = load_tongsearch_json(write_tongsearch_json({"unrelated": "text"}, tmp_path / "stray.json"))
    with pytest.raises(DataError, match="stray.json: no reasoning matches any query"):
        stray.check_usable(EXAMPLES, "stray.json")


# ---------------------------------------------------------------- every format under the same caps

def test_reasonings_past_the_cap_are_refused_in_every_format(tmp_path, monkeypatch):
    monkeypatch.setenv("TSQR_MAX_REASONING_CHARS", "20")
    long = "r" * 21
    tongsearch = tmp_path / "ts.json"
    tongsearch.write_text(json.dumps({EXAMPLES[0].query: "fine", EXAMPLES[1].query: long}))
    with pytest.raises(DataError, match=rf"^{tongsearch}: key 'How do roots sense gravity\?': reasoning of 21 "
                                        r"characters, more than 20 \(TSQR_MAX_REASONING_CHARS\)$"):
        load_reasonings(tongsearch)
    rows = write_jsonl(tmp_path / "export.jsonl", [{"query": EXAMPLES[0].query, "text": long, "model": "m"}])
    with pytest.raises(DataError, match=rf"^{rows}: line 1: reasoning of 21 characters, more than 20"):
        load_reasonings(rows)
    bright = write_jsonl(tmp_path / "gpt4_reason.jsonl", [{"id": "0", "query": long}])
    with pytest.raises(DataError, match=rf"^{bright}: line 1: reasoning of 21 characters"):
        load_reasonings(bright)


def test_ids_in_bright_reasoning_rows_follow_the_id_rules(tmp_path):
    path = write_jsonl(tmp_path / "gpt4_reason.jsonl", [{"id": "0", "query": "fine"}, {"id": "1\x00", "query": "r"}])
    with pytest.raises(DataError, match=rf"^{path}: line 2: field 'id': id '1\\x00' contains the unprintable "
                                        r"character U\+0000"):
        load_reasonings(path)


def test_query_keys_are_cut_like_example_queries_so_they_still_match(tmp_path, monkeypatch):
    """An example query past TSQR_MAX_EXAMPLE_QUERY_CHARS is cut at load; a reasoning file keyed by the whole
    query is cut the same way, so the pair still matches."""
    monkeypatch.setenv("TSQR_MAX_EXAMPLE_QUERY_CHARS", "30")
    query = "Why does this very long question go on and on? " * 3
    examples = write_jsonl(tmp_path / "examples.jsonl", [{"id": "q1", "query": query, "gold_ids": ["d1"]}])
    domain = load_domain(examples, "mine")
    tongsearch = tmp_path / "ts.json"
    tongsearch.write_text(json.dumps({query: "the reasoning"}))
    table = write_jsonl(tmp_path / "export.jsonl", [{"query": query, "text": "from a table"}])
    assert load_reasonings(tongsearch).texts_for(domain.examples) == {"q1": "the reasoning"}
    assert load_reasonings(table).texts_for(domain.examples) == {"q1": "from a table"}
