"""How a reasoner generates: one frozen dataclass shared by every backend, the CLI, the app and the cache.

The defaults are the paper's reasoning setup made deterministic: TongSearch QR's prompt, up to 1024 new tokens
(the paper's setting), greedy decoding, and TongSearch's evaluation repetition penalty of 1.05 (their vLLM
sampling parameters in scripts/evaluation/vllm_model.py; they also sample with temperature 0.7, top_p 0.8,
top_k 20 and 500 new tokens, available as `GenerationSettings.tongsearch_sampling()`). The penalty matters for
small models: SmolLM2-135M loops on long greedy generations without it.

Only the fields that change what a model writes enter cache keys (`output_fields`); batch size, concurrency,
threads, timeouts and retries are how fast or how patiently we ask, not what we get. `batch_size` is how many
prompts a local model (transformers, llama.cpp) decodes together; `concurrency` is how many requests stay in
flight at each server endpoint, since an engine with continuous batching (vLLM, SGLang, TGI) is only fast when
kept full.
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, replace
from typing import Any

from tsqr.reasoner.prompts import PromptTemplate, get_template

# Fields that decide the generated text; everything else is transport.
OUTPUT_FIELDS = ("max_new_tokens", "temperature", "top_p", "top_k", "repetition_penalty", "seed")


@dataclass(frozen=True)
class GenerationSettings:
    """Generation parameters (what is written) and transport parameters (how fast and how patiently)."""

    max_new_tokens: int = 1024
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    repetition_penalty: float = 1.05
    seed: int = 0
    template: str | PromptTemplate = "tongsearch"  # a name in prompts.TEMPLATES, or a loaded template file
    batch_size: int = 8
    concurrency: int = 64
    threads: int = 0
    device: str = "auto"
    request_timeout: float = 300.0
    max_retries: int = 3
    retry_backoff: float = 1.0

    def __post_init__(self) -> None:

        problems = []
        if self.max_new_tokens < 1:
            problems.append(f"max_new_tokens must be at least 1, got {self.max_new_tokens}")
        if self.temperature < 0:
            problems.append(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            problems.append(f"top_p must be in (0, 1], got {self.top_p}")
        if self.top_k < 0:
            problems.append(f"top_k must be >= 0 (0 = off), got {self.top_k}")
        if self.repetition_penalty <= 0:
            problems.append(f"repetition_penalty must be > 0 (1.0 = off), got {self.repetition_penalty}")
        if self.batch_size < 1:
            problems.append(f"batch_size must be at least 1, got {self.batch_size}")
        if self.concurrency < 1:
            problems.append(f"concurrency must be at least 1, got {self.concurrency}")
        if self.threads < 0:
            problems.append(f"threads must be >= 0 (0 = all cores), got {self.threads}")
        if self.request_timeout <= 0:
            problems.append(f"request_timeout must be positive, got {self.request_timeout}")
        if self.max_retries < 0:
            problems.append(f"max_retries must be >= 0, got {self.max_retries}")
        if self.retry_backoff < 0:
            problems.append(f"retry_backoff must be >= 0, got {self.retry_backoff}")
        if problems:
            raise ValueError("invalid generation settings: " + "; ".join(problems))
        get_template(self.template)

    @property
    def greedy(self) -> bool:
        """True when decoding is deterministic (temperature 0)."""
        return self.temperature == 0

    def output_fields(self) -> dict[str, Any]:
        """The settings that change the generated text, for cache keys and cache rows.

        A sampling seed only matters when sampling, so greedy keys do not depend on it.
        """
        fields = {name: getattr(self, name) for name in OUTPUT_FIELDS}
        if self.greedy:
            fields.pop("seed")
        return fields

    def for_sample(self, sample: int) -> "GenerationSettings":
        """The settings that draw sample number `sample` of a query: sample 0 is these settings, later samples
        get their own seed (a hash of seed and sample number), so n samples from a seeded server differ."""
        if sample < 0:
            raise ValueError(f"sample numbers start at 0, got {sample}")
        if sample == 0:
            return self
        digest = hashlib.sha256(f"{self.seed}:{sample}".encode()).digest()
        return replace(self, seed=int.from_bytes(digest[:4], "big") >> 1)

    def with_changes(self, **changes: Any) -> "GenerationSettings":
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def tongsearch_sampling(cls, **changes: Any) -> "GenerationSettings":
        """TongSearch QR's own evaluation sampling: temperature 0.7, top_p 0.8, top_k 20, 500 new tokens."""
        base = dict(max_new_tokens=500, temperature=0.7, top_p=0.8, top_k=20, repetition_penalty=1.05)
        return cls(**{**base, **changes})
