"""Decompression bombs are refused by name, within the caps of tsqr.limits: real bombs (valid archives that do
expand to gigabytes, built by bench/bombs.py without holding their content) are loaded in a fresh process whose
peak memory (VmHWM) and bytes written (/proc/self/io wchar) are measured."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from bench.bombs import MIB, Member, gzip_bomb, measure, zip_bomb
from tsqr.bright import DataError, load_documents, load_domain
from tsqr.bright.unzip import unpack_zip

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="measures through /proc (Linux)")

ONE_LINE = Member("docs.jsonl", b'{"id": "d1", "content": "', b"a" * MIB, 2560, b'"}\n')  # a 2.5 GiB line
ZEROS = Member("biology/documents.jsonl", chunk=bytes(MIB), repeats=3000)  # 3000 MiB of zeros
PEAK_MB = 1536  # the bound for a whole app process; a bare loader must stay far below it


def loading(loader: str, path: Path) -> str:
    return (f"from tsqr.bright import {loader}; from pathlib import Path; "
            f"{loader}([Path({str(path)!r})], 'biology', progress=False)")


def test_a_zip_of_3_gb_of_zeros_is_refused_from_its_headers_before_writing(tmp_path):
    bomb = zip_bomb(tmp_path / "zeros.zip", [ZEROS])
    assert bomb.stat().st_size < 4 * MIB
    cost = measure(loading("load_domain", bomb))
    print(f"3 GB zip bomb ({bomb.stat().st_size / MIB:.1f} MB): peak {cost.peak_mb:.0f} MB, "
          f"written {cost.written_mb:.2f} MB")
    assert cost.outcome.startswith(f"DataError: {bomb}: declares 3000 MB") and "TSQR_MAX_UNPACKED_MB" in cost.outcome
    assert cost.written_mb < 0.1 and cost.peak_mb < cost.baseline_mb + 32


@pytest.mark.parametrize("loader", ["load_documents", "load_domain"])  # the Search tab, the Evaluate tab
def test_a_gz_holding_one_2_5_gib_line_is_refused_at_the_line_cap(tmp_path, loader):
    bomb = gzip_bomb(tmp_path / "docs.jsonl.gz", ONE_LINE)
    cost = measure(loading(loader, bomb))
    print(f"2.5 GiB one-line gz ({bomb.stat().st_size / MIB:.1f} MB) via {loader}: peak {cost.peak_mb:.0f} MB "
          f"(baseline {cost.baseline_mb:.0f} MB), written {cost.written_mb:.2f} MB")
    assert cost.outcome == f"DataError: {bomb}: line 1: longer than 64 MB (TSQR_MAX_LINE_MB): refused"
    assert cost.peak_mb < cost.baseline_mb + 4 * 64 < PEAK_MB and cost.written_mb < 0.1


def test_a_zip_member_that_expands_too_well_is_stopped_while_streaming_and_removed(tmp_path):
    # The incompressible member keeps the archive-wide declared ratio (~50x) under the cap, so only counting
    # the bytes of the zeros member as they are written can catch it.
    noise = Member("noise.bin", os.urandom(2 * MIB))
    zeros = Member("zeros.bin", chunk=bytes(MIB), repeats=100)
    bomb = zip_bomb(tmp_path / "mixed.zip", [noise, zeros])
    with pytest.raises(DataError, match=r"member 'zeros\.bin' unpacks to more than 200 \(TSQR_MAX_RATIO\)"):
        unpack_zip(bomb, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    cost = measure(loading("load_domain", bomb))
    zeros_compressed = bomb.stat().st_size - 2 * MIB  # an upper bound on the zeros member's compressed size
    assert "TSQR_MAX_RATIO" in cost.outcome and cost.written_mb <= 2 + 200 * zeros_compressed / MIB + 1


def test_a_zip_whose_headers_understate_sizes_writes_no_more_than_declared(tmp_path):
    bomb = zip_bomb(tmp_path / "liar.zip", [Member("docs.jsonl", chunk=bytes(MIB), repeats=64)],
                    declared_sizes=[MIB])
    with pytest.raises(DataError, match="not a readable zip archive"):
        unpack_zip(bomb, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert measure(loading("load_domain", bomb)).written_mb <= 1.1


def test_too_many_zip_members_are_refused_before_writing(tmp_path, monkeypatch):
    monkeypatch.setenv("TSQR_MAX_ENTRIES", "3")
    bomb = zip_bomb(tmp_path / "many.zip", [Member(f"f{i}.jsonl", b"{}\n") for i in range(4)])
    with pytest.raises(DataError, match=r"4 members, more than 3 \(TSQR_MAX_ENTRIES\)"):
        unpack_zip(bomb, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_zip_members_cannot_climb_out_of_the_folder(tmp_path):
    bomb = zip_bomb(tmp_path / "climb.zip", [Member("ok.jsonl", b"{}\n"), Member("../../escaped.jsonl", b"{}\n")])
    with pytest.raises(DataError, match=r"member '\.\./\.\./escaped\.jsonl' points outside the archive"):
        unpack_zip(bomb, tmp_path / "a" / "b" / "out")
    assert not (tmp_path / "a" / "b" / "out").exists() and not (tmp_path / "escaped.jsonl").exists()


def test_the_total_decompressed_size_is_capped_while_reading_a_gz(tmp_path, monkeypatch):
    monkeypatch.setenv("TSQR_MAX_UNPACKED_MB", "4")
    monkeypatch.setenv("TSQR_MAX_RATIO", "1000000")
    lines = Member("docs.jsonl", chunk=b'{"id": "d", "content": "x"}\n' * 1024, repeats=1024)  # 28 MiB
    bomb = gzip_bomb(tmp_path / "docs.jsonl.gz", lines)
    with pytest.raises(DataError, match=r"docs\.jsonl\.gz: expands to more than 4 MB \(TSQR_MAX_UNPACKED_MB\)"):
        load_documents([bomb], "mine", progress=False)


def test_the_compression_ratio_is_capped_while_reading_a_gz(tmp_path, monkeypatch):
    monkeypatch.setenv("TSQR_MAX_RATIO", "20")
    blank = Member("docs.jsonl", chunk=(b" " * 1023 + b"\n") * 1024, repeats=64)  # 64 MiB of blank lines
    bomb = gzip_bomb(tmp_path / "blank.jsonl.gz", blank)
    with pytest.raises(DataError, match=r"decompresses to more than 20 \(TSQR_MAX_RATIO\) times"):
        load_domain(bomb, "mine", progress=False)


def test_a_json_document_is_capped_since_it_is_parsed_whole(tmp_path, monkeypatch):
    monkeypatch.setenv("TSQR_MAX_JSON_MB", "1")
    path = tmp_path / "docs.json"
    path.write_text("[" + ",".join('{"id": "d%d", "content": "some text"}' % i for i in range(40_000)) + "]")
    with pytest.raises(DataError, match=rf"{path}: larger than 1 MB \(TSQR_MAX_JSON_MB\)"):
        load_documents([path], "mine", progress=False)


def test_a_parquet_whose_dictionary_expands_to_gigabytes_is_stopped_while_decoding(tmp_path):
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = 1_000_000  # one 4 KiB string a million times: 4 GB once decoded, a few KB stored
    content = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)), pa.array(["x" * 4096]))
    ids = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)), pa.array(["d"]))
    path = tmp_path / "docs.parquet"
    pq.write_table(pa.table({"id": ids, "content": content}), path)
    assert path.stat().st_size < MIB
    cost = measure(loading("load_documents", path), setup="import tsqr.bright, pyarrow.parquet")
    assert cost.outcome.startswith(f"DataError: {path}: decodes to more than 200 (TSQR_MAX_RATIO) times")
    allowed = 200 * path.stat().st_size / MIB  # the ratio cap's worth of decoded rows, held as Python strings
    assert cost.peak_mb < cost.baseline_mb + 2 * allowed + 32  # instead of 4 GB


def test_a_parquet_of_6_million_tiny_rows_is_refused_from_its_metadata(tmp_path):
    """The issue's reproduction: a 4.3 MB parquet of 6 M tiny rows raised RSS by 2.5 GB and took 89 s to load
    (plus 134 s to index). Rows cost memory whatever they take on disk, so the row count in the file's own
    metadata is checked against TSQR_MAX_DOCUMENTS before a row is decoded."""
    import time

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = 6_000_000
    path = tmp_path / "docs.parquet"
    pq.write_table(pa.table({"id": pa.array(np.arange(rows)), "content": pa.array(np.full(rows, "a"))}), path)
    started = time.perf_counter()
    cost = measure(loading("load_documents", path), setup="import tsqr.bright, pyarrow.parquet")
    seconds = time.perf_counter() - started
    print(f"{rows:,}-row parquet ({path.stat().st_size / MIB:.1f} MB): refused in {seconds:.1f} s including a fresh "
          f"Python, peak {cost.peak_mb:.0f} MB (baseline {cost.baseline_mb:.0f} MB): {cost.outcome}")
    assert cost.outcome == (f"DataError: {path}: more than 1,000,000 rows: refused (a domain holds at most "
                            f"1,000,000 (TSQR_MAX_DOCUMENTS) documents and 10,000 (TSQR_MAX_EXAMPLES) examples)")
    assert cost.peak_mb < cost.baseline_mb + 64  # nothing decoded, instead of 2.5 GB


def test_rows_are_counted_while_jsonl_and_json_stream(tmp_path, monkeypatch):
    """A JSONL file is stopped at the first row past the cap, a JSON list as its objects are decoded (an
    object_hook counts them), so neither holds more than a cap's worth of rows."""
    monkeypatch.setenv("TSQR_MAX_DOCUMENTS", "1000")
    monkeypatch.setenv("TSQR_MAX_EXAMPLES", "10")
    lines = tmp_path / "docs.jsonl"
    lines.write_text("".join(f'{{"id": "d{i}", "content": "x"}}\n' for i in range(1001)))
    listed = tmp_path / "docs.json"
    listed.write_text(json.dumps([{"id": f"d{i}", "content": "x"} for i in range(1001)]))
    for path in (lines, listed):
        with pytest.raises(DataError, match=rf"^{path}: more than 1,000 rows: refused \(a domain holds at most "
                                            rf"1,000 \(TSQR_MAX_DOCUMENTS\) documents"):
            load_documents([path], "mine", progress=False)
    lines.write_text("".join(f'{{"id": "d{i}", "content": "x"}}\n' for i in range(1000)))
    assert len(load_documents([lines], "mine", progress=False)) == 1000  # the cap itself is allowed


