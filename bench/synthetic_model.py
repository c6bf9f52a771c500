"""Random-weight checkpoints built from configs written here, with a tokenizer trained here: models for GPU checks
and tests that need no download, no network and not even the embedded 98 MB GGUF.

Usage:
    from bench.synthetic_model import write_random_checkpoint
    folder = write_random_checkpoint(tmp / "qwen-shaped", shape="qwen2.5-1.5b", device="cuda")  # 1.5B, bf16
    folder = write_random_checkpoint(tmp / "tiny", shape="tiny")                                # 2 layers, CPU
    load_reasoner(str(folder))                     # a plain transformers folder: reasoner, trainers, app

What a speed check measures depends on the model's shape (layers, widths, heads, vocabulary), not on what its
weights know, so random weights in Qwen2.5-1.5B's shape (TongSearch-QR-1.5B's base) time the GPU path as the
real model would, except that random text rarely stops early. The tokenizer is byte-level BPE trained in a
second on the demo corpus, with Qwen's ChatML chat template and special tokens; the model's vocabulary keeps
the full Qwen size, so ids the tokenizer does not know are simply skipped when decoding.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEMO_DOCUMENTS = ROOT / "tsqr" / "data" / "demo" / "documents.jsonl"
CHATML = ("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

# Qwen/Qwen2.5-1.5B-Instruct's config.json, the architecture TongSearch-QR-1.5B fine-tunes.
QWEN25_15B = dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
                  num_key_value_heads=2, vocab_size=151936, max_position_embeddings=32768, rope_theta=1_000_000.0,
                  rms_norm_eps=1e-6, tie_word_embeddings=True, hidden_act="silu", use_sliding_window=False,
                  sliding_window=32768, max_window_layers=21, attention_dropout=0.0, initializer_range=0.02)
TINY = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            max_position_embeddings=2048, rope_theta=10_000.0, rms_norm_eps=1e-6, tie_word_embeddings=True,
            hidden_act="silu", use_sliding_window=False, attention_dropout=0.0,
            initializer_range=0.5)  # large random weights write varied gibberish, so texts can be compared
SHAPES = {"qwen2.5-1.5b": QWEN25_15B, "tiny": TINY}


def train_tokenizer(vocab_size: int = 4096) -> Any:
    """A byte-level BPE tokenizer trained on the demo corpus, with ChatML tokens and template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    with DEMO_DOCUMENTS.open(encoding="utf-8") as handle:
        corpus = [json.loads(line)["content"] for line in handle if line.strip()]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                        clean_up_tokenization_spaces=False, model_max_length=32768)
    tokenizer.chat_template = CHATML
    return tokenizer


def model_config(shape: str, tokenizer: Any) -> Any:
    """A Qwen2 config of the named shape; the tiny one's vocabulary is the tokenizer's, so it stays tiny."""
    from transformers import Qwen2Config

    if shape not in SHAPES:
        raise ValueError(f"unknown model shape {shape!r}: choose one of {', '.join(SHAPES)}")
    fields = dict(SHAPES[shape])
    fields.setdefault("vocab_size", len(tokenizer))
    return Qwen2Config(**fields, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                       bos_token_id=None)


def write_random_checkpoint(folder: Path, shape: str = "tiny", device: str = "cpu", seed: int = 0) -> Path:
    """Build a random model of `shape` directly on `device` (bf16 on CUDA, float32 on CPU) and save it with its
    tokenizer as a transformers folder; returns the folder."""
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig

    tokenizer = train_tokenizer()
    config = model_config(shape, tokenizer)
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    torch.manual_seed(seed)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    model.generation_config = GenerationConfig(eos_token_id=tokenizer.eos_token_id,
                                               pad_token_id=tokenizer.pad_token_id)
    folder = Path(folder)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    del model
    return folder
