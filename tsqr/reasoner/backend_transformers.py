"""The transformers backend: any causal-LM checkpoint (hub id, local folder, or a GGUF file dequantised to floats).

This is the backend that matches training exactly: train/ optimises these same float weights with the same
chat template, so a checkpoint it writes reasons here exactly as it did during RL. Prompts are LEFT-padded so
that a batch of prompts of different lengths all end where generation starts; greedy batched output then equals
one-by-one output. Batches are cut from the prompts sorted by length (`batch_order`), so little of a batch is
padding; results still come back in input order. CUDA with bfloat16 and SDPA attention is used when present,
CPU float32 otherwise; `settings.batch_size` sets the batch (8 by default; on a GPU 64 or more pays).

Usage:
    reasoner = TransformersReasoner.load("TongSearch/TongSearch-QR-1.5B", GenerationSettings())
    reasoner = TransformersReasoner.load(Path("model.gguf"), GenerationSettings())
"""
from __future__ import annotations

import threading
import warnings
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any

from tsqr.reasoner.base import Completion, GeneratingReasoner, Job, Messages, ReasonerError
from tsqr.reasoner.cache import ReasoningCache
from tsqr.reasoner.identity import ModelIdentity, path_identity
from tsqr.reasoner.settings import GenerationSettings
from tsqr.reasoner.threads import cpu_threads

BACKEND = "transformers"


def pick_device(setting: str = "auto") -> tuple[str, Any]:
    """(device, dtype): CUDA + bfloat16 when available and asked for, else CPU + float32."""
    import torch

    device = ("cuda" if torch.cuda.is_available() else "cpu") if setting == "auto" else setting
    if device.startswith("cuda"):
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return device, dtype
    return device, torch.float32


def use_cpu_threads(requested: int = 0) -> None:
    """Give PyTorch the idle cores only (process-wide; see tsqr.reasoner.threads for the measurements)."""
    import torch

    torch.set_num_threads(cpu_threads(requested))


def hub_revision(repo_id: str) -> str:
    """The commit of a hub model as it sits in the local hub cache (read from the snapshot folder, no network).

    Pinning the commit means a model updated on the hub is never served stale reasonings from the cache.
    """
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(repo_id, "config.json")
    return Path(cached).parent.name if isinstance(cached, str) else "unknown-revision"