def test_shards_each_within_the_cap_are_counted_together(tmp_path, monkeypatch):
    """A zip (or folder) of many shards, each under the per-file cap, is stopped once the files of the domain
    hold more rows together than a domain may."""
    monkeypatch.setenv("TSQR_MAX_DOCUMENTS", "1000")
    monkeypatch.setenv("TSQR_MAX_EXAMPLES", "10")
    examples = Member("examples.jsonl", b'{"id": "q1", "query": "why?", "gold_ids": ["d1"]}\n')
    shards = [Member(f"docs-{n}.jsonl", "".join(f'{{"id": "d{n}-{i}", "content": "x"}}\n'
                                                 for i in range(600)).encode()) for n in range(3)]
    archive = zip_bomb(tmp_path / "shards.zip", [examples, *shards])
    with pytest.raises(DataError, match=r"shards\.zip/docs-1\.jsonl: the files of this domain hold more than "
                                        r"1,010 rows together: refused"):
        load_domain(archive, "mine", progress=False)


@pytest.mark.parametrize("env, rows, expected", [
    ({"TSQR_MAX_EXAMPLES": "2"}, 3, r"line 3: more than 2 \(TSQR_MAX_EXAMPLES\) examples in this domain"),
    ({"TSQR_MAX_DOCUMENTS": "2"}, 3, r"line 3: more than 2 \(TSQR_MAX_DOCUMENTS\) documents in this domain"),
])
def test_examples_and_documents_per_domain_are_capped(tmp_path, monkeypatch, env, rows, expected):
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)
    queries = tmp_path / "examples.jsonl"
    queries.write_text("".join(json.dumps({"id": f"q{i}", "query": "why?", "gold_ids": ["d0"]}) + "\n"
                               for i in range(rows)))
    corpus = tmp_path / "docs.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"d{i}", "content": "x"}) + "\n" for i in range(rows)))
    with pytest.raises(DataError, match=expected):
        load_domain([queries, corpus], "mine", progress=False)
