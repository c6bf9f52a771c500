"""TREC run and qrels files: exact round trips, tolerant whitespace, and errors that say where the file is bad."""
from __future__ import annotations

import gzip
import re

import numpy as np
import pytest
from conftest import require_reference

from tsqr.records import Hit
from tsqr.trec import (
    TrecFormatError, format_run, parse_qrels, parse_run, read_qrels, read_run, write_qrels, write_run,
)

RUN = {
    "q1": [Hit("doc/a_0.txt", 12.75), Hit("d2", 1 / 3), Hit("d3", float(np.float32(0.1))), Hit("d4", -2.5e-7)],
    "q-é": [Hit("文書", 0.0), Hit("x", -0.0), Hit("y", float("-inf"))],
}
QRELS = {"q1": {"doc/a_0.txt": 1, "d9": 0, "d8": 3, "d7": -1}, "q-é": {"文書": 2}}


@pytest.mark.parametrize("name", ["run.trec", "run.trec.gz"])
def test_run_round_trip_keeps_order_and_exact_scores(tmp_path, name):
    path = tmp_path / "nested" / name
    write_run({**RUN, "no_hits": []}, path, tag="tsqr-raw")
    assert read_run(path) == RUN                      # the empty query has no line, so it is gone
    assert list(tmp_path.glob("nested/*")) == [path]  # no temporary file left behind
    if name.endswith(".gz"):
        assert gzip.decompress(path.read_bytes()).startswith(b"q1 Q0 doc/a_0.txt 1 12.75 tsqr-raw\n")


def test_run_lines_follow_the_trec_layout():
    lines = list(format_run({"q": [Hit("a", 2.0), Hit("b", 1.5)]}, tag="t"))
    assert lines == ["q Q0 a 1 2.0 t\n", "q Q0 b 2 1.5 t\n"]


def test_qrels_round_trip(tmp_path):
    for name in ("qrels.txt", "qrels.txt.gz"):
        write_qrels(QRELS, tmp_path / name)
        assert read_qrels(tmp_path / name) == QRELS
    assert (tmp_path / "qrels.txt").read_text().splitlines()[0] == "q1 0 doc/a_0.txt 1"


def test_hits_come_back_in_rank_order_with_file_order_for_equal_ranks():
    text = ("q Q0 c 3 1.0 t\r\n"
            "q\tQ0\ta\t1\t3.0\tt\n"
            "\n"
            "q2 0 z 1 5 run\n"
            "q  Q0  b  2  2.0  t   \n"
            "q Q0 e 9 0.5 t\n"
            "q Q0 d 9 0.7 t\n")
    run = parse_run(text)
    assert list(run) == ["q", "q2"]
    assert run["q"] == [Hit("a", 3.0), Hit("b", 2.0), Hit("c", 1.0), Hit("e", 0.5), Hit("d", 0.7)]
    assert run["q2"] == [Hit("z", 5.0)]


@pytest.mark.parametrize("text, line, message", [
    ("q Q0 d 1 1.0 t\nq Q0 e 2 0.5\n", 2,
     "expected 6 fields 'qid Q0 docid rank score tag', found 5: 'q Q0 e 2 0.5'"),
    ("q Q0 d one 1.0 t\n", 1, "field 'rank' (4) must be an integer, got 'one'"),
    ("q Q0 d 1 high t\n", 1, "field 'score' (5) must be a number, got 'high'"),
    ("q Q0 d 1 nan t\n", 1, "field 'score' (5) must be a number, got 'nan'"),
    ("q Q0 d 1 1.0 t\n\nq Q0 d 2 0.5 t\n", 3, "document 'd' is listed again for query 'q' (first on line 1)"),
])
def test_malformed_run_lines_name_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "bad.run"
    path.write_text(text)
    with pytest.raises(TrecFormatError) as error:
        read_run(path)
    assert str(error.value) == f"{path}: line {line}: {message}"
    with pytest.raises(TrecFormatError, match=f"^<upload>: line {line}: "):
        parse_run(text, source="<upload>")


@pytest.mark.parametrize("text, line, message", [
    ("q 0 d 1 extra\n", 1, "expected 4 fields 'qid iteration docid relevance', found 5"),
    ("q 0 d\n", 1, "found 3"),
    ("q 0 d 1\nq 0 e 1.5\n", 2, "field 'relevance' (4) must be an integer, got '1.5'"),
    ("q 0 d 1\nq 0 d 0\n", 2, "document 'd' is judged again for query 'q' (first on line 1)"),
])
def test_malformed_qrels_lines_name_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "bad.qrels"
    path.write_text(text)
    with pytest.raises(TrecFormatError, match=f"bad.qrels: line {line}: "):
        read_qrels(path)
    with pytest.raises(TrecFormatError) as error:
        parse_qrels(text)
    assert message in str(error.value)


