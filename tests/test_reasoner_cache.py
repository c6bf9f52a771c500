"""The reasoning cache: keys that change exactly when the text could, crash-safe appends shared by several
processes, TongSearch JSON I/O."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings
from dataclasses import asdict
from pathlib import Path

import pytest

from tsqr.reasoner import GenerationSettings, get_template
from tsqr.reasoner.cache import INTERRUPTED_AFTER_S, CacheRow, ReasoningCache, reasoning_key
from tsqr.reasoner.identity import ModelIdentity, file_fingerprint, folder_fingerprint
from tsqr.reasonings import export_cache, import_into_cache
from tsqr.bright import DataError

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = get_template("tongsearch")
SETTINGS = GenerationSettings(max_new_tokens=64)


def row(key: str, query: str, text: str) -> CacheRow:
    return CacheRow(key=key, query=query, text=text, model="m", template="tongsearch",
                    settings=SETTINGS.output_fields(), new_tokens=5, seconds=0.5)


def test_key_depends_on_model_template_output_settings_and_query_only():
    key = reasoning_key("m", TEMPLATE, SETTINGS, "q")
    assert key == reasoning_key("m", TEMPLATE, SETTINGS.with_changes(batch_size=1), "q")
    variants = [reasoning_key("m2", TEMPLATE, SETTINGS, "q"), reasoning_key("m", get_template("hyde"), SETTINGS, "q"),
                reasoning_key("m", TEMPLATE, SETTINGS.with_changes(repetition_penalty=1.0), "q"),
                reasoning_key("m", TEMPLATE, SETTINGS, "q ")]
    assert key not in variants and len(set(variants)) == len(variants)


def test_rows_survive_a_reload_and_later_rows_win(tmp_path):
    cache = ReasoningCache(tmp_path / "c.jsonl")
    cache.append([row("k1", "q1", "first"), row("k2", "q2", "second")])
    cache.append([row("k1", "q1", "rewritten")])
    reloaded = ReasoningCache(tmp_path / "c.jsonl")
    assert len(reloaded) == 2 and reloaded.get("k1").text == "rewritten"
    stored = json.loads((tmp_path / "c.jsonl").read_text().splitlines()[0])
    assert {"key", "query", "text", "model", "template", "settings", "new_tokens", "seconds"} <= set(stored)


def test_truncated_last_line_is_skipped_with_a_warning_and_the_next_append_is_intact(tmp_path):
    path = tmp_path / "c.jsonl"
    ReasoningCache(path).append([row("k1", "q1", "kept")])
    with path.open("a") as handle:
        handle.write('{"key": "k2", "query": "q2", "te')  # a writer killed mid-line...
    long_ago = time.time() - INTERRUPTED_AFTER_S - 5
    os.utime(path, (long_ago, long_ago))  # ...a while ago: nobody is still writing that line
    with pytest.warns(UserWarning, match=r"c\.jsonl:2: truncated last line \(a writer was interrupted\)"):
        cache = ReasoningCache(path)
        assert len(cache) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(cache) == 1 and cache.get("k2") is None  # reported once, not at every lookup
    with pytest.warns(UserWarning, match=r"c\.jsonl:2: not JSON"):  # closed by the append: a damaged line now
        cache.append([row("k3", "q3", "after the crash")])
    with pytest.warns(UserWarning, match=r"c\.jsonl:2: not JSON"):
        reloaded = ReasoningCache(path)
        assert {r.key for r in reloaded.rows()} == {"k1", "k3"}


def test_a_line_still_being_written_is_not_a_row_and_not_an_interruption(tmp_path):
    path = tmp_path / "c.jsonl"
    ReasoningCache(path).append([row("k1", "q1", "first")])
    line = json.dumps(asdict(row("k2", "q2", "second"))) + "\n"
    with path.open("a") as handle:
        handle.write(line[:25])  # another process's write, half on disk
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "a writer was interrupted" would be false here
        cache = ReasoningCache(path)
        assert len(cache) == 1 and "k2" not in cache
        with path.open("a") as handle:
            handle.write(line[25:])
        assert cache.get("k2").text == "second" and len(cache) == 2


def test_a_long_lived_cache_sees_what_another_writer_appended(tmp_path):
    path = tmp_path / "c.jsonl"
    writer, reader = ReasoningCache(path), ReasoningCache(path)
    assert len(reader) == 0 and reader.get("k1") is None  # no file yet
    writer.append([row("k1", "q1", "one")])
    assert reader.get("k1").text == "one"  # a miss reads the appended rows before answering
    writer.append([row("k2", "q2", "two"), row("k1", "q1", "one, rewritten")])
    assert "k2" in reader and len(reader) == 2
    assert reader.get("k1").text == "one, rewritten"  # later rows win, also when read incrementally
    reader.append([row("k3", "q3", "three")])
    assert {r.key for r in writer.rows()} == {"k1", "k2", "k3"}
    replacement = tmp_path / "other.jsonl"
    ReasoningCache(replacement).append([row("k9", "q9", "new file")])
    os.replace(replacement, path)  # the file was replaced (a user restored a copy): read it again
    assert [r.key for r in reader.rows()] == ["k9"] and reader.get("k1") is None


WRITER = """
import sys
from tsqr.reasoner.cache import CacheRow, ReasoningCache
path, name, batches, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
cache = ReasoningCache(path)
for batch in range(batches):
    cache.append([CacheRow(key=f"{name}-{batch}-{i}", query=f"q {name} {batch} {i}", text=name * size,
                           model="m", template="tongsearch") for i in range(3)])
