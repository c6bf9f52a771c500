"""The retriever a user names (`--retriever bm25|dense[:MODEL]|hybrid[:MODEL]`), parsed and built.

Usage:
    spec = parse_retriever_spec("hybrid:BAAI/bge-large-en-v1.5")   # RetrieverSpec(kind="hybrid", model=...)
    retriever = build_retriever(spec, domain.documents, domain=domain.name)
    str(spec)                                                     # "hybrid:BAAI/bge-large-en-v1.5", for labels

MODEL is anything tsqr.retrieval.models accepts: "default" (offline all-MiniLM-L6-v2, what a bare "dense" or
"hybrid" means), a BRIGHT short name ("bge", "inst-l", "e5"...), a hub id or a local folder. Only the first
colon separates kind from model, so a model path may hold colons.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tsqr.bm25 import load_or_build
from tsqr.records import Document
from tsqr.retrieval.dense import DenseRetriever
from tsqr.retrieval.encoder import Encoder
from tsqr.retrieval.hybrid import HybridRetriever, check_hybrid_options
from tsqr.retrieval.lexical import BM25Retriever

if TYPE_CHECKING:
    from tsqr.bm25 import Index
    from tsqr.retrieval.base import Retriever

RETRIEVER_KINDS = ("bm25", "dense", "hybrid")
DEFAULT_DENSE_MODEL = "default"
_USAGE = "use bm25, dense, dense:MODEL, hybrid or hybrid:MODEL"
QUERY_INSTRUCTION_LIMIT = 2000  # characters; an instruction is a sentence or two, not a document


@dataclass(frozen=True)
class RetrieverSpec:
    """A retriever by name: `kind` is one of RETRIEVER_KINDS; `model` the embedding model (None for bm25)."""

    kind: str
    model: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in RETRIEVER_KINDS:
            raise ValueError(f"unknown retriever kind {self.kind!r}: {_USAGE}")
        if self.kind == "bm25" and self.model is not None:
            raise ValueError(f"bm25 takes no model (got {self.model!r}): {_USAGE}")
        if self.kind != "bm25":
            if self.model is None:
                object.__setattr__(self, "model", DEFAULT_DENSE_MODEL)
            elif not isinstance(self.model, str) or not self.model.strip():
                raise ValueError(f"{self.kind} needs a model name after the colon, got {self.model!r}: {_USAGE}")

    def __str__(self) -> str:
        if self.model is None or self.model == DEFAULT_DENSE_MODEL:
            return self.kind
        return f"{self.kind}:{self.model}"


def parse_retriever_spec(text: str) -> RetrieverSpec:
    """`bm25`, `dense`, `dense:MODEL`, `hybrid`, `hybrid:MODEL` (kind case-insensitive) -> RetrieverSpec."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"empty retriever {text!r}: {_USAGE}")
    kind, colon, model = text.strip().partition(":")
    kind = kind.strip().lower()
    if kind not in RETRIEVER_KINDS:
        raise ValueError(f"unknown retriever {text!r}: {_USAGE}")
    if not colon:
        return RetrieverSpec(kind)
    if kind == "bm25":
        raise ValueError(f"unknown retriever {text!r}: bm25 takes no model; {_USAGE}")
    if not model.strip():
        raise ValueError(f"retriever {text!r} names no model after the colon: {_USAGE}")
    return RetrieverSpec(kind, model.strip())


def check_query_instruction(spec: RetrieverSpec | str, instruction: str | None) -> None:
    """ValueError (one line) for an instruction a retriever cannot use: BM25 takes none, and an instruction is
    bounded text (newlines allowed: Qwen-style instructions end in "\\nQuery: ")."""
    if instruction is None:
        return
    if not isinstance(instruction, str):
        raise ValueError(f"a query instruction is text, got {type(instruction).__name__}")
    if isinstance(spec, str):
        spec = parse_retriever_spec(spec)
    if spec.kind == "bm25":
        raise ValueError("--query-instruction applies to dense and hybrid retrievers; bm25 searches the text as is")
    if len(instruction) > QUERY_INSTRUCTION_LIMIT:
        raise ValueError(f"query instruction of {len(instruction)} characters: at most {QUERY_INSTRUCTION_LIMIT}")


def add_query_instruction_argument(parser: argparse.ArgumentParser) -> None:
    """The `--query-instruction TEXT` flag, for a dense model the instruction table (tsqr.retrieval.models) lacks."""
    parser.add_argument("--query-instruction", default=None, metavar="TEXT",
                        help="text put before every query by a dense or hybrid retriever, replacing the model "
                             "table's (e.g. $'Instruct: Given a post, retrieve passages that answer it\\nQuery: '); "
                             "\"\" for none")


def build_retriever(spec: RetrieverSpec | str, documents: Sequence[Document], *, bm25_index: "Index | None" = None,
                    domain: str | None = None, long: bool = False, method: str = "rrf", weight: float = 0.5,
                    scoring: str = "bright", device: str | None = None, batch_size: int = 32,
                    cache: Path | None = None, progress: bool = True,
                    query_instruction: str | None = None,
                    on_progress: Callable[[int, int], None] | None = None) -> "Retriever":
    """The retriever `spec` names over `documents`.

    bm25 searches the BM25 index (`bm25_index` when given, else tsqr.bm25.load_or_build's) with `scoring`; dense
    embeds the corpus (or reads it from the cache) with the model's instructions for `domain` (long: BRIGHT's
    long-document wording); hybrid adds BM25 scored by `scoring` and fuses by `method` with dense share `weight`.
    `cache` is the embeddings folder (default: tsqr's). Every kind is searched alike (tsqr.retrieval.base).
    `query_instruction` replaces the model table's query instruction (dense and hybrid only). `on_progress(done,
    total)` follows the documents being embedded, if they are.
    """
    if isinstance(spec, str):
        spec = parse_retriever_spec(spec)
    check_query_instruction(spec, query_instruction)
    if spec.kind == "hybrid":
        check_hybrid_options(method, weight, scoring)
    if spec.kind in ("bm25", "hybrid") and bm25_index is None:
        bm25_index = load_or_build(documents, progress=progress)
    if spec.kind == "bm25":
        return BM25Retriever(bm25_index, scoring)
    encoder = Encoder(spec.model, domain=domain, long=long, device=device, batch_size=batch_size,
                      query_instruction=query_instruction)
    dense = DenseRetriever(documents, encoder, cache=cache, progress=progress, on_progress=on_progress)
    if spec.kind == "dense":
        return dense
    return HybridRetriever(bm25_index, dense, method, weight, scoring=scoring)