def test_unreadable_files_are_reported(tmp_path):
    binary = tmp_path / "latin1.qrels"
    binary.write_bytes(b"q 0 d 1\nq 0 caf\xe9 1\n")
    with pytest.raises(TrecFormatError, match=r"latin1.qrels: line 2: not UTF-8 text"):
        read_qrels(binary)
    fake_gzip = tmp_path / "run.trec.gz"
    fake_gzip.write_text("q Q0 d 1 1.0 t\n")
    with pytest.raises(TrecFormatError, match="run.trec.gz: not a readable gzip file"):
        read_run(fake_gzip)
    with pytest.raises(FileNotFoundError, match="missing.trec"):
        read_run(tmp_path / "missing.trec")


@pytest.mark.parametrize("run, message", [
    ({"q 1": [Hit("d", 1.0)]}, "query id 'q 1'"),
    ({"q": [Hit("d\t2", 1.0)]}, "document id 'd\\\\t2'"),
    ({"q": [Hit("", 1.0)]}, "document id ''"),
    ({"q": [Hit("d", float("nan"))]}, "'d' has a NaN score"),
    ({"q\x00": [Hit("d", 1.0)]}, "query id 'q\\\\x00'"),
    ({"q": [Hit("d\x1b[2J", 1.0)]}, "document id 'd\\\\x1b\\[2J'"),
])
def test_unwritable_runs_are_refused_and_the_old_file_survives(tmp_path, run, message):
    path = tmp_path / "run.trec"
    write_run(RUN, path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match=message):
        write_run(run, path)
    assert path.read_bytes() == before
    assert list(tmp_path.iterdir()) == [path]
    with pytest.raises(ValueError, match="run tag"):
        write_run(RUN, path, tag="two words")


def test_unwritable_qrels_are_refused(tmp_path):
    with pytest.raises(ValueError, match="relevance of 'd' must be an integer"):
        write_qrels({"q": {"d": 0.5}}, tmp_path / "q.txt")
    assert not (tmp_path / "q.txt").exists()


def test_reads_like_pytrec_eval_parsers(tmp_path):
    pytrec_eval = require_reference("pytrec_eval", "pytrec_eval (pip install pytrec-eval-terrier)")
    write_run(RUN, tmp_path / "run.trec")
    write_qrels(QRELS, tmp_path / "qrels.txt")
    with (tmp_path / "run.trec").open() as handle:
        reference_run = pytrec_eval.parse_run(handle)
    with (tmp_path / "qrels.txt").open() as handle:
        reference_qrels = pytrec_eval.parse_qrel(handle)
    assert {qid: {h.doc_id: h.score for h in hits} for qid, hits in read_run(tmp_path / "run.trec").items()} \
        == reference_run
    assert read_qrels(tmp_path / "qrels.txt") == reference_qrels


def test_reads_every_real_bright_qrels_file(shared_data):
    folder = shared_data / "bright" / "anserini-tools" / "qrels"
    paths = sorted(folder.glob("qrels.bright-*.txt"))
    assert len(paths) == 24                                    # 12 domains, plain and "fixed"
    total = 0
    for path in paths:
        qrels = read_qrels(path)
        lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
        assert sum(map(len, qrels.values())) == len(lines)
        assert all(qrels[qid][doc] == int(rel) for qid, _, doc, rel in lines)
        total += len(qrels)
    assert total > 2 * 1300                                  # BRIGHT has 1384 queries per qrels flavour


@pytest.mark.parametrize("text, field, character", [
    ("q\x001 Q0 d1 1 2.0 tag\n", "qid", "U+0000"),
    ("q1 Q0 d\x7f1 1 2.0 tag\n", "docid", "U+007F"),
])
def test_ids_with_control_characters_are_refused_when_read(tmp_path, text, field, character):
    path = tmp_path / "run.trec"
    path.write_text(text)
    with pytest.raises(TrecFormatError, match=rf"run\.trec: line 1: field '{field}': .* contains the unprintable "
                                              rf"character {re.escape(character)}, which ids may not hold"):
        read_run(path)
    qrels = tmp_path / "qrels.txt"
    qrels.write_text(text.replace(" Q0 ", " 0 ").rsplit(" ", 3)[0] + " 1\n")
    with pytest.raises(TrecFormatError, match=rf"field '{field}'"):
        read_qrels(qrels)
