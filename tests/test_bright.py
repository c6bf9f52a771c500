"""tsqr.bright loads one small BRIGHT-shaped domain identically from every source a user may have: the hub (via
`datasets`, here on a local repository folder), a downloaded hub copy (both branch layouts), zips, uploaded
parquet/jsonl/json files with or without gzip, and Anserini topics + qrels with a corpus given apart.
The fixtures are written by the tests; the real BRIGHT files are tested in test_bright_shared_data.py."""
from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

import pytest

from tsqr.bright import BRIGHT_DOMAINS, DataError, canonical_domain, check_domain, load_domain
from tsqr.records import Document, Example

RAW_EXAMPLES = [
    {"id": "0", "query": "Why do moths circle street lamps at night?", "reasoning": "transverse orientation",
     "gold_ids": ["moth/light_0.txt", "moth/light_1.txt", "moth/light_0.txt"], "excluded_ids": ["N/A"],
     "gold_ids_long": ["moth/light.txt"], "gold_answer": "They navigate by keeping light at a fixed angle."},
    {"id": "1", "query": "How do plants sense\ngravity in their roots?", "reasoning": "statoliths",
     "gold_ids": ["roots/statolith_0.txt"], "excluded_ids": ["roots/old_0.txt"],
     "gold_ids_long": ["N/A"], "gold_answer": "N/A"},
]
EXPECTED_EXAMPLES = [
    Example("0", "Why do moths circle street lamps at night?", ("moth/light_0.txt", "moth/light_1.txt"), (),
            ("moth/light.txt",), "transverse orientation", "They navigate by keeping light at a fixed angle."),
    Example("1", "How do plants sense\ngravity in their roots?", ("roots/statolith_0.txt",), ("roots/old_0.txt",),
            (), "statoliths", "N/A"),
]
RAW_DOCUMENTS = [
    {"id": "moth/light_0.txt", "content": "Moths keep a bright source at a fixed angle to fly straight."},
    {"id": "moth/light_1.txt", "content": "Artificial lights trap insects in spiralling flight paths."},
    {"id": "roots/statolith_0.txt", "content": "Starch-filled statoliths settle in root cap cells."},
    {"id": "roots/old_0.txt", "content": "An older copy of the statolith page."},
    {"id": "cooking/bread_0.txt", "content": "Sourdough rises because of wild yeast."},
]
RAW_LONG_DOCUMENTS = [{"id": "moth/light.txt", "content": "The whole page about moths and light."},
                      {"id": "roots/statolith.txt", "content": "The whole page about statoliths."}]
EXPECTED_DOCUMENTS = [Document(row["id"], row["content"]) for row in RAW_DOCUMENTS]


def write_rows(path: Path, rows: list[dict]) -> Path:
    """Write rows as parquet / jsonl / json by suffix, gzipped when the name ends in .gz."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    if name.endswith(".parquet"):
        sink = pa.BufferOutputStream()
        pq.write_table(pa.Table.from_pylist(rows), sink)
        data = sink.getvalue().to_pybytes()
    elif name.endswith(".jsonl"):
        data = "".join(json.dumps(row) + "\n" for row in rows).encode()
    else:
        data = json.dumps(rows).encode()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def make_hub_copy(root: Path, domain: str = "biology", branch_layout: bool = False) -> Path:
    """A downloaded xlangai/BRIGHT: main-branch names, or the parquet-conversion branch's <config>/<domain>/."""
    def name(config: str) -> Path:
        return root / config / domain / "0000.parquet" if branch_layout else \
            root / config / f"{domain}-00000-of-00001.parquet"

    write_rows(name("examples"), RAW_EXAMPLES)
    write_rows(name("documents"), RAW_DOCUMENTS)
    write_rows(name("long_documents"), RAW_LONG_DOCUMENTS)
    write_rows(root / "examples" / "pony-00000-of-00001.parquet",
               [{**RAW_EXAMPLES[0], "id": "p0", "query": "Pony question"}])
    return root


