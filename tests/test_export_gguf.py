"""export-gguf: a transformers checkpoint written as a GGUF that llama.cpp runs, checked by what llama.cpp writes.

The fair comparison for an F32 export is transformers on the same checkpoint: the weights are the same numbers,
so greedy text must agree token for token (float rounding differs, but not enough to flip a greedy choice over
16 tokens here). A Q8_0 export or the original Q4_1 file would not agree, by quantisation. Tiny random Llama and
Qwen2 models (with the real SmolLM2 tokenizer and a large init, so the next token is never a near tie) check both
architectures in seconds; without Llama's query/key re-interleaving their texts differ. The slow test is the
round trip the issue asks for: `tsqr export-model default`, then `tsqr export-gguf`, on the real 135M weights,
whose tokenizer metadata must also equal what llama.cpp's own converter wrote into the embedded GGUF.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tsqr.reasoner import GenerationSettings, default_gguf_path, load_reasoner
from tsqr.reasoner.backend_llamacpp import LlamaCppReasoner, llamacpp_available
from tsqr.export.gguf import (
    ExportError,
    export_gguf,
    interleave_rope_rows,
    pre_tokenizer_name,
    vocabulary,
)

QUERIES = ["Why does my sourdough starter smell like nail polish remover?",
           "Why are there two high tides a day when the moon passes overhead only once?"]
GREEDY_16 = GenerationSettings(max_new_tokens=16)


def write_tokenizer_json(folder: Path, pre_tokenizer: dict, vocab: dict[str, int] | None = None,
                         added: list[dict] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tokenizer.json").write_text(json.dumps({
        "model": {"type": "BPE", "vocab": vocab or {"a": 0, "b": 1}, "merges": []},
        "decoder": {"type": "ByteLevel"}, "pre_tokenizer": pre_tokenizer, "added_tokens": added or []}))
    return folder


def test_rope_rows_are_interleaved_per_head():
    rows = np.arange(8, dtype=np.float32).reshape(8, 1)  # two heads of four rows: halves (0,1 | 2,3), (4,5 | 6,7)
    assert interleave_rope_rows(rows, heads=2).ravel().tolist() == [0, 2, 1, 3, 4, 6, 5, 7]
    assert interleave_rope_rows(rows, heads=1).ravel().tolist() == [0, 4, 1, 5, 2, 6, 3, 7]


def test_pre_tokenizer_is_named_from_tokenizer_json(tmp_path):
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True}
    assert pre_tokenizer_name(write_tokenizer_json(tmp_path / "g", byte_level)) == "gpt-2"
    digits = {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True}, byte_level]}
    assert pre_tokenizer_name(write_tokenizer_json(tmp_path / "s", digits)) == "smollm"
    from tsqr.export.gguf import QWEN2_SPLIT

    qwen = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": QWEN2_SPLIT}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "use_regex": False}]}
    assert pre_tokenizer_name(write_tokenizer_json(tmp_path / "q", qwen)) == "qwen2"
    with pytest.raises(ExportError, match=r"pre_tokenizer Metaspace is not one export-gguf recognises"):
        pre_tokenizer_name(write_tokenizer_json(tmp_path / "m", {"type": "Metaspace"}))


def test_vocabulary_types_tokens_and_pads_to_the_embedding(tmp_path):
    folder = write_tokenizer_json(tmp_path, {"type": "ByteLevel"}, {"a": 0, "Ġb": 1, "<s>": 2},
                                  [{"id": 2, "content": "<s>", "special": True},
                                   {"id": 3, "content": "<tool>", "special": False}])
    tokens, types = vocabulary(folder, rows=6)
    assert tokens == ["a", "Ġb", "<s>", "<tool>", "[PAD4]", "[PAD5]"]
    assert types == [1, 1, 3, 4, 5, 5]  # normal, normal, control, user-defined, unused, unused
    with pytest.raises(ExportError, match="has token id 3 but config.json's vocab_size is 3"):
        vocabulary(folder, rows=3)


def test_unsupported_checkpoints_are_refused_with_the_file_named(tmp_path):
    with pytest.raises(ExportError, match=r"config\.json not found: export-gguf takes a transformers checkpoint"):
        export_gguf(tmp_path, tmp_path / "m.gguf")
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt_neox"}))
    with pytest.raises(ExportError, match=r"model_type 'gpt_neox' .*convert_hf_to_gguf\.py"):
        export_gguf(tmp_path, tmp_path / "m.gguf")
    with pytest.raises(ExportError, match=r"--type 'q4_0': choose one of q8_0, f16, f32"):
        export_gguf(tmp_path, tmp_path / "m.gguf", "q4_0")
    (tmp_path / "taken.gguf").write_bytes(b"")
    with pytest.raises(ExportError, match="already exists"):
        export_gguf(tmp_path, tmp_path / "taken.gguf")
    assert not (tmp_path / "m.gguf").exists()


@pytest.fixture(scope="module")
def embedded_gguf() -> Path:
    try:
        gguf = default_gguf_path()
    except FileNotFoundError as error:
        pytest.skip(str(error))
    if not llamacpp_available():
        pytest.skip("xllamacpp is not installed")
    return gguf


@pytest.fixture(scope="module")
def smollm_tokenizer(embedded_gguf, tmp_path_factory) -> Path:
    """The embedded model's tokenizer (and chat template) saved once as a plain tokenizer folder."""
    from transformers import AutoTokenizer

    gguf = embedded_gguf
    folder = tmp_path_factory.mktemp("smollm-tokenizer")
    AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name).save_pretrained(folder)
    return folder


