"""Write any loadable model as a plain safetensors checkpoint with its tokenizer and chat template.

Usage:
    python -m tsqr export-model default checkpoints/smollm2-start      # the lead's CLI calls export_model
    export_model("default", Path("checkpoints/smollm2-start"))

The RL trainer (train/) needs a float checkpoint it can optimise and save; the embedded default exists only as a
4-bit GGUF. Exporting dequantises it once (about 540 MB of float32 safetensors for SmolLM2-135M) so that training
starts from exactly the weights the transformers backend reasons with. A `tsqr_export.json` beside the weights
records where they came from.
"""
from __future__ import annotations

import json
from pathlib import Path

from tsqr.reasoner.backend_transformers import hub_revision, load_model_and_tokenizer
from tsqr.reasoner.hub_gguf import fetch_hub_gguf
from tsqr.reasoner.identity import file_fingerprint, folder_fingerprint
from tsqr.reasoner.loading import resolve_spec


def export_model(src: str, dst: Path) -> Path:
    """Save the model `src` names (default, hub id, hub GGUF, folder or .gguf) to the folder `dst`; returns `dst`.

    Refuses to write into a folder that already has files, so an earlier export or a trained checkpoint is
    never overwritten by mistake.
    """
    source = resolve_spec(src)
    if source.kind in ("none", "server"):
        raise ValueError(f"cannot export {src!r}: only local or hub models have weights to write")
    dst = Path(dst)
    if dst.exists() and (not dst.is_dir() or any(dst.iterdir())):
        raise ValueError(f"export destination {dst} already exists and is not empty: choose a new folder")
    weights = str(fetch_hub_gguf(source.location).path) if source.kind == "hub-gguf" else source.location
    model, tokenizer, _ = load_model_and_tokenizer(weights, device="cpu")
    dst.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(dst)
    tokenizer.save_pretrained(dst)
    location = Path(weights)
    fingerprint = (file_fingerprint(location) if location.is_file() else
                   folder_fingerprint(location) if location.is_dir() else hub_revision(source.location))
    provenance = {"source_spec": src, "source": source.location, "source_fingerprint": fingerprint,
                  "dtype": str(next(model.parameters()).dtype).replace("torch.", ""),
                  "parameters": sum(p.numel() for p in model.parameters())}
    (dst / "tsqr_export.json").write_text(json.dumps(provenance, indent=2), encoding="utf-8")
    return dst