def load_model_and_tokenizer(location: str | Path, device: str = "auto") -> tuple[Any, Any, str]:
    """Load a causal LM and its tokenizer from a hub id, a folder or a .gguf file; returns (model, tokenizer, device).

    A GGUF file is dequantised into a plain float model (transformers' GgufConfig(dequantize=True)), so it can
    be saved as safetensors and trained like any checkpoint. On CUDA attention is PyTorch's fused SDPA kernel
    (flash or memory-efficient attention under the hood), which padded batches of long prompts need.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    device, dtype = pick_device(device)
    path = Path(location)
    if path.suffix == ".gguf":
        folder, extra = str(path.parent), {"gguf_file": path.name}
        quantization = {"quantization_config": GgufConfig(dequantize=True)}
    else:
        folder, extra, quantization = str(location), {}, {}
    tokenizer = AutoTokenizer.from_pretrained(folder, **extra)
    attention = {"attn_implementation": "sdpa"} if device.startswith("cuda") else {}
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, **extra, **quantization, **attention)
    model.to(device).eval()
    return model, tokenizer, device


class TransformersReasoner(GeneratingReasoner):
    """Batched, left-padded generation with a transformers model; streaming through TextIteratorStreamer."""

    def __init__(self, model: Any, tokenizer: Any, identity: ModelIdentity,
                 settings: GenerationSettings | None = None, cache: bool | ReasoningCache = True,
                 device: str = "cpu") -> None:
        super().__init__(identity, settings, cache)
        self.model, self.tokenizer, self.device = model, tokenizer, device
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        if device == "cpu":
            use_cpu_threads(self.settings.threads)
        self._warned_no_template = False

    @classmethod
    def load(cls, location: str | Path, settings: GenerationSettings | None = None,
             cache: bool | ReasoningCache = True) -> "TransformersReasoner":
        """Load from a hub id, folder or .gguf file; the identity pins the weights (file hash or hub commit)."""
        settings = settings or GenerationSettings()
        use_cpu_threads(settings.threads)  # dequantising a GGUF is CPU work too
        model, tokenizer, device = load_model_and_tokenizer(location, settings.device)
        if Path(location).exists():
            identity = path_identity(Path(location), BACKEND)
        else:
            identity = ModelIdentity(label=str(location), fingerprint=hub_revision(str(location)), backend=BACKEND)
        return cls(model, tokenizer, identity, settings, cache, device)

    # -- prompts -------------------------------------------------------------------------------------------
    @property
    def context_length(self) -> int:
        limits = [getattr(self.model.config, "max_position_embeddings", None),
                  getattr(self.tokenizer, "model_max_length", None)]
        usable = [int(limit) for limit in limits if isinstance(limit, int) and 0 < limit < 10_000_000]
        return min(usable) if usable else 2048

    def render(self, messages: Messages) -> str:
        """The prompt text: the model's chat template, or the turns joined plainly for a base model."""
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        if not self._warned_no_template:
            warnings.warn(f"{self.name} has no chat template: prompting with the plain message text", stacklevel=2)
            self._warned_no_template = True
        return "\n\n".join(turn["content"] for turn in messages if turn["content"]) + "\n\n"

    def count_tokens(self, messages: Messages) -> int:
        return len(self.tokenizer(self.render(messages), add_special_tokens=False)["input_ids"])

    def drop_tail_tokens(self, text: str, count: int) -> str:
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return self.tokenizer.decode(ids[: max(0, len(ids) - count)], skip_special_tokens=True)

    def batch_order(self, prompts: list[tuple[Job, Messages]]) -> list[tuple[Job, Messages]]:
        """Longest prompts first: a batch of similar lengths pads little, and the batch that needs the most
        memory runs first, so a batch size too large for the GPU fails at once rather than at the end."""
        return sorted(prompts, key=lambda prompt: -self.count_tokens(prompt[1]))  # stable: ties keep input order

    def _encode(self, conversations: Sequence[Messages], settings: GenerationSettings) -> Any:
        encoded = self.tokenizer([self.render(m) for m in conversations], return_tensors="pt", padding=True,
                                 add_special_tokens=False)
        budget = self.prompt_budget(settings)
        lengths = encoded["attention_mask"].sum(dim=1).tolist()
        for index, length in enumerate(lengths):
            if budget is not None and length > budget:
                raise ValueError(f"conversation {index}: prompt of {length} tokens exceeds {self.name}'s context "
                                 f"({self.context_length} tokens, {settings.max_new_tokens} kept for the answer)")
        return encoded.to(self.device)

    # -- generation ----------------------------------------------------------------------------------------
    def _stop_ids(self) -> list[int]:
        configured = self.model.generation_config.eos_token_id
        ids = configured if isinstance(configured, list) else [configured]
        ids = [i for i in ids if i is not None]
        if self.tokenizer.eos_token_id is not None and self.tokenizer.eos_token_id not in ids:
            ids.append(self.tokenizer.eos_token_id)
        return ids

    def generation_config(self, settings: GenerationSettings) -> Any:
        """A fresh GenerationConfig from our settings only: a checkpoint's own sampling defaults (Qwen ships
        temperature 0.7) must not leak into what we call greedy."""
        from transformers import GenerationConfig

        sampling = {}
        if not settings.greedy:
            sampling = dict(temperature=settings.temperature, top_p=settings.top_p, top_k=settings.top_k or None)
        return GenerationConfig(max_new_tokens=settings.max_new_tokens, do_sample=not settings.greedy,
                                repetition_penalty=settings.repetition_penalty, eos_token_id=self._stop_ids(),
                                pad_token_id=self.tokenizer.pad_token_id, **sampling)

    def _count_new(self, row: Any) -> int:
        """Tokens written, counting the stop token but not the padding after it."""
        stops = set(self._stop_ids())
        for position, token in enumerate(row.tolist()):
            if token in stops:
                return position + 1
        return len(row)

    def complete(self, conversations: Sequence[Messages], settings: GenerationSettings | None = None
                 ) -> list[Completion]:
        import torch

        settings = settings or self.settings
        encoded = self._encode(conversations, settings)
        if not settings.greedy:
            torch.manual_seed(settings.seed)
        with torch.inference_mode():
            output = self.model.generate(**encoded, generation_config=self.generation_config(settings))
        new = output[:, encoded["input_ids"].shape[1]:]
        return [Completion(text=self.tokenizer.decode(row, skip_special_tokens=True), new_tokens=self._count_new(row))
                for row in new]

    def stream_messages(self, messages: Messages, settings: GenerationSettings | None = None
                        ) -> Generator[str, None, int]:
        """Generate in a worker thread and yield decoded pieces as TextIteratorStreamer releases them.

        Closing the generator early (a UI's stop button) stops generation at the next token.
        """
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        settings = settings or self.settings
        encoded = self._encode([messages], settings)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        cancelled = threading.Event()
        outcome: dict[str, Any] = {}

        class StopWhenCancelled(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                return torch.full((input_ids.shape[0],), cancelled.is_set(), dtype=torch.bool,
                                  device=input_ids.device)

        def work() -> None:
            try:
                if not settings.greedy:
                    torch.manual_seed(settings.seed)
                with torch.inference_mode():
                    outcome["output"] = self.model.generate(
                        **encoded, generation_config=self.generation_config(settings), streamer=streamer,
                        stopping_criteria=StoppingCriteriaList([StopWhenCancelled()]))
            except Exception as error:  # surfaced in the caller's thread below
                outcome["error"] = error
                streamer.end()

        worker = threading.Thread(target=work, name="tsqr-stream", daemon=True)
        worker.start()
        try:
            for piece in streamer:
                if piece:
                    yield piece
        finally:
            cancelled.set()
            worker.join()
        if "error" in outcome:
            raise ReasonerError(f"{self.name} failed while streaming: {outcome['error']}") from outcome["error"]
        return self._count_new(outcome["output"][0, encoded["input_ids"].shape[1]:])

    def close(self) -> None:
        self.model = None