def make_zip(folder: Path, archive: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                out.write(path, prefix + path.relative_to(folder).as_posix())
    return archive


def assert_fixture_domain(domain, name: str = "biology", documents=EXPECTED_DOCUMENTS) -> None:
    assert domain.name == name
    assert domain.examples == EXPECTED_EXAMPLES
    assert domain.documents == documents


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl", ".json", ".parquet.gz", ".jsonl.gz", ".json.gz"])
def test_uploaded_examples_and_documents_files_in_every_format(tmp_path, suffix):
    examples = write_rows(tmp_path / f"queries{suffix}", RAW_EXAMPLES)
    documents = write_rows(tmp_path / f"corpus{suffix}", RAW_DOCUMENTS)
    # Which file is which is read from the columns, so the order given does not matter.
    assert_fixture_domain(load_domain([documents, examples], "biology", progress=False))
    assert_fixture_domain(load_domain([str(examples), str(documents)], "biology", progress=False))


def test_a_single_examples_file_gives_a_domain_without_documents(tmp_path):
    domain = load_domain(write_rows(tmp_path / "q.jsonl", RAW_EXAMPLES), "biology")
    assert domain.examples == EXPECTED_EXAMPLES and domain.documents == []


def test_file_types_are_recognised_by_content_when_names_say_nothing(tmp_path):
    examples = write_rows(tmp_path / "upload1.parquet", RAW_EXAMPLES).rename(tmp_path / "upload1")
    documents = write_rows(tmp_path / "upload2.jsonl.gz", RAW_DOCUMENTS).rename(tmp_path / "upload2")
    assert_fixture_domain(load_domain([examples, documents], "biology", progress=False))


def test_jsonl_written_under_a_json_name_still_loads(tmp_path):
    path = write_rows(tmp_path / "q.jsonl", RAW_EXAMPLES).rename(tmp_path / "q.json")
    assert load_domain(path, "biology").examples == EXPECTED_EXAMPLES


@pytest.mark.parametrize("branch_layout", [False, True], ids=["main-branch", "parquet-branch"])
def test_hub_copy_folder_and_its_zip(tmp_path, branch_layout):
    hub = make_hub_copy(tmp_path / "BRIGHT", branch_layout=branch_layout)
    assert_fixture_domain(load_domain(hub, "biology", progress=False))
    archive = make_zip(hub, tmp_path / "bright.zip", prefix="BRIGHT/")
    domain = load_domain(archive, "biology", progress=False)
    assert_fixture_domain(domain)
    assert str(archive) in domain.source


def test_zip_of_plain_files(tmp_path):
    folder = tmp_path / "upload"
    write_rows(folder / "examples.json.gz", RAW_EXAMPLES)
    write_rows(folder / "documents.parquet", RAW_DOCUMENTS)
    (folder / "README.md").write_text("not data: skipped")
    assert_fixture_domain(load_domain(make_zip(folder, tmp_path / "upload.zip"), "biology", progress=False))


def test_hub_copy_long_documents(tmp_path):
    hub = make_hub_copy(tmp_path / "BRIGHT")
    domain = load_domain(hub, "biology", long=True, progress=False)
    assert domain.documents == [Document(r["id"], r["content"]) for r in RAW_LONG_DOCUMENTS]
    assert domain.qrels(long=True) == {"0": {"moth/light.txt": 1}, "1": {}}
    assert check_domain(domain, long=True).missing_gold == {}


def test_long_setting_needs_gold_ids_long(tmp_path):
    rows = [{**row, "gold_ids_long": ["N/A"]} for row in RAW_EXAMPLES]
    path = write_rows(tmp_path / "aops.jsonl", rows)
    with pytest.raises(DataError, match="no long-document judgements"):
        load_domain(path, "aops", long=True)


def test_domain_names_with_hyphens_and_files_named_after_domains(tmp_path):
    folder = tmp_path / "mixed"
    write_rows(folder / "earth_science_examples.jsonl", RAW_EXAMPLES)
    write_rows(folder / "pony_examples.jsonl", [{**RAW_EXAMPLES[0], "query": "Pony?"}])
    write_rows(folder / "corpus.parquet", RAW_DOCUMENTS)
    domain = load_domain(folder, "earth-science", progress=False)
    assert_fixture_domain(domain, name="earth_science")
    assert canonical_domain("Theoremqa-Questions") == "theoremqa_questions"
    assert canonical_domain("my-corpus") == "my-corpus"
    assert len(BRIGHT_DOMAINS) == 12 and all("-" not in name for name in BRIGHT_DOMAINS)


def test_corpus_shards_are_concatenated(tmp_path):
    examples = write_rows(tmp_path / "examples.jsonl", RAW_EXAMPLES)
    first = write_rows(tmp_path / "documents-00000-of-00002.parquet", RAW_DOCUMENTS[:2])
    second = write_rows(tmp_path / "documents-00001-of-00002.parquet", RAW_DOCUMENTS[2:])
    assert_fixture_domain(load_domain([examples, first, second], "biology", progress=False))


def test_ids_written_as_numbers_become_strings(tmp_path):
    rows = [{"id": 7, "query": "q", "gold_ids": [3, "4"], "excluded_ids": None}]
    domain = load_domain([write_rows(tmp_path / "q.jsonl", rows),
                          write_rows(tmp_path / "d.jsonl", [{"id": 3, "content": "x"}])], "x")
    assert domain.examples == [Example("7", "q", ("3", "4"))]
    assert domain.documents == [Document("3", "x")]


def anserini_folder(root: Path, with_original: bool) -> Path:
    """Anserini's layout: topics/ (original jsonl.gz or id<TAB>query tsv.gz), qrels/ with qrels and exclusions."""
    topics, qrels = root / "topics", root / "qrels"
    topics.mkdir(parents=True)
    qrels.mkdir()
    if with_original:
        write_rows(topics / "topics.bright-earth-science-original.jsonl.gz", RAW_EXAMPLES)
    lines = "".join(f"{row['id']}\t{' '.join(row['query'].split())}\n" for row in RAW_EXAMPLES)
    (topics / "topics.bright-earth-science.tsv.gz").write_bytes(gzip.compress(lines.encode()))
    (qrels / "qrels.bright-earth-science.txt").write_text(
        "0\t0\tmoth/light_0.txt\t1\n0\t0\tmoth/light_1.txt\t1\n0\t0\tcooking/bread_0.txt\t0\n"
        "1\t0\troots/statolith_0.txt\t1\n")
    (qrels / "exclude.bright-earth-science.txt").write_text("1 roots/old_0.txt\n")
    return root


def test_anserini_original_topics_with_a_corpus_given_apart(tmp_path):
    folder = anserini_folder(tmp_path / "anserini-tools", with_original=True)
    corpus = write_rows(tmp_path / "corpus.jsonl.gz", RAW_DOCUMENTS)
    assert load_domain(folder, "earth_science").documents == []
    assert_fixture_domain(load_domain(folder, "earth-science", documents=corpus, progress=False), "earth_science")


def test_anserini_tsv_topics_take_gold_ids_from_qrels_and_exclusions_from_their_list(tmp_path):
    folder = anserini_folder(tmp_path / "anserini-tools", with_original=False)
    domain = load_domain(folder, "earth_science")
    assert [ex.id for ex in domain.examples] == ["0", "1"]
    assert domain.examples[1].query == "How do plants sense gravity in their roots?"  # tsv flattens newlines
    assert domain.qrels() == {ex.id: {g: 1 for g in ex.gold_ids} for ex in EXPECTED_EXAMPLES}
    assert [ex.excluded_ids for ex in domain.examples] == [(), ("roots/old_0.txt",)]
    # The same files uploaded one by one (topics, qrels, exclusions, corpus) load the same way.
    files = [*sorted((folder / "qrels").iterdir()), folder / "topics" / "topics.bright-earth-science.tsv.gz",
             write_rows(tmp_path / "corpus.parquet", RAW_DOCUMENTS)]
    uploaded = load_domain(files, "earth_science", progress=False)
    assert uploaded.examples == domain.examples and uploaded.documents == EXPECTED_DOCUMENTS


def test_documents_argument_accepts_a_zipped_hub_copy(tmp_path):
    folder = anserini_folder(tmp_path / "anserini-tools", with_original=True)
    hub = make_hub_copy(tmp_path / "BRIGHT", domain="earth_science")
    archive = make_zip(hub, tmp_path / "corpus.zip")
    domain = load_domain(folder, "earth_science", documents=archive, progress=False)
    assert_fixture_domain(domain, "earth_science")
    long = load_domain(folder, "earth_science", long=True, documents=[archive], progress=False)
    assert [doc.id for doc in long.documents] == ["moth/light.txt", "roots/statolith.txt"]


def test_hub_source_through_datasets_on_a_local_repository(tmp_path, monkeypatch):
    """The "hub" code path itself (datasets.load_dataset with configs and splits), pointed at a local repo."""
    import datasets

    from tsqr.bright.sources import load_from_hub

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    repo = make_hub_copy(tmp_path / "BRIGHT")
    configs = "".join(f"- config_name: {config}\n  data_files:\n  - split: biology\n    path: {config}/biology-*\n"
                      for config in ("examples", "documents", "long_documents"))
    (repo / "README.md").write_text(f"---\nconfigs:\n{configs}---\n")
    loaded = load_from_hub("biology", repo=str(repo), progress=False)
    assert loaded.examples == EXPECTED_EXAMPLES and loaded.documents == EXPECTED_DOCUMENTS


def test_hub_offline_is_a_clear_error():
    # conftest.py puts the hub clients offline, as on a machine without network.
    with pytest.raises(DataError) as caught:
        load_domain("hub", "biology")
    message = str(caught.value)
    assert "xlangai/BRIGHT" in message and "examples/biology" in message and "--local-dir" in message
    with pytest.raises(DataError, match="no long documents"):
        load_domain("hub", "leetcode", long=True)
    with pytest.raises(DataError, match="'chemistry' is not a BRIGHT domain"):
        load_domain("hub", "chemistry")


def test_check_domain_reports_missing_gold_excluded_and_empty_documents():
    examples = [Example("a", "q1", ("d1", "gone1", "gone2"), ("d2", "absent")), Example("b", "q2", ("d2",)),
                Example("c", "q3", ())]
    documents = [Document("d1", "text"), Document("d2", "  \n"), Document("d3", "more")]
    from tsqr.records import Domain

    report = check_domain(Domain("toy", examples, documents))
    assert (report.examples, report.documents, report.gold_total) == (3, 3, 4)
    assert report.missing_gold == {"a": ("gone1", "gone2")} and report.missing_gold_total == 2
    assert report.missing_gold_per_query == {"a": 2}
    assert report.missing_excluded == {"a": 1} and report.excluded_total == 2
    assert report.queries_without_gold == ["c"] and report.empty_documents == ["d2"]
    warnings = report.warnings()
    assert len(warnings) == 4 and not report.ok
    assert "2 of 4 gold ids are not in the corpus" in warnings[0] and "gone1" in warnings[0]
    clean = check_domain(Domain("toy", examples[:2], [Document(i, "x") for i in ("d1", "d2", "gone1", "gone2", "absent")]))
    assert clean.ok and clean.warnings() == []
    assert check_domain(Domain("toy", examples[:1], [])).warnings() == [
        "no documents loaded, so the corpus was not checked"]