print(len(cache))
"""


def test_two_writer_processes_and_a_reader_share_one_file(tmp_path):
    """Two processes append big batches to one cache while this one reads it, fresh and long-lived readers
    alike: no row lost or merged with another, no false "interrupted" warning, and every reader ends up seeing
    every row."""
    path, batches, size = tmp_path / "shared.jsonl", 40, 20_000
    expected = {f"{name}-{batch}-{i}" for name in "ab" for batch in range(batches) for i in range(3)}
    long_lived = ReasoningCache(path)
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), name, str(batches), str(size)],
                                cwd=REPO, stdout=subprocess.PIPE, text=True) for name in "ab"]
    seen: list[int] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        while any(writer.poll() is None for writer in writers):
            seen.append(len(ReasoningCache(path)))
            seen.append(len(long_lived))
        outputs = [writer.communicate(timeout=60)[0] for writer in writers]
        assert [writer.returncode for writer in writers] == [0, 0]
        assert len(long_lived) == len(expected) and {r.key for r in long_lived.rows()} == expected
        fresh = ReasoningCache(path)
        assert {r.key for r in fresh.rows()} == expected
        assert all(r.text in ("a" * size, "b" * size) for r in fresh.rows())
    assert [str(w.message) for w in caught] == []
    assert len(seen) > 2 and max(seen) <= len(expected)
    # Each writer's own cache, read last, saw its rows and whatever the other had appended by then.
    assert all(int(out) >= 3 * batches for out in outputs)
    lines = [line for line in path.read_text().split("\n") if line]
    assert len(lines) == len(expected)  # one row per line: nothing merged, nothing lost


def test_a_row_missing_a_field_is_reported_by_line_and_field(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"key": "k1", "query": "q1"}) + "\n" + json.dumps(row("k2", "q2", "ok").__dict__) + "\n")
    with pytest.warns(UserWarning, match=r"c\.jsonl:1: field 'text': missing"):
        assert [r.key for r in ReasoningCache(path).rows()] == ["k2"]


def test_export_and_import_tongsearch_json(tmp_path):
    cache = ReasoningCache(tmp_path / "a.jsonl")
    cache.append([row("k1", "Why tides?", "The moon."), row("k2", "Why sky blue?", "Rayleigh.")])
    assert export_cache(cache, tmp_path / "out.json") == 2
    assert json.loads((tmp_path / "out.json").read_text()) == {"Why tides?": "The moon.", "Why sky blue?": "Rayleigh."}

    other = ReasoningCache(tmp_path / "b.jsonl")
    assert import_into_cache(other, tmp_path / "out.json", "TongSearch-QR-7B", TEMPLATE, SETTINGS) == 2
    assert import_into_cache(other, tmp_path / "out.json", "TongSearch-QR-7B", TEMPLATE, SETTINGS) == 0
    imported = other.get(reasoning_key("TongSearch-QR-7B", TEMPLATE, SETTINGS, "Why tides?"))
    assert imported.text == "The moon." and imported.model == "TongSearch-QR-7B"


def test_import_rejects_a_file_that_is_not_a_query_to_text_mapping(tmp_path):
    (tmp_path / "bad.json").write_text(json.dumps({"q": ["not", "text"]}))
    with pytest.raises(DataError, match=r"bad\.json: key 'q': expected the reasoning as text, got list"):
        import_into_cache(ReasoningCache(tmp_path / "c.jsonl"), tmp_path / "bad.json", "m", TEMPLATE, SETTINGS)


def test_file_fingerprint_follows_content_not_modification_time(tmp_path):
    weights = tmp_path / "w.bin"
    weights.write_bytes(os.urandom(3 << 20))
    before = file_fingerprint(weights)
    os.utime(weights, (1, 1))
    assert file_fingerprint(weights) == before
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF  # a change near the end (the last tensor) must show
    weights.write_bytes(bytes(data))
    assert file_fingerprint(weights) != before


def test_folder_fingerprint_sees_weights_and_chat_template_but_not_other_files(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"weights")
    (tmp_path / "chat_template.jinja").write_text("{{ messages }}")
    before = folder_fingerprint(tmp_path)
    (tmp_path / "README.md").write_text("notes")
    assert folder_fingerprint(tmp_path) == before
    (tmp_path / "chat_template.jinja").write_text("{{ messages[0] }}")
    assert folder_fingerprint(tmp_path) != before


def test_identity_name_and_slug_are_readable_and_file_safe():
    identity = ModelIdentity(label="TongSearch/TongSearch-QR-7B", fingerprint="abcdef0123456789", backend="server")
    assert identity.name == "TongSearch/TongSearch-QR-7B@abcdef01 (server)"
    assert "/" not in identity.slug and identity.slug.endswith("server-abcdef01")


def test_a_row_that_used_every_allowed_token_reads_as_cut_at_the_limit():
    def row(new_tokens, settings):
        return CacheRow(key="k", query="q", text="t", model="m", template="x", settings=settings, new_tokens=new_tokens)

    assert row(256, {"max_new_tokens": 256}).reached_token_limit
    assert not row(255, {"max_new_tokens": 256}).reached_token_limit
    assert not row(0, {}).reached_token_limit  # an imported reasoning records no count: not called cut


# ---------------------------------------------------------------- rows checked field by field, caps, pruning

@pytest.mark.parametrize("fields, problem", [
    ({"settings": 5}, "field 'settings': expected an object of plain values"),
    ({"settings": {"a": {"b": 1}}}, "field 'settings': expected an object of plain values"),
    ({"new_tokens": [1]}, "field 'new_tokens': expected a whole number >= 0, got [1]"),
    ({"new_tokens": -3}, "field 'new_tokens': expected a whole number >= 0, got -3"),
    ({"new_tokens": True}, "field 'new_tokens': expected a whole number >= 0, got True"),
    ({"seconds": "slow"}, "field 'seconds': expected a number >= 0, got 'slow'"),
    ({"model": 5}, "field 'model': expected a string, got int"),
    ({"template": ["t"]}, "field 'template': expected a string, got list"),
    ({"query": None}, "field 'query': missing or not a string"),
])
def test_a_row_with_a_field_of_the_wrong_type_is_skipped_naming_file_line_and_field(tmp_path, fields, problem):
    """`"settings": 5` gave "'int' object is not iterable" in the app and `"new_tokens": [1]` a TypeError."""
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(asdict(row("k1", "q1", "good"))) + "\n"
                    + json.dumps(asdict(row("k2", "q2", "bad")) | fields) + "\n")
    with pytest.warns(UserWarning) as caught:
        assert [r.key for r in ReasoningCache(path).rows()] == ["k1"]
    assert [str(w.message) for w in caught] == [f"reasoning cache {path}:2: {problem}; line skipped"]


def test_a_line_past_the_line_cap_is_skipped_without_being_read_whole(tmp_path, monkeypatch):
    monkeypatch.setenv("TSQR_MAX_LINE_MB", "0.001")  # 1048 bytes
    path = tmp_path / "c.jsonl"
    huge = json.dumps(asdict(row("k2", "q2", "x" * 5000)))
    path.write_text(json.dumps(asdict(row("k1", "q1", "a"))) + "\n" + huge + "\n"
                    + json.dumps(asdict(row("k3", "q3", "c"))) + "\n")
    with pytest.warns(UserWarning, match=r"c\.jsonl:2: longer than 0\.000999\d* MB \(TSQR_MAX_LINE_MB\); line "
                                         r"skipped"):
        cache = ReasoningCache(path)
        assert sorted(r.key for r in cache.rows()) == ["k1", "k3"]
    with path.open("a") as handle:  # a long line still being written is neither a row nor skipped yet
        handle.write(huge[:3000])
    assert len(cache) == 2
    with path.open("a") as handle:
        handle.write(huge[3000:] + "\n" + json.dumps(asdict(row("k4", "q4", "d"))) + "\n")
    with pytest.warns(UserWarning, match=r"c\.jsonl:4: longer than"):
        assert sorted(r.key for r in cache.rows()) == ["k1", "k3", "k4"]


def test_a_150_mb_row_in_cache_format_is_refused_within_the_line_cap(tmp_path):
    """The issue's reproduction: a reasoning file in tsqr's cache format skipped the line cap, and one 150 MB
    row was accepted (+2.55 GB RSS). Now it is skipped having read at most the 64 MB cap at a time, in a fresh
    process whose peak memory is measured."""
    from bench.bombs import measure

    path = tmp_path / "upload.jsonl"
    with path.open("w") as handle:
        handle.write(json.dumps(asdict(row("k1", "q1", "kept"))) + "\n")
        handle.write('{"key": "k2", "query": "q2", "text": "' + "x" * (150 << 20) + '"}\n')
    cost = measure(f"from tsqr.reasonings import load_reasonings; import warnings; warnings.simplefilter('ignore');"
                   f"source = load_reasonings({str(path)!r}); assert list(source.by_query) == ['q1']",
                   setup="import tsqr.reasonings")
    print(f"150 MB cache-format row: {cost.outcome}, peak {cost.peak_mb:.0f} MB (baseline {cost.baseline_mb:.0f} MB)")
    assert cost.outcome == "loaded"
    assert cost.peak_mb < cost.baseline_mb + 2 * 64 + 32  # instead of +2.55 GB


def test_rows_past_the_query_or_reasoning_cap_are_neither_written_nor_read(tmp_path, monkeypatch):
    monkeypatch.setenv("TSQR_MAX_REASONING_CHARS", "10")
    monkeypatch.setenv("TSQR_MAX_EXAMPLE_QUERY_CHARS", "5")
    path = tmp_path / "c.jsonl"
    cache = ReasoningCache(path)
    with pytest.warns(UserWarning) as caught:
        cache.append([row("k1", "q1", "short"), row("k2", "q2", "x" * 11), row("k3", "q" * 6, "short")])
    assert [str(w.message) for w in caught] == [
        f"reasoning cache {path}: row not cached: field 'text': 11 characters, more than 10 (TSQR_MAX_REASONING_CHARS)",
        f"reasoning cache {path}: row not cached: field 'query': 6 characters, more than 5 "
        f"(TSQR_MAX_EXAMPLE_QUERY_CHARS)"]
    assert [json.loads(line)["key"] for line in path.read_text().splitlines()] == ["k1"]
    with path.open("a") as handle:  # written by an older tsqr, or uploaded
        handle.write(json.dumps(asdict(row("k4", "q4", "y" * 11))) + "\n")
    with pytest.warns(UserWarning, match=r"c\.jsonl:2: field 'text': 11 characters, more than 10"):
        assert [r.key for r in ReasoningCache(path).rows()] == ["k1"]


def test_the_shared_cache_folder_is_pruned_least_recently_used_first(tmp_path, monkeypatch):
    """The shared reasoning cache had no cap; now each append prunes its folder to TSQR_REASONING_CACHE_MB
    with the mechanism BM25 indexes use (tsqr.paths.prune_cache), and a lookup counts as a use."""
    monkeypatch.setenv("TSQR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TSQR_REASONING_CACHE_MB", str(3000 / (1 << 20)))  # 3000 bytes
    folder = tmp_path / "cache" / "reasoning"
    old, used, new = (ReasoningCache(folder / f"{name}.jsonl") for name in ("old", "used", "new"))
    old.append([row("k1", "q1", "a" * 800)])
    used.append([row("k2", "q2", "b" * 800)])
    for number, path in enumerate([old.path, used.path]):
        os.utime(path, (1_000_000 + number, 1_000_000 + number))
    assert ReasoningCache(used.path).get("k2") is not None  # marks "used" as just used
    new.append([row("k3", "q3", "c" * 800)])
    assert sorted(path.name for path in folder.iterdir()) == ["new.jsonl", "used.jsonl"]
    elsewhere = ReasoningCache(tmp_path / "mine.jsonl")  # a user's own file outside the shared folder
    (tmp_path / "keep.jsonl").write_text("x" * 5000)
    elsewhere.append([row("k4", "q4", "d" * 800)])
    assert (tmp_path / "keep.jsonl").exists() and elsewhere.path.exists()
