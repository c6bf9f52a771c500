"""The policy being trained: where it starts, how prompts reach it, and the checkpoints it leaves behind.

Start points (`--start`): "default" (the SmolLM2-135M-Instruct GGUF that tsqr ships, dequantised to float
weights: quantised GGUF tensors cannot be trained), any .gguf file, a local checkpoint folder, or a hub id.
A GGUF start is exported once to a safetensors folder in the tsqr cache, because reading the GGUF (its
tokenizer above all) takes seconds every time while a folder loads at once.

Prompts are the reasoner's own (tsqr.reasoner.prompts, TongSearch QR's prompt by default) rendered by the
model's chat template, exactly as the reasoner renders them at inference, so what is trained is what runs.
Checkpoints are plain transformers folders (safetensors, tokenizer, chat template, generation config, LoRA merged
in), which `tsqr.reasoner.load_reasoner(folder)` and the app load unchanged.
"""
from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tsqr.paths import cache_dir
from tsqr.export import export_model
from tsqr.reasoner import default_gguf_path
from tsqr.reasoner.identity import file_fingerprint
from tsqr.reasoner.prompts import build_messages


def resolve_start(spec: str) -> str:
    """A folder or hub id transformers can load for `spec`; GGUF starts ("default" included) are exported once
    into the tsqr cache with the reasoner's `export_model`, so training starts from the weights it reasons with."""
    if spec != "default" and not spec.endswith(".gguf"):
        path = Path(spec)
        if path.exists() and not (path / "config.json").is_file():
            raise ValueError(f"--start {spec}: folder has no config.json; not a transformers checkpoint")
        return spec

    gguf = default_gguf_path() if spec == "default" else Path(spec)
    if not gguf.is_file():
        raise ValueError(f"--start {spec}: GGUF file not found")
    folder = cache_dir("models") / f"{gguf.stem}-{file_fingerprint(gguf)[:8]}"
    if not (folder / "config.json").is_file():
        partial = folder.with_name(folder.name + ".partial")
        for leftover in (partial, folder):  # half-written exports from an interrupted run
            shutil.rmtree(leftover, ignore_errors=True)
        export_model(str(gguf), partial).rename(folder)
    return str(folder)


def prepare_tokenizer(tokenizer: Any) -> Any:
    """Left padding (generation appends on the right of every row) and a pad token when the model has none."""
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_policy(spec: str, device: str = "cpu", dtype: str = "float32") -> tuple[Any, Any, str]:
    """(model, tokenizer, location) for a start point, on `device`. Float32 weights by default: on GPUs the
    trainers compute in bfloat16 by autocast (as the paper's bf16 runs) while the optimiser keeps full precision."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    location = resolve_start(spec)
    try:
        tokenizer = prepare_tokenizer(AutoTokenizer.from_pretrained(location))
        model = AutoModelForCausalLM.from_pretrained(location, dtype=getattr(torch, dtype))
    except OSError as error:
        raise ValueError(f"--start {spec}: cannot load a causal language model from {location} ({error})") from None
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError(f"--start {spec}: the tokenizer has no chat template; the reasoner prompts through one, "
                         "so start from an instruction-tuned (chat) model")
    return model.to(device), tokenizer, location


@dataclass(frozen=True)
class LoraSettings:
    """LoRA adapters (peft) instead of full fine-tuning: r=0 means full fine-tuning."""

    r: int = 0
    alpha: int = 32
    dropout: float = 0.05
    target_modules: str = "all-linear"


def apply_lora(model: Any, settings: LoraSettings) -> Any:
    """Wrap `model` with trainable LoRA adapters (the base weights freeze); unchanged when r is 0."""
    if settings.r <= 0:
        return model
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=settings.r, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                        target_modules=settings.target_modules, task_type="CAUSAL_LM")
    return get_peft_model(model, config)


def prompt_messages(query: str, template: str = "tongsearch") -> list[dict[str, str]]:
    """The chat turns the reasoner sends for `query` (imported, never redefined: one prompt for training and use)."""
    return build_messages(query, template)


def render_prompts(tokenizer: Any, queries: Sequence[str], template: str = "tongsearch") -> list[str]:
    """Prompt texts through the chat template, ending where the assistant's answer starts."""
    return [tokenizer.apply_chat_template(prompt_messages(q, template), add_generation_prompt=True, tokenize=False)
            for q in queries]


