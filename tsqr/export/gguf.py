"""Write a transformers checkpoint (Llama or Qwen2, as train/ and export-model save them) as a GGUF file that
llama.cpp runs, with the `gguf` package alone: no llama.cpp checkout, no convert_hf_to_gguf.py.

Usage:
    python -m tsqr export-gguf checkpoints/grpo-run qr.gguf                 # Q8_0: near float quality, CPU speed
    python -m tsqr export-gguf checkpoints/grpo-run qr-f32.gguf --type f32  # exactly the trained weights
    export_gguf(Path("checkpoints/grpo-run"), Path("qr.gguf"), "q8_0")

A trained policy is float safetensors; on a CPU llama.cpp reasons with a GGUF several times faster than
transformers does with the float model (bench/reasoner_speed.py). The `gguf` package ships the file writer,
llama.cpp's tensor-name table, the special-token and merges reader and Q8_0 quantisation, but not the
per-architecture conversion, which is written here for the two architectures tsqr trains: Llama (SmolLM2) and
Qwen2 (TongSearch QR's Qwen2.5 base). What that conversion has to get right:

- hyperparameters under `<arch>.*` keys, from config.json;
- Llama's query/key rows: transformers stores them for rotate-half RoPE, llama.cpp's Llama graph rotates
  adjacent pairs, so each head's rows are re-interleaved (Qwen2 runs with rotate-half in both: no change);
- the tokenizer: every token by id (byte-level strings, as tokenizer.json holds them) with its type, padded to
  the embedding's row count, the merges, special ids and chat template (gguf.SpecialVocab), and the name of
  llama.cpp's pre-tokenizer whose split regex is the one tokenizer.json describes (`PRE_TOKENIZERS`);
- tensors streamed one at a time, so a 7B checkpoint does not have to fit in memory twice.

Other architectures or SentencePiece tokenizers: use llama.cpp's convert_hf_to_gguf.py (see train/README.md).
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ARCHITECTURES = {"llama": "LLAMA", "qwen2": "QWEN2"}  # config.json model_type -> gguf.MODEL_ARCH member
TYPES = ("q8_0", "f16", "f32")
# Qwen2's split pattern in tokenizer.json, which llama.cpp's "qwen2" pre-tokenizer implements.
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
               r"\s*[\r\n]+|\s+(?!\S)|\s+")
PRE_TOKENIZERS = (  # (llama.cpp name, tokenizer.json pre_tokenizer shape)
    ("gpt-2", ("ByteLevel(regex)",)),
    ("smollm", ("Digits(individual)", "ByteLevel(regex)")),
    ("qwen2", (f"Split({QWEN2_SPLIT})", "ByteLevel")),
)


class ExportError(ValueError):
    """A checkpoint export-gguf cannot convert; the message names the file and field."""


@dataclass(frozen=True)
class TensorPlan:
    """One output tensor: where it comes from, its GGUF name, type and size, decided before any data is read."""

    source: str
    file: Path
    name: str
    shape: tuple[int, ...]
    qtype: Any  # gguf.GGMLQuantizationType
    nbytes: int
    permute_heads: int  # > 0: re-interleave the rows of this many heads (Llama q/k)


def export_gguf(checkpoint: Path, destination: Path, out_type: str = "q8_0", pre: str | None = None) -> Path:
    """Write `checkpoint` (a folder with config.json, *.safetensors, tokenizer.json) as the GGUF `destination`.

    `out_type` is q8_0, f16 or f32 for the matrices (norms stay f32); `pre` overrides the pre-tokenizer name
    when tokenizer.json has a shape PRE_TOKENIZERS does not know. Refuses to overwrite an existing file.
    """
    import gguf
    from tqdm import tqdm

    checkpoint, destination = Path(checkpoint), Path(destination)
    if out_type not in TYPES:
        raise ExportError(f"--type {out_type!r}: choose one of {', '.join(TYPES)}")
    if destination.exists():
        raise ExportError(f"export destination {destination} already exists: choose a new file name")
    config = _read_json(checkpoint / "config.json")
    arch = _architecture(config, checkpoint)
    tokens, token_types = vocabulary(checkpoint, _config_int(config, "vocab_size", checkpoint))
    pre = pre or pre_tokenizer_name(checkpoint)
    plan = tensor_plan(checkpoint, config, arch, out_type)

    destination.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(destination, gguf.MODEL_ARCH_NAMES[arch])
    try:
        _write_hyperparameters(writer, config, checkpoint, out_type)
        writer.add_tokenizer_model("gpt2")
        writer.add_tokenizer_pre(pre)
        writer.add_token_list(tokens)
        writer.add_token_types(token_types)
        special = gguf.SpecialVocab(checkpoint, load_merges=True, n_vocab=len(tokens))
        special.add_to_gguf(writer, quiet=True)
        if "bos" not in special.add_special_token:  # transformers adds no BOS here: llama.cpp must not either
            writer.add_add_bos_token(False)
        for item in plan:
            writer.add_tensor_info(item.name, item.shape, np.dtype(np.float32), item.nbytes, raw_dtype=item.qtype)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for item in tqdm(plan, desc=f"writing {destination.name}", unit="tensor"):
            writer.write_tensor_data(_converted(item))
    except BaseException:
        writer.close()
        destination.unlink(missing_ok=True)  # never leave half a model where a loader would find it
        raise
    writer.close()
    return destination


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ExportError(f"{path} not found: export-gguf takes a transformers checkpoint folder (config.json, "
                          "*.safetensors, tokenizer.json), as train/ and `tsqr export-model` write")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ExportError(f"{path} is not valid JSON: {error}") from None


def _config_int(config: dict[str, Any], field: str, checkpoint: Path) -> int:
    value = config.get(field)
    if not isinstance(value, int) or value <= 0:
        raise ExportError(f"{checkpoint / 'config.json'}: field {field!r} must be a positive integer, got {value!r}")
    return value


def _architecture(config: dict[str, Any], checkpoint: Path) -> Any:
    import gguf

    model_type = config.get("model_type")
    if model_type not in ARCHITECTURES:
        raise ExportError(f"{checkpoint / 'config.json'}: model_type {model_type!r} is not one export-gguf converts "
                          f"({', '.join(ARCHITECTURES)}); use llama.cpp's convert_hf_to_gguf.py")
    return getattr(gguf.MODEL_ARCH, ARCHITECTURES[model_type])


def _rope_theta(config: dict[str, Any]) -> float:
    """transformers 5 keeps rope_theta under rope_parameters, earlier releases at the top level."""
    parameters = config.get("rope_parameters") or {}
    return float(parameters.get("rope_theta", config.get("rope_theta", 10000.0)))


def _write_hyperparameters(writer: Any, config: dict[str, Any], checkpoint: Path, out_type: str) -> None:
    import gguf

    scaling = config.get("rope_scaling") or config.get("rope_parameters") or {}
    if scaling.get("rope_type", scaling.get("type", "default")) not in ("default", None):
        raise ExportError(f"{checkpoint / 'config.json'}: RoPE scaling {scaling.get('rope_type')!r} is not "
                          "supported by export-gguf; use llama.cpp's convert_hf_to_gguf.py")
    if config.get("use_sliding_window"):
        raise ExportError(f"{checkpoint / 'config.json'}: use_sliding_window is set, which llama.cpp's "
                          f"{config['model_type']} does not implement; use llama.cpp's convert_hf_to_gguf.py")
    heads = _config_int(config, "num_attention_heads", checkpoint)
    hidden = _config_int(config, "hidden_size", checkpoint)
    head_dim = config.get("head_dim") or hidden // heads
    writer.add_name(checkpoint.resolve().name)
    writer.add_context_length(_config_int(config, "max_position_embeddings", checkpoint))
    writer.add_embedding_length(hidden)
    writer.add_block_count(_config_int(config, "num_hidden_layers", checkpoint))
    writer.add_feed_forward_length(_config_int(config, "intermediate_size", checkpoint))
    writer.add_head_count(heads)
    writer.add_head_count_kv(config.get("num_key_value_heads") or heads)
    writer.add_rope_freq_base(_rope_theta(config))
    writer.add_rope_dimension_count(head_dim)
    if head_dim != hidden // heads:
        writer.add_key_length(head_dim)
        writer.add_value_length(head_dim)
    writer.add_layer_norm_rms_eps(float(config.get("rms_norm_eps", 1e-6)))
    writer.add_vocab_size(_config_int(config, "vocab_size", checkpoint))
    file_types = {"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16,
                  "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}
    writer.add_file_type(file_types[out_type])
    if out_type == "q8_0":
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)


# -- tokenizer --------------------------------------------------------------------------------------------------
def _tokenizer_json(checkpoint: Path) -> dict[str, Any]:
    tokenizer = _read_json(checkpoint / "tokenizer.json")
    model, decoder = tokenizer.get("model") or {}, tokenizer.get("decoder") or {}
    if model.get("type") != "BPE" or model.get("byte_fallback") or decoder.get("type") != "ByteLevel":
        raise ExportError(f"{checkpoint / 'tokenizer.json'}: export-gguf converts byte-level BPE tokenizers "
                          f"(GPT-2 style), not model type {model.get('type')!r} with decoder "
                          f"{decoder.get('type')!r}; use llama.cpp's convert_hf_to_gguf.py")
    return tokenizer


def vocabulary(checkpoint: Path, rows: int) -> tuple[list[str], list[int]]:
    """Every token by id and its GGUF type, padded with unused placeholders to the embedding's `rows`."""
    import gguf

    tokenizer = _tokenizer_json(checkpoint)
    by_id: dict[int, tuple[str, int]] = {index: (text, gguf.TokenType.NORMAL)
                                         for text, index in tokenizer["model"]["vocab"].items()}
    for added in tokenizer.get("added_tokens") or []:
        kind = gguf.TokenType.CONTROL if added.get("special") else gguf.TokenType.USER_DEFINED
        by_id[int(added["id"])] = (added["content"], kind)
    if max(by_id) >= rows:
        raise ExportError(f"{checkpoint / 'tokenizer.json'} has token id {max(by_id)} but config.json's vocab_size "
                          f"is {rows}: the embedding has no row for it")
    pairs = [by_id.get(index, (f"[PAD{index}]", gguf.TokenType.UNUSED)) for index in range(rows)]
    return [text for text, _ in pairs], [int(kind) for _, kind in pairs]


