"""Bad BRIGHT input is refused with a `DataError` whose message names the file, the row (or line) and the field,
and never surfaces a pyarrow / json / gzip / zip traceback. Every fixture is written here."""
from __future__ import annotations

import gzip
import os
import json
from pathlib import Path

import pytest

from tsqr.bright import DataError, load_domain

GOOD = {"id": "q1", "query": "Why is the sky blue?", "gold_ids": ["d1"], "excluded_ids": ["N/A"]}
DOCS = [{"id": "d1", "content": "Rayleigh scattering."}, {"id": "d2", "content": "Mie scattering."}]


def jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def parquet(path: Path, rows: list[dict]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def refused(source, *, domain: str = "biology", **kwargs) -> str:
    """The message of the DataError that loading raises; also checks no library exception is chained to it."""
    with pytest.raises(DataError) as caught:
        load_domain(source, domain, progress=False, **kwargs)
    error = caught.value
    assert error.__cause__ is None and (error.__suppress_context__ or error.__context__ is None)
    return str(caught.value)


@pytest.mark.parametrize("row, field, problem", [
    ({k: v for k, v in GOOD.items() if k != "query"}, "'query'", "missing field"),
    ({k: v for k, v in GOOD.items() if k != "gold_ids"}, "'gold_ids'", "missing field"),
    ({k: v for k, v in GOOD.items() if k != "id"}, "'id'", "missing field"),
    ({**GOOD, "query": "   "}, "field 'query'", "empty query"),
    ({**GOOD, "query": 42}, "field 'query'", "expected text, got int"),
    ({**GOOD, "gold_ids": "d1"}, "field 'gold_ids'", "expected a list of ids, got str"),
    ({**GOOD, "gold_ids": None}, "field 'gold_ids'", "expected a list of ids, got null"),
    ({**GOOD, "gold_ids": ["d1", {"id": "d2"}]}, "field 'gold_ids'", "expected ids as strings, got dict"),
    ({**GOOD, "excluded_ids": ["d1", "d9"]}, "field 'excluded_ids'", "also gold ids"),
    ({**GOOD, "id": 1.5}, "field 'id'", "expected a non-empty string id, got float"),
    ({**GOOD, "reasoning": ["a"]}, "field 'reasoning'", "expected text, got list"),
])
def test_each_example_problem_names_file_line_and_field(tmp_path, row, field, problem):
    path = jsonl(tmp_path / "examples.jsonl", [GOOD | {"id": "q0"}, row])
    message = refused(path)
    assert f"{path}: line 2: " in message and field in message and problem in message


def test_parquet_problems_name_the_row(tmp_path):
    path = parquet(tmp_path / "examples.parquet", [GOOD | {"id": "q0"}, GOOD | {"query": ""}])
    message = refused(path)
    assert message == f"{path}: row 2: field 'query': empty query"


def test_line_numbers_count_blank_lines(tmp_path):
    path = tmp_path / "examples.jsonl"
    path.write_text(json.dumps(GOOD) + "\n\n\n" + json.dumps(GOOD | {"id": "q2", "query": ""}) + "\n")
    assert f"{path}: line 4: field 'query'" in refused(path)


def test_duplicate_example_ids_name_both_rows(tmp_path):
    path = jsonl(tmp_path / "examples.jsonl", [GOOD, GOOD | {"query": "again"}])
    message = refused(path)
    assert f"{path}: line 2: field 'id': duplicate example id 'q1' (first at {path} line 1)" == message


def test_duplicate_document_ids_across_shards(tmp_path):
    examples = jsonl(tmp_path / "examples.jsonl", [GOOD])
    first = parquet(tmp_path / "documents-0.parquet", DOCS)
    second = jsonl(tmp_path / "documents-1.jsonl", [{"id": "d2", "content": "copy"}])
    message = refused([examples, first, second])
    assert f"{second}: line 1: field 'id': duplicate document id 'd2' (first at {first} row 2)" == message


@pytest.mark.parametrize("row, expected", [
    ({"id": "d3"}, "line 3: missing field 'content'"),
    ({"id": "d3", "content": None}, "line 3: field 'content': expected text, got null"),
    ({"id": "", "content": "x"}, "line 3: field 'id': expected a non-empty string id"),
])
def test_document_problems(tmp_path, row, expected):
    corpus = jsonl(tmp_path / "corpus.jsonl", [*DOCS, row])
    message = refused(jsonl(tmp_path / "examples.jsonl", [GOOD]), documents=corpus)
    assert message.startswith(f"{corpus}: {expected}")


def test_all_problems_of_a_file_are_reported_together(tmp_path):
    rows = [GOOD | {"id": f"q{i}", "query": ""} for i in range(14)]
    message = refused(jsonl(tmp_path / "examples.jsonl", rows))
    lines = message.splitlines()
    assert len(lines) == 11 and lines[0].endswith("line 1: field 'query': empty query")
    assert lines[-1].endswith("... and 4 more problems")


@pytest.mark.parametrize("name, content, expected", [
    ("broken.jsonl", b'{"id": "q1", "query": "x", "gold_ids": []}\n{"id": "q2", \n', "line 2: not valid JSON"),
    ("broken.json", b'[{"id": "q1"},', "not valid JSON"),
    ("object.json", b'{"id": "q1"}', "expected a JSON list of records, got a JSON dict"),
    ("scalars.jsonl", b'{"id": "q1"}\n[1, 2]\n', "line 2: expected a JSON object, got list"),
    ("broken.parquet", b"PAR1 this is not really parquet", "not a readable parquet file"),
    ("broken.jsonl.gz", gzip.compress(b'{"id": "q1"}\n')[:-12], "cannot be read"),
    ("latin1.jsonl", '{"id": "q1"}\n{"query": "caf\u00e9"}\n'.encode("latin-1"), "line 2: not UTF-8 text"),
    ("broken.zip", b"PK\x03\x04 truncated archive", "not a readable zip archive"),
    ("mystery.bin", b"\x00\x01\x02 binary", "unrecognised file type"),
    ("empty.jsonl", b"", "cannot tell what this file holds"),
    ("columns.jsonl", b'{"question": "q", "answer": "a"}\n', "found answer, question"),
])
def test_unreadable_files_are_named(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    message = refused(path)
    assert str(path) in message and expected in message


def test_missing_paths_and_empty_folders(tmp_path):
    assert "no such file or folder" in refused(tmp_path / "nowhere.parquet")
    assert f"{tmp_path}: no data found" in refused(tmp_path)
    examples = jsonl(tmp_path / "examples.jsonl", [GOOD])
    assert "no such corpus file" in refused(examples, documents=tmp_path / "missing.jsonl")
    assert "expected documents" in refused(examples, documents=examples)
    assert "no examples among" in refused([jsonl(tmp_path / "c1.jsonl", DOCS), jsonl(tmp_path / "c2.jsonl", DOCS[:1])])
    assert "empty domain name" in refused(examples, domain=" ")


def test_hub_copy_without_the_domain(tmp_path):
    parquet((tmp_path / "examples").mkdir() or tmp_path / "examples" / "pony-00000-of-00001.parquet", [GOOD])
    assert "examples/biology-00000-of-00001.parquet" in refused(tmp_path)


def test_anserini_problems(tmp_path):
    topics = tmp_path / "topics"
    topics.mkdir()
    tsv = topics / "topics.bright-biology.tsv"
    tsv.write_text("0\tWhy?\n1 no tab here\n")
    assert "expected topics/topics.bright-pony" in refused(tmp_path, domain="pony")
    assert "topics without judgements" in refused(tmp_path)
    qrels = topics / "qrels.bright-biology.txt"
    qrels.write_text("0 0 d1 1\n")
    assert f"{tsv}: line 2: expected 'query id<TAB>query text'" in refused(tmp_path)
    tsv.write_text("0\tWhy?\n1\t \n")
    assert f"{tsv}: line 2: field 'query': empty query" in refused(tmp_path)
    tsv.write_text("0\tWhy?\n1\tHow?\n")
    qrels.write_text("0 0 d1 1\n1 0 d2\n")
    assert f"{qrels}: line 2: expected 4 fields" in refused(tmp_path)
    qrels.write_text("0 0 d1 yes\n")
    assert f"{qrels}: line 1: field 'relevance'" in refused(tmp_path)
    qrels.write_text("7 0 d1 1\n")
    assert "none of its query ids match the topics" in refused(tmp_path)
    qrels.write_text("0 0 d1 1\n")
    (topics / "exclude.bright-biology.txt").write_text("0 d1\n")
    assert "excluded ids are also relevant" in refused(tmp_path)


# ---------------------------------------------------------------- encodings, nesting and ids TREC cannot hold

BOM = b"\xef\xbb\xbf"


@pytest.mark.parametrize("name, encode", [
    ("examples.jsonl", lambda rows: b"".join(json.dumps(r).encode() + b"\n" for r in rows)),
    ("examples.json", lambda rows: json.dumps(rows).encode()),
    ("examples.jsonl.gz", lambda rows: gzip.compress(b"".join(json.dumps(r).encode() + b"\n" for r in rows))),
])
def test_a_utf8_byte_order_mark_is_accepted(tmp_path, name, encode):
    path = tmp_path / name
    body = encode([GOOD, GOOD | {"id": "q2"}])
    path.write_bytes(gzip.compress(BOM + gzip.decompress(body)) if name.endswith(".gz") else BOM + body)
    documents = jsonl(tmp_path / "documents.jsonl", DOCS)
    domain = load_domain([path, documents], "biology", progress=False)
    assert [ex.id for ex in domain.examples] == ["q1", "q2"]


def test_a_byte_order_mark_in_anserini_topics_and_qrels_is_accepted(tmp_path):
    (tmp_path / "topics.bright-pony.tsv").write_bytes(BOM + b"q1\tWhy?\n")
    (tmp_path / "qrels.bright-pony.txt").write_bytes(BOM + b"q1 0 d1 1\n")
    domain = load_domain([tmp_path / "topics.bright-pony.tsv", tmp_path / "qrels.bright-pony.txt"], "pony")
    assert [(ex.id, ex.gold_ids) for ex in domain.examples] == [("q1", ("d1",))]


@pytest.mark.parametrize("name, compress", [("examples.json", False), ("examples.jsonl.gz", True)])
def test_text_that_is_not_utf8_is_reported_by_line(tmp_path, name, compress):
    rows = [GOOD, GOOD | {"id": "q2"}, GOOD | {"id": "q3", "query": "caf\u00e9"}]
    text = (json.dumps(rows, indent=0, ensure_ascii=False) if name.endswith(".json")
            else "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    data = text.encode("utf-8").replace("caf\u00e9".encode(), "caf\u00e9".encode("latin-1"))
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if compress else data)
    line = text[: text.index("caf\u00e9")].count("\n") + 1
    message = refused(path)
    assert message.startswith(f"{path}: line {line}: not UTF-8 text (byte 0xe9") and line > 1


@pytest.mark.parametrize("name", ["examples.json", "examples.jsonl"])
def test_json_nested_past_the_recursion_limit_names_the_file(tmp_path, name):
    deep = "[" * 100_000 + "]" * 100_000
    path = tmp_path / name
    path.write_text(deep if name.endswith(".json") else json.dumps(GOOD) + "\n" + deep + "\n")
    message = refused(path)
    where = f"{path}: line 2: " if name.endswith(".jsonl") else f"{path}: "
    assert message.startswith(where + "nested too deeply")


def test_a_deeply_nested_reasoning_file_names_the_file(tmp_path):
    from tsqr.reasonings import load_reasonings

    path = tmp_path / "reasonings.json"
    path.write_text('{"q": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(DataError, match=f"^{path}: nested too deeply"):
        load_reasonings(path)


@pytest.mark.parametrize("row, field", [
    (GOOD | {"id": "q 1"}, "'id'"),
    (GOOD | {"id": "q1\t"}, "'id'"),
    (GOOD | {"gold_ids": ["d1", "d 2"]}, "'gold_ids'"),
    (GOOD | {"gold_ids_long": ["long\n1"]}, "'gold_ids_long'"),
])
def test_example_ids_with_whitespace_are_refused_at_load(tmp_path, row, field):
    path = jsonl(tmp_path / "examples.jsonl", [GOOD | {"id": "q0"}, row])
    message = refused([path, jsonl(tmp_path / "documents.jsonl", DOCS)])
    assert f"{path}: line 2: field {field}: id " in message and "whitespace" in message


def test_excluded_ids_with_whitespace_are_harmless_and_kept(tmp_path):
    path = jsonl(tmp_path / "examples.jsonl", [GOOD | {"excluded_ids": ["d 9"]}])
    domain = load_domain([path, jsonl(tmp_path / "documents.jsonl", DOCS)], "biology", progress=False)
    assert domain.examples[0].excluded_ids == ("d 9",)


def test_document_and_qrels_ids_with_whitespace_are_refused_at_load(tmp_path):
    documents = jsonl(tmp_path / "documents.jsonl", DOCS + [{"id": "d 3", "content": "x"}])
    assert f"{documents}: line 3: field 'id': id 'd 3' contains whitespace" in refused(
        [jsonl(tmp_path / "examples.jsonl", [GOOD]), documents])
    (tmp_path / "topics.bright-pony.tsv").write_text("q1\tWhy?\n")
    (tmp_path / "qrels.bright-pony.txt").write_text("q1\t0\td 1\t1\n")
    message = refused([tmp_path / "topics.bright-pony.tsv", tmp_path / "qrels.bright-pony.txt"], domain="pony")
    assert "qrels.bright-pony.txt: line 1: an id contains whitespace" in message


# ---------------------------------------------------------------- ids with control characters, caps on fields

@pytest.mark.parametrize("row, field, character", [
    (GOOD | {"id": "q\x001"}, "'id'", "U+0000"),
    (GOOD | {"gold_ids": ["d1", "d\x1b[31m"]}, "'gold_ids'", "U+001B"),
    (GOOD | {"gold_ids_long": ["long\u202e1"]}, "'gold_ids_long'", "U+202E"),
    (GOOD | {"excluded_ids": ["d 9\x00"]}, "'excluded_ids'", "U+0000"),  # spaces allowed there, NUL is not
])
def test_example_ids_with_control_characters_are_refused(tmp_path, row, field, character):
    path = jsonl(tmp_path / "examples.jsonl", [GOOD | {"id": "q0"}, row])
    message = refused([path, jsonl(tmp_path / "documents.jsonl", DOCS)])
    assert f"{path}: line 2: field {field}: id " in message
    assert f"contains the unprintable character {character}, which ids may not hold" in message


def test_control_characters_are_refused_in_every_id_file(tmp_path):
    documents = jsonl(tmp_path / "documents.jsonl", DOCS + [{"id": "d\x003", "content": "x"}])
    assert f"{documents}: line 3: field 'id': id 'd\\x003' contains the unprintable character U+0000" in refused(
        [jsonl(tmp_path / "examples.jsonl", [GOOD]), documents])
    topics, qrels = tmp_path / "topics.bright-pony.tsv", tmp_path / "qrels.bright-pony.txt"
    topics.write_text("q\x071\tWhy?\n")
    qrels.write_text("q1 0 d1 1\n")
    assert f"{topics}: line 1: field 'id': id 'q\\x071' contains the unprintable character U+0007" in refused(
        [topics, qrels], domain="pony")
    topics.write_text("q1\tWhy?\n")
    qrels.write_text("q1 0 d\x7f1 1\n")
    assert f"{qrels}: line 1: field 'docid': 'd\\x7f1' contains the unprintable character U+007F" in refused(
        [topics, qrels], domain="pony")
    qrels.write_text("q1 0 d1 1\n")
    exclusions = tmp_path / "exclude.bright-pony.txt"
    exclusions.write_text("q1 d\x002\n")
    assert f"{exclusions}: line 1: field 'docid': id 'd\\x002' contains the unprintable character" in refused(
        [topics, qrels, exclusions], domain="pony")


def test_ids_longer_than_the_cap_are_refused_where_they_enter(tmp_path, monkeypatch):
    """A 10 MB id made every search return 20 MB of HTML; the cap is TSQR_MAX_ID_CHARS (512 by default)."""
    long_id = "d" * 513
    documents = jsonl(tmp_path / "documents.jsonl", DOCS + [{"id": long_id, "content": "x"}])
    examples = jsonl(tmp_path / "examples.jsonl", [GOOD])
    assert (f"{documents}: line 3: field 'id': id '{'d' * 60}'... is 513 characters long, more than 512 "
            f"(TSQR_MAX_ID_CHARS)") in refused([examples, documents])
    monkeypatch.setenv("TSQR_MAX_ID_CHARS", "3")
    path = jsonl(tmp_path / "examples.jsonl", [GOOD | {"id": "q1234"}])
    assert "field 'id': id 'q1234' is 5 characters long, more than 3 (TSQR_MAX_ID_CHARS)" in refused(
        [path, jsonl(tmp_path / "documents.jsonl", DOCS)])
    path = jsonl(tmp_path / "examples.jsonl", [GOOD | {"gold_ids": ["d1234"]}])
    assert "field 'gold_ids': id 'd1234' is 5 characters long" in refused(path)
    (tmp_path / "topics.bright-pony.tsv").write_text("q1\tWhy?\n")
    (tmp_path / "qrels.bright-pony.txt").write_text("q1 0 d1234 1\n")
    assert "field 'docid': id 'd1234' is 5 characters long" in refused(
        [tmp_path / "topics.bright-pony.tsv", tmp_path / "qrels.bright-pony.txt"], domain="pony")


def test_a_document_text_longer_than_the_cap_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("TSQR_MAX_DOCUMENT_CHARS", "100")
    documents = jsonl(tmp_path / "documents.jsonl", DOCS + [{"id": "d3", "content": "x" * 101}])
    assert (f"{documents}: line 3: field 'content': 101 characters, more than 100 (TSQR_MAX_DOCUMENT_CHARS)"
            in refused([jsonl(tmp_path / "examples.jsonl", [GOOD]), documents]))


def test_example_queries_past_the_cap_are_cut_and_the_check_says_so(tmp_path, monkeypatch):
    """Three 1.8 MB queries held the evaluation turn for 364 s and went whole into the shared reasoning cache;
    they are cut as typed queries are, in every layout (JSONL rows, Anserini topics)."""
    from tsqr.bright import check_domain

    monkeypatch.setenv("TSQR_MAX_EXAMPLE_QUERY_CHARS", "50")
    path = jsonl(tmp_path / "examples.jsonl", [GOOD | {"query": "why " * 1000}, GOOD | {"id": "q2"}])
    domain = load_domain([path, jsonl(tmp_path / "documents.jsonl", DOCS)], "biology", progress=False)
    assert [len(ex.query) for ex in domain.examples] == [50, len(GOOD["query"])]
    assert domain.examples[0].query == ("why " * 1000)[:50]
    warnings = check_domain(domain).warnings()
    assert warnings == ["1 queries are 50 (TSQR_MAX_EXAMPLE_QUERY_CHARS) characters long, the most tsqr keeps: "
                        "longer ones were cut there (q1)"]
    (tmp_path / "topics.bright-pony.tsv").write_text("q1\t" + "how " * 100 + "\n")
    (tmp_path / "qrels.bright-pony.txt").write_text("q1 0 d1 1\n")
    topics = load_domain([tmp_path / "topics.bright-pony.tsv", tmp_path / "qrels.bright-pony.txt"], "pony")
    assert topics.examples[0].query == ("how " * 100)[:50]


def test_bright_queries_are_never_cut_by_default():
    """BRIGHT's longest query is 19,341 characters, under the default cap of 32,000."""
    from tsqr.bright import BRIGHT_DOMAINS
    from tsqr.limits import Limits

    folder = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "bright" / "anserini-tools"
    if not folder.is_dir():
        pytest.skip(f"real BRIGHT topics not here ({folder})")
    longest = max(len(ex.query) for domain in BRIGHT_DOMAINS for ex in load_domain(folder, domain).examples)
    assert 19_000 < longest < Limits().query_chars


def test_an_unreadable_file_is_one_line_naming_it(tmp_path):
    """PermissionError, from any reader (JSONL, gzip, parquet, reasoning files, TREC runs), becomes a DataError
    naming the file. Run in a process without the capability to read others' files (setpriv), since root reads
    everything."""
    import shutil
    import subprocess
    import sys

    secret = jsonl(tmp_path / "examples.jsonl", [GOOD])
    secret_gz = tmp_path / "documents.jsonl.gz"
    secret_gz.write_bytes(gzip.compress(b'{"id": "d1", "content": "x"}\n'))
    secret_parquet = parquet(tmp_path / "documents.parquet", DOCS)
    prefix = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: every file is readable")
        prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
    script = ("import sys\nfrom tsqr.bright import load_domain, DataError\n"
              "from tsqr.reasonings import load_reasonings\nfrom tsqr.trec import read_run\n"
              "for path in sys.argv[1:]:\n"
              "    load = {'json': load_reasonings, 'trec': read_run}.get(path.rsplit('.', 1)[1])\n"
              "    try: load(path) if load else load_domain(path, 'biology')\n"
              "    except DataError as error: print(error)\n")
    reasoning = tmp_path / "reasonings.json"
    reasoning.write_text('{"q": "r"}')
    run = tmp_path / "run.trec"
    run.write_text("q1 Q0 d1 1 2.0 tag\n")
    unreadable = (secret, secret_gz, secret_parquet, reasoning, run)
    for path in unreadable:
        path.chmod(0)
    result = subprocess.run([*prefix, sys.executable, "-c", script, *map(str, unreadable)],
                            capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines() == [f"{path}: cannot be read (Permission denied)" for path in unreadable]


def test_a_zip_holding_a_file_and_a_folder_of_one_name_names_no_server_path(tmp_path):
    """The issue's reproduction: a file `sub` and a member `sub/x.jsonl` named the temporary folder."""
    import zipfile

    archive = tmp_path / "clash.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("sub", "a file")
        handle.writestr("sub/x.jsonl", json.dumps(GOOD) + "\n")
    message = refused(archive)
    assert message == (f"{archive}: member 'sub/x.jsonl' cannot be unpacked (the archive holds a file and a "
                       f"folder of the same name)")
    assert "tsqr-unzip-" not in message