def write_tiny_model(arch: str, tokenizer_folder: Path, folder: Path) -> Path:
    """Two layers, random weights (and q/k/v biases) drawn wide, std 0.5, so greedy choices are clear-cut."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_folder)
    settings = dict(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                    initializer_range=0.5, tie_word_embeddings=arch == "qwen2", bos_token_id=tokenizer.bos_token_id,
                    eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    if arch == "qwen2":
        model = Qwen2ForCausalLM(Qwen2Config(**settings))
    else:  # untied, so lm_head becomes output.weight; with biases, which are re-interleaved like their rows
        model = LlamaForCausalLM(LlamaConfig(**settings, attention_bias=True))
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith(".bias"):
                parameter.normal_(0.0, 0.5)  # zero biases would hide a bias written to the wrong place
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def greedy_texts(spec: str) -> list[str]:
    with load_reasoner(spec, GREEDY_16, cache=False) as reasoner:
        return [result.text for result in reasoner.reason(QUERIES, progress=False)]


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_tiny_checkpoint_exported_f32_writes_what_transformers_writes(arch, smollm_tokenizer, tmp_path):
    import gguf

    checkpoint = write_tiny_model(arch, smollm_tokenizer, tmp_path / arch)
    written = export_gguf(checkpoint, tmp_path / f"{arch}.gguf", "f32")
    expected = greedy_texts(f"transformers:{checkpoint}")
    assert all(text.strip() for text in expected)
    assert greedy_texts(f"llamacpp:{written}") == expected
    quantised = export_gguf(checkpoint, tmp_path / f"{arch}-q8.gguf", "q8_0")
    types = {tensor.name: tensor.tensor_type.name for tensor in gguf.GGUFReader(quantised).tensors}
    assert types["blk.0.attn_q.weight"] == types["token_embd.weight"] == "Q8_0"
    assert types["blk.0.attn_norm.weight"] == "F32"
    assert "blk.0.attn_q.bias" in types and ("output.weight" in types) == (arch == "llama")
    assert all(text.strip() for text in greedy_texts(f"llamacpp:{quantised}"))


@pytest.mark.slow
def test_round_trip_of_the_embedded_model_through_the_cli(embedded_gguf, exported_default, tmp_path, capsys):
    """export-model default -> export-gguf (f32) -> llama.cpp writes the transformers backend's greedy text.
    The export-model step is the session's one run of it (conftest.py's exported_default)."""
    import gguf

    from tsqr.__main__ import main

    checkpoint, written = exported_default.folder, tmp_path / "m.gguf"
    assert exported_default.exit_code == 0 and f"to {checkpoint}" in exported_default.output
    assert main(["export-gguf", str(checkpoint), str(written), "--type", "f32"]) == 0
    assert f"wrote {written}" in capsys.readouterr().out

    original, exported = gguf.GGUFReader(embedded_gguf), gguf.GGUFReader(written)
    for key in ("tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.merges",
                "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.padding_token_id",
                "tokenizer.chat_template", "tokenizer.ggml.add_bos_token", "llama.rope.freq_base",
                "llama.attention.head_count_kv", "llama.context_length"):
        assert exported.fields[key].contents() == original.fields[key].contents(), key
    assert len(exported.tensors) == len(original.tensors)

    transformers_reasoner = load_reasoner(f"transformers:{checkpoint}", GREEDY_16, cache=False)
    expected = [result.text for result in transformers_reasoner.reason(QUERIES, progress=False)]
    with LlamaCppReasoner(written, GREEDY_16, cache=False) as llamacpp:
        assert [result.text for result in llamacpp.reason(QUERIES, progress=False)] == expected
        for text in ("Tides in 2024: 12.5 m, 3x higher; café naïve", QUERIES[1]):  # digits, accents
            messages = llamacpp.messages_for(text)
            assert llamacpp.render(messages) == transformers_reasoner.render(messages)
            assert llamacpp.count_tokens(messages) == transformers_reasoner.count_tokens(messages)