def _shape(step: dict[str, Any]) -> str:
    kind = step.get("type")
    if kind == "ByteLevel":
        return "ByteLevel(regex)" if step.get("use_regex", True) else "ByteLevel"
    if kind == "Digits":
        return "Digits(individual)" if step.get("individual_digits") else "Digits"
    if kind == "Split":
        return f"Split({(step.get('pattern') or {}).get('Regex')})"
    return str(kind)


def pre_tokenizer_name(checkpoint: Path) -> str:
    """llama.cpp's name for the pre-tokenizer tokenizer.json describes, or ExportError naming its shape."""
    step = _tokenizer_json(checkpoint).get("pre_tokenizer") or {}
    steps = step.get("pretokenizers", []) if step.get("type") == "Sequence" else [step]
    shape = tuple(_shape(item) for item in steps)
    for name, known in PRE_TOKENIZERS:
        if shape == known:
            return name
    raise ExportError(f"{checkpoint / 'tokenizer.json'}: pre_tokenizer {' + '.join(shape)} is not one export-gguf "
                      f"recognises ({', '.join(name for name, _ in PRE_TOKENIZERS)}); pass --tokenizer-pre with "
                      "llama.cpp's name for it, or use llama.cpp's convert_hf_to_gguf.py")


# -- tensors ----------------------------------------------------------------------------------------------------
def _safetensors(checkpoint: Path) -> Iterator[tuple[str, Path, tuple[int, ...]]]:
    from safetensors import safe_open

    files = sorted(checkpoint.glob("*.safetensors"))
    if not files:
        raise ExportError(f"{checkpoint} has no *.safetensors weights (a LoRA adapter alone or a .bin checkpoint "
                          "cannot be exported: save the merged model with save_pretrained)")
    for file in files:
        with safe_open(str(file), framework="pt") as handle:
            for source in handle.keys():
                yield source, file, tuple(handle.get_slice(source).get_shape())


