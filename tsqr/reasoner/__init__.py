"""The query reasoner: turn a query into the reasoned query BM25 searches with, as TongSearch QR does.

Usage:
    from tsqr.reasoner import GenerationSettings, load_reasoner
    reasoner = load_reasoner("default")                      # or "none", a hub id, a folder, a .gguf, a URL
    [result] = reasoner.reason(["Why does my sourdough starter smell like nail polish?"])
    bm25_query = compose_query(result.query, result.text, mode="replace")   # tsqr.composition

Modules: `prompts` (templates), `settings` (GenerationSettings), `base` (the interface and shared
batching/caching), `cache` (JSONL cache), `identity` (weights fingerprints), one `backend_*` module per backend
(transformers, llama.cpp, OpenAI-compatible server, none), `loading` (spec -> reasoner), `hub_gguf` (GGUF
files from the hub). The server client's parts: `window` (requests in flight), `endpoints` (replica choice and
failure counts), `http_transport` (keep-alive HTTP). Serving a model is tsqr.serve's job, exporting one
tsqr.export's. Importing this package loads no model library.
"""
from tsqr.reasoner.base import (
    Completion,
    ContextTruncationWarning,
    GeneratingReasoner,
    ModelNotFoundError,
    Reasoner,
    ReasonerError,
)
from tsqr.reasoner.cache import CacheRow, ReasoningCache, reasoning_key
from tsqr.reasoner.loading import default_gguf_path, load_reasoner, reason_queries, resolve_spec
from tsqr.reasoner.prompts import TEMPLATES, PromptTemplate, build_messages, get_template
from tsqr.reasoner.settings import GenerationSettings

__all__ = [
    "CacheRow", "Completion", "ContextTruncationWarning", "GeneratingReasoner", "GenerationSettings",
    "ModelNotFoundError", "PromptTemplate", "Reasoner", "ReasonerError", "ReasoningCache", "TEMPLATES",
    "build_messages", "default_gguf_path", "get_template", "load_reasoner",
    "reason_queries", "reasoning_key", "resolve_spec",
]
