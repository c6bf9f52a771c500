"""Hub GGUF specs (`owner/repo:QUANT`, `owner/repo/file.gguf`) end to end, offline, on a hub cache each test
writes itself in huggingface_hub's layout, with the embedded SmolLM2 GGUF standing in for a downloaded file."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from tsqr.reasoner import GenerationSettings, ModelNotFoundError, default_gguf_path, load_reasoner, resolve_spec
from tsqr.reasoner.backend_llamacpp import LlamaCppReasoner, llamacpp_available
from tsqr.reasoner.hub_gguf import HubGGUFSpec, choose_files, fetch_hub_gguf, hub_cache_dir, parse_hub_gguf

REPO = "tsqr-test/SmolLM2-135M-Instruct-GGUF"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def add_to_cache(cache: Path, repo: str, files: dict[str, Path | bytes], commit: str = COMMIT) -> Path:
    """Write `files` as huggingface_hub does: blobs/<hash>, snapshots/<commit>/<name> -> blob, refs/main."""
    folder = cache / f"models--{repo.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True, exist_ok=True)
    (folder / "refs" / "main").write_text(commit)
    for name, content in files.items():
        blob = folder / "blobs" / hashlib.sha256(name.encode() + commit.encode()).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            blob.symlink_to(content)  # the 98 MB model is linked, not copied
        else:
            blob.write_bytes(content)
        pointer = folder / "snapshots" / commit / name
        pointer.parent.mkdir(parents=True, exist_ok=True)
        pointer.symlink_to(os.path.relpath(blob, pointer.parent))
    return folder / "snapshots" / commit


@pytest.fixture()
def hub_cache(tmp_path, monkeypatch) -> Path:
    """An offline hub cache of our own, holding REPO with the embedded GGUF, a second (fake) quant and a README."""
    try:
        gguf = default_gguf_path()
    except FileNotFoundError as error:
        pytest.skip(str(error))
    cache = tmp_path / "hf" / "hub"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    add_to_cache(cache, REPO, {GGUF_NAME: gguf, "SmolLM2-135M-Instruct.BF16.gguf": b"not a model",
                               "README.md": b"# test repo\n"})
    return cache


def test_specs_are_recognised_without_touching_the_hub(hub_cache):
    assert parse_hub_gguf(f"{REPO}:Q4_K_M") == HubGGUFSpec(REPO, quant="Q4_K_M")
    assert parse_hub_gguf(f"{REPO}/sub/m.Q8_0.gguf") == HubGGUFSpec(REPO, filename="sub/m.Q8_0.gguf")
    assert parse_hub_gguf(REPO) is None and parse_hub_gguf("/abs/m.gguf") is None
    assert resolve_spec(f"{REPO}:q4_1").kind == "hub-gguf"
    assert resolve_spec(f"{REPO}:q4_1").backend == ("llama.cpp" if llamacpp_available() else "transformers")
    assert resolve_spec(f"transformers:{REPO}:Q4_1").backend == "transformers"
    assert resolve_spec(REPO).kind == "hub"  # no quant, no file: a transformers checkpoint, as before
    assert hub_cache_dir() == hub_cache


def test_a_local_path_of_the_same_shape_wins(hub_cache, tmp_path, monkeypatch):
    local = tmp_path / "tsqr-test" / "repo" / "m.gguf"
    local.parent.mkdir(parents=True)
    local.write_bytes(b"GGUF")
    monkeypatch.chdir(tmp_path)
    assert resolve_spec("tsqr-test/repo/m.gguf").kind == "gguf"


def test_quant_matches_whole_words_case_insensitively():
    files = ["m-Q4_K.gguf", "m-Q4_K_M.gguf", "m-BF16.gguf", "m-F16.gguf", "mmproj-m-F16.gguf", "README.md"]
    assert choose_files(HubGGUFSpec("o/r", quant="q4_k_m"), files) == ["m-Q4_K_M.gguf"]
    assert choose_files(HubGGUFSpec("o/r", quant="Q4_K"), files) == ["m-Q4_K.gguf"]
    assert choose_files(HubGGUFSpec("o/r", quant="f16"), files) == ["m-F16.gguf"]  # not BF16, not the projector
    shards = ["big-Q8_0-00002-of-00002.gguf", "big-Q8_0-00001-of-00002.gguf", "big-Q4_0.gguf"]
    assert choose_files(HubGGUFSpec("o/r", quant="Q8_0"), shards) == \
        ["big-Q8_0-00001-of-00002.gguf", "big-Q8_0-00002-of-00002.gguf"]
    with pytest.raises(ModelNotFoundError, match="lacks shard"):
        choose_files(HubGGUFSpec("o/r", quant="Q8_0"), shards[1:])
    with pytest.raises(ModelNotFoundError, match=r"several GGUF files in o/r: a\.Q4_0\.gguf, b\.Q4_0\.gguf"):
        choose_files(HubGGUFSpec("o/r", quant="Q4_0"), ["a.Q4_0.gguf", "b.Q4_0.gguf"])


def test_no_matching_quant_lists_what_the_repo_has(hub_cache):
    with pytest.raises(ModelNotFoundError) as raised:
        load_reasoner(f"{REPO}:Q5_K_M")
    message = str(raised.value)
    assert "matches quant 'Q5_K_M'" in message and "\n" not in message
    assert f"{GGUF_NAME}, SmolLM2-135M-Instruct.BF16.gguf" in message or \
        f"SmolLM2-135M-Instruct.BF16.gguf, {GGUF_NAME}" in message
    assert "README" not in message
    with pytest.raises(ModelNotFoundError, match=f"has no file 'missing.gguf'.*{GGUF_NAME}"):
        load_reasoner(f"{REPO}/missing.gguf")


def test_offline_and_not_cached_is_one_clear_line(hub_cache):
    with pytest.raises(ModelNotFoundError) as raised:
        load_reasoner("nobody/not-cached-GGUF:Q4_K_M")
    message = str(raised.value)
    assert "\n" not in message and "not in the hub cache" in message and "HF_HUB_OFFLINE" in message
    assert str(hub_cache) in message


def test_fetch_resolves_the_snapshot_file_and_pins_the_commit(hub_cache):
    fetched = fetch_hub_gguf(f"{REPO}:Q4_1")
    assert (fetched.repo, fetched.filename, fetched.commit) == (REPO, GGUF_NAME, COMMIT)
    assert fetched.path == hub_cache / f"models--{REPO.replace('/', '--')}" / "snapshots" / COMMIT / GGUF_NAME
    assert fetched.path.read_bytes()[:4] == b"GGUF"
    identity = fetched.identity("llama.cpp")
    assert identity.name == f"{REPO}/{GGUF_NAME}@{COMMIT[:8]} (llama.cpp)"


@pytest.mark.slow
def test_both_spec_forms_reason_on_llamacpp_like_the_local_file(hub_cache):
    if not llamacpp_available():
        pytest.skip("xllamacpp is not installed")
    settings = GenerationSettings(max_new_tokens=8)
    query = ["Why does bread go stale?"]
    with LlamaCppReasoner(default_gguf_path(), settings, cache=False) as local:
        [expected] = local.reason(query, progress=False)
    for spec in (f"{REPO}:Q4_1", f"{REPO}/{GGUF_NAME}"):
        with load_reasoner(spec, settings, cache=False) as reasoner:
            assert isinstance(reasoner, LlamaCppReasoner)
            assert reasoner.name == f"{REPO}/{GGUF_NAME}@{COMMIT[:8]} (llama.cpp)"
            [result] = reasoner.reason(query, progress=False)
        assert result.text == expected.text and 0 < result.new_tokens <= 8
