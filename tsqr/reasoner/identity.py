"""Cheap, content-based identities for model weights, so a cache key changes exactly when the weights do.

Hashing a 15 GB checkpoint on every start would cost more than many reasonings, so a weight file is identified
by its size and three 1 MiB samples (start, middle, end). The start holds a GGUF/safetensors header, the rest
holds tensor data, so retraining, requantising or swapping a file changes the fingerprint. File modification
times are deliberately left out: they change when a file is copied or a wheel reinstalled, which would throw
away a valid cache. Small text files that shape the prompt (config, tokenizer, chat template) are hashed whole.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

SAMPLE_BYTES = 1 << 20
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt", ".pth")
PROMPT_SHAPING_FILES = (
    "config.json", "generation_config.json", "tokenizer_config.json", "tokenizer.json",
    "special_tokens_map.json", "chat_template.jinja", "chat_template.json", "tokenizer.model",
)


def file_fingerprint(path: Path) -> str:
    """Size plus start/middle/end samples of a (possibly huge) file, as 16 hex digits."""
    path = Path(path)
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as handle:
        for offset in sorted({0, max(0, size // 2 - SAMPLE_BYTES // 2), max(0, size - SAMPLE_BYTES)}):
            handle.seek(offset)
            digest.update(handle.read(SAMPLE_BYTES))
    return digest.hexdigest()[:16]


def folder_fingerprint(folder: Path) -> str:
    """Fingerprint of a checkpoint folder: its weight files (sampled) and prompt-shaping files (whole)."""
    folder = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if path.suffix in WEIGHT_SUFFIXES:
            digest.update(f"{relative}:{file_fingerprint(path)}\n".encode())
        elif path.name in PROMPT_SHAPING_FILES:
            digest.update(f"{relative}:{hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class ModelIdentity:
    """Who wrote a reasoning: a readable label, a weights fingerprint and the backend that ran it.

    The backend is part of the identity because llama.cpp's quantised kernels and transformers' float weights
    do not write the same text, even from one GGUF file.
    """

    label: str
    fingerprint: str
    backend: str

    @property
    def name(self) -> str:
        """What users see and what `Reasoning.model` and cache rows record."""
        return f"{self.label}@{self.fingerprint[:8]} ({self.backend})" if self.fingerprint else \
            f"{self.label} ({self.backend})"

    @property
    def slug(self) -> str:
        """A file-name-safe form, used for the cache file of this model."""
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in self.label)[:80]
        return f"{safe}-{self.backend}-{self.fingerprint[:8] or 'nofp'}"


def path_identity(path: Path, backend: str) -> ModelIdentity:
    """Identity of a local .gguf file or checkpoint folder."""
    path = Path(path)
    fingerprint = folder_fingerprint(path) if path.is_dir() else file_fingerprint(path)
    return ModelIdentity(label=path.name, fingerprint=fingerprint, backend=backend)
