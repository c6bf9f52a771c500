"""A sentence-transformers model used the way its recipe says: instructions, token limit, unit vectors.

Usage:
    encoder = Encoder("default")                           # offline all-MiniLM-L6-v2
    encoder = Encoder("bge", domain="biology")             # BAAI/bge-large-en-v1.5 with BRIGHT's biology instruction
    documents = encoder.encode_documents(texts)            # (n, d) float32, unit rows, progress bar
    queries = encoder.encode_queries(["why do cats purr"])

The model loads on first use (sentence-transformers pulls in torch), on the GPU when torch sees one.
Documents are encoded longest first, in batches, so each batch pads to similar lengths (as
sentence-transformers does within one call) while tsqr's own progress bar counts documents.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tsqr.reasoner.identity import folder_fingerprint
from tsqr.retrieval.models import canonical_model, recipe_for, resolve_model
from tsqr.retrieval.store import EmbeddingSpec


def default_device() -> str:
    """"cuda" when torch sees a GPU, else "cpu"."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class Encoder:
    """Embeds the documents and queries of one corpus with one model (see tsqr.retrieval.models for the texts)."""

    def __init__(self, model: str = "default", *, domain: str | None = None, long: bool = False,
                 device: str | None = None, batch_size: int = 32, query_instruction: str | None = None) -> None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.model_name = canonical_model(model)
        self.recipe = recipe_for(self.model_name)
        self.location = resolve_model(self.model_name)
        # an explicit instruction (--query-instruction) replaces the table's; queries are never cached, so the
        # document embeddings stay shared
        self.query_instruction = self.recipe.query_instruction(domain, long) if query_instruction is None \
            else query_instruction
        self.document_instruction = self.recipe.document_instruction(domain, long)
        self.batch_size = batch_size
        self._device = device
        self._model: Any = None

    @property
    def device(self) -> str:
        """Where the model runs: the one asked for, else the GPU when there is one."""
        if self._device is None:
            self._device = default_device()
        return self._device

    @property
    def loaded(self) -> bool:
        """Whether the weights are in memory (a cached corpus needs them only for queries)."""
        return self._model is not None

    @property
    def model(self) -> Any:
        """The SentenceTransformer, loaded on first use."""
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            try:
                model = SentenceTransformer(self.location, device=self.device,
                                            trust_remote_code=self.recipe.trust_remote_code)
            except OSError as error:
                raise ValueError(f"cannot load embedding model {self.model_name!r} from {self.location}: "
                                 f"{error}") from None
            if self.recipe.max_length is not None:
                model.max_seq_length = self.recipe.max_length
            if not self.recipe.pool_prompt:
                model.set_pooling_include_prompt(False)
            self._model = model
        return self._model

    @property
    def spec(self) -> EmbeddingSpec:
        """What decides a document vector, for the cache key: a local folder is fingerprinted by its files."""
        identity = self.model_name
        if Path(self.location).is_dir():
            identity = f"{self.model_name}@{folder_fingerprint(Path(self.location))}"
        return EmbeddingSpec(model=self.model_name, identity=identity,
                             document_instruction=self.document_instruction, max_length=self.recipe.max_length,
                             pool_prompt=self.recipe.pool_prompt)

    @property
    def dimension(self) -> int:
        """Length of every vector this encoder returns."""
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: Sequence[str], prompt: str = "", progress: bool = False) -> np.ndarray:
        """One unit-length float32 row per text, `prompt` in front of each (the recipe's texts are in
        encode_documents and encode_queries; the reward embeds bare texts)."""
        vectors = self.model.encode(list(texts), prompt=prompt, batch_size=self.batch_size,
                                    normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=progress)
        return np.asarray(vectors, dtype=np.float32)

    def encode_documents(self, texts: Sequence[str], progress: bool = True,
                         on_progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """One unit row per text, in input order, encoded batch by batch under a progress bar; `on_progress(done,
        total)` is called before the first batch and after each (the app shows it while a visitor waits)."""
        from tqdm.auto import tqdm

        if len(texts) == 0:
            raise ValueError("no documents to embed (0 texts)")
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        rows: list[np.ndarray] = []
        with tqdm(total=len(texts), desc=f"Embedding documents ({self.model_name})", unit="doc",
                  disable=not progress) as bar:
            if on_progress:
                on_progress(0, len(texts))
            for start in range(0, len(order), self.batch_size):
                batch = order[start:start + self.batch_size]
                rows.append(self.encode([texts[i] for i in batch], self.document_instruction))
                bar.update(len(batch))
                if on_progress:
                    on_progress(min(start + len(batch), len(texts)), len(texts))
        matrix = np.empty((len(texts), rows[0].shape[1]), dtype=np.float32)
        matrix[np.array(order)] = np.concatenate(rows)
        return matrix

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """One unit row per query, with the recipe's query instruction in front."""
        if len(texts) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self.encode(texts, self.query_instruction)