def tensor_plan(checkpoint: Path, config: dict[str, Any], arch: Any, out_type: str) -> list[TensorPlan]:
    """Name, type and size of every output tensor, in file order; ExportError for a tensor llama.cpp lacks."""
    import gguf

    names = gguf.get_tensor_name_map(arch, _config_int(config, "num_hidden_layers", checkpoint))
    heads = config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads") or heads
    tied = config.get("tie_word_embeddings", False)
    wanted = {"f32": gguf.GGMLQuantizationType.F32, "f16": gguf.GGMLQuantizationType.F16,
              "q8_0": gguf.GGMLQuantizationType.Q8_0}[out_type]
    plan = []
    for source, file, shape in _safetensors(checkpoint):
        if source.endswith("rotary_emb.inv_freq") or (tied and source == "lm_head.weight"):
            continue  # recomputed by llama.cpp / the same matrix as token_embd
        name = names.get_name(source, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise ExportError(f"{file}: tensor {source!r} has no llama.cpp counterpart for {config['model_type']}")
        qtype = gguf.GGMLQuantizationType.F32 if len(shape) == 1 else wanted
        if qtype == gguf.GGMLQuantizationType.Q8_0 and shape[-1] % 32:
            qtype = gguf.GGMLQuantizationType.F16  # Q8_0 packs rows in blocks of 32
        byte_shape = gguf.quant_shape_to_byte_shape(shape, qtype) if qtype == gguf.GGMLQuantizationType.Q8_0 \
            else shape
        itemsize = {gguf.GGMLQuantizationType.F32: 4, gguf.GGMLQuantizationType.F16: 2}.get(qtype, 1)
        permute = 0  # Llama's query/key rows (and their biases, when attention_bias is set) are re-interleaved
        if arch == gguf.MODEL_ARCH.LLAMA and source.endswith(("q_proj.weight", "q_proj.bias")):
            permute = heads
        elif arch == gguf.MODEL_ARCH.LLAMA and source.endswith(("k_proj.weight", "k_proj.bias")):
            permute = kv_heads
        plan.append(TensorPlan(source, file, name, shape, qtype, int(np.prod(byte_shape)) * itemsize, permute))
    return plan


def interleave_rope_rows(weight: np.ndarray, heads: int) -> np.ndarray:
    """Within each head, rows (first half, second half) -> alternating pairs, i.e. the inverse of the reordering
    transformers applies to Llama checkpoints so that rotate-half RoPE computes what adjacent-pair RoPE does."""
    rows = weight.shape[0]
    half = rows // heads // 2
    return weight.reshape(heads, 2, half, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def _converted(item: TensorPlan) -> np.ndarray:
    import gguf
    from safetensors import safe_open

    with safe_open(str(item.file), framework="pt") as handle:
        data = handle.get_tensor(item.source).float().numpy()  # bf16 has no numpy type: via torch
    if item.permute_heads:
        data = interleave_rope_rows(data, item.permute_heads)
    if item.qtype == gguf.GGMLQuantizationType.Q8_0:
        return gguf.quants.quantize(data, item.qtype)
    return np.ascontiguousarray(data, dtype=np.float16 if item.qtype == gguf.GGMLQuantizationType.F16
                                else np.float32)
