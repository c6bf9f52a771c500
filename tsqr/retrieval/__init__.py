"""Retrievers behind the same reasoner: BM25 (tsqr.bm25), dense (sentence-transformers) and hybrid (both, fused).

Usage:
    from tsqr.retrieval import build_retriever, parse_retriever_spec
    retriever = build_retriever(parse_retriever_spec("hybrid:bge"), documents, domain="biology")
    runs = retriever.search_many(texts, k=1000, excludes=excludes, progress=True)

Modules, each readable alone: `base` (the Retriever interface every kind offers, and their one search loop),
`lexical` (BM25Retriever: an index with its scoring fixed), `models` (the table of
embedding models with BRIGHT's instructions), `encoder` (a model used as its recipe says), `store` (document
embeddings on disk), `dense` (DenseRetriever), `hybrid` (HybridRetriever), `spec` (RetrieverSpec: parse and
build). Named `retrieval`, not `dense`, because it holds the whole retriever axis, of which dense is one kind.
Importing this package loads no model library.
"""
from tsqr.retrieval.base import Retriever
from tsqr.retrieval.dense import DenseRetriever, load_or_encode
from tsqr.retrieval.encoder import Encoder, default_device
from tsqr.retrieval.hybrid import HybridRetriever, check_hybrid_options
from tsqr.retrieval.lexical import BM25Retriever
from tsqr.retrieval.models import MODELS, ModelRecipe, canonical_model, recipe_for
from tsqr.retrieval.spec import RETRIEVER_KINDS, RetrieverSpec, build_retriever, parse_retriever_spec

__all__ = [
    "BM25Retriever", "DenseRetriever", "Encoder", "HybridRetriever", "MODELS", "ModelRecipe", "RETRIEVER_KINDS",
    "Retriever", "RetrieverSpec", "build_retriever", "canonical_model", "check_hybrid_options", "default_device",
    "load_or_encode", "parse_retriever_spec", "recipe_for",
]