def save_checkpoint(model: Any, tokenizer: Any, folder: str | Path) -> Path:
    """Save a plain transformers checkpoint (LoRA merged into the weights) that the reasoner loads as is."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


def write_tiny_policy(folder: str | Path, tokenizer_source: str = "default", seed: int = 0) -> Path:
    """A randomly initialised two-layer Llama with a real chat tokenizer: trains in a second on a CPU, for tests
    and for dry runs of the whole pipeline before spending GPU time."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    if tokenizer_source == "default" or tokenizer_source.endswith(".gguf"):  # the tokenizer alone: no export

        gguf = default_gguf_path() if tokenizer_source == "default" else Path(tokenizer_source)
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    else:
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_source)
    prepare_tokenizer(tokenizer)
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                         tie_word_embeddings=True, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    return save_checkpoint(LlamaForCausalLM(config), tokenizer, folder)


@dataclass
class Rollout:
    """Completions for a batch of prompts, as token tensors (for PPO) and as text (for the reward).

    `completion_mask` covers the generated tokens up to and including the end-of-turn token; `truncated` marks
    completions cut by the token limit before they ended.
    """

    prompt_ids: Any
    prompt_mask: Any
    completion_ids: Any
    completion_mask: Any
    texts: list[str]
    truncated: list[bool]


def stop_token_ids(model: Any, tokenizer: Any) -> list[int]:
    configured = model.generation_config.eos_token_id
    ids = [i for i in (configured if isinstance(configured, list) else [configured]) if i is not None]
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in ids:
        ids.append(tokenizer.eos_token_id)
    return ids


def generate(model: Any, tokenizer: Any, prompts: Sequence[str], *, max_new_tokens: int, temperature: float = 1.0,
             top_p: float = 1.0, repetition_penalty: float = 1.0) -> Rollout:
    """Generate one completion per prompt text (sampling when temperature > 0, greedy at 0).

    RL rollouts keep repetition_penalty at 1.0: any logit processing makes the sampled distribution differ from
    the policy whose log-probabilities the loss uses.
    """
    import torch
    from transformers import GenerationConfig

    device = next(model.parameters()).device
    encoded = tokenizer(list(prompts), return_tensors="pt", padding=True, add_special_tokens=False).to(device)
    stops = stop_token_ids(model, tokenizer)
    sampling = dict(do_sample=True, temperature=temperature, top_p=top_p, top_k=0) if temperature > 0 else \
        dict(do_sample=False)
    config = GenerationConfig(max_new_tokens=max_new_tokens, eos_token_id=stops, pad_token_id=tokenizer.pad_token_id,
                              repetition_penalty=repetition_penalty, **sampling)
    with torch.no_grad():
        output = model.generate(**encoded, generation_config=config)
    completion_ids = output[:, encoded["input_ids"].shape[1]:]
    is_stop = torch.isin(completion_ids, torch.tensor(stops, device=device))
    ended = is_stop.any(dim=1)
    first_stop = torch.where(ended, is_stop.int().argmax(dim=1), torch.full_like(ended, completion_ids.shape[1],
                                                                                   dtype=torch.long))
    positions = torch.arange(completion_ids.shape[1], device=device).unsqueeze(0)
    completion_mask = (positions <= first_stop.unsqueeze(1)).long()
    texts = tokenizer.batch_decode(completion_ids * completion_mask + tokenizer.pad_token_id * (1 - completion_mask),
                                   skip_special_tokens=True)
    return Rollout(encoded["input_ids"], encoded["attention_mask"], completion_ids, completion_mask, texts,
                   (~ended).tolist())
