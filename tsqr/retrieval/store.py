"""Document embeddings on disk: one folder per (corpus, model, document instruction), a .npy and a small JSON.

Layout of an embeddings folder (under `cache_dir("embeddings")`, named by `embeddings_key`):
    embeddings.npy  float32, one unit-length row per document in corpus order (no pickle)
    meta.json       format, version, model identity, document instruction, max length, sizes

Why cache at all: embedding a BRIGHT domain with a 335M model on CPU takes tens of minutes, and every
evaluation of a reasoner against the same corpus needs exactly the same document vectors. The key hashes every
document id and content with tsqr.bm25.store's `corpus_fingerprint`, as BM25 indexes are keyed, plus everything
that shapes a vector, so a changed corpus, model, instruction or limit never serves stale rows. A local model
folder (the offline default included) is identified by a fingerprint of its files; a hub model by its id only,
so after the hub publishes new weights under the same id, delete its folders (meta.json names the model).

The folder of such entries is capped by TSQR_EMBEDDING_CACHE_MB (tsqr.limits) exactly as BM25 indexes are:
reading an entry marks it used, and each write prunes the least recently used entries (tsqr.paths.prune_cache),
so a public app embedding every upload cannot fill its disk.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from tsqr.bm25.store import corpus_fingerprint
from tsqr.limits import Limits
from tsqr.paths import mark_used, prune_cache, write_folder_atomically
from tsqr.records import Document

FORMAT = "tsqr-dense-embeddings"
VERSION = 1


@dataclass(frozen=True)
class EmbeddingSpec:
    """Everything besides the corpus that decides a document vector."""

    model: str
    identity: str
    document_instruction: str
    max_length: int | None
    pool_prompt: bool


def embeddings_key(documents: Sequence[Document], spec: EmbeddingSpec) -> str:
    """The folder name for `documents` embedded as `spec` says ("<n>docs-<hash>")."""
    header = json.dumps({"format": FORMAT, "version": VERSION, **asdict(spec)}, sort_keys=True)
    return corpus_fingerprint(documents, header)


def write_embeddings(folder: Path, matrix: np.ndarray, spec: EmbeddingSpec) -> Path:
    """Save `matrix` to `folder` through a private temporary folder and a rename, so a crash or a concurrent
    writer never leaves half a file behind, then prune `folder`'s parent to TSQR_EMBEDDING_CACHE_MB. A folder
    that cannot be written costs a warning, not the result."""
    def write(temporary: Path) -> None:
        np.save(temporary / "embeddings.npy", np.ascontiguousarray(matrix, dtype=np.float32), allow_pickle=False)
        meta = {"format": FORMAT, "version": VERSION, **asdict(spec), "n_docs": int(matrix.shape[0]),
                "dimension": int(matrix.shape[1])}
        (temporary / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")

    write_folder_atomically(folder, write, "document embeddings")
    prune_cache(folder.parent, Limits.from_env().embedding_cache_bytes)
    return folder


def read_embeddings(folder: Path, n_docs: int, spec: EmbeddingSpec) -> np.ndarray:
    """The matrix saved in `folder`; ValueError naming the file and the problem when it is not what `spec`
    and `n_docs` documents need (another model, a truncated file...)."""
    meta_path, matrix_path = folder / "meta.json", folder / "embeddings.npy"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{meta_path}: unreadable ({error})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise ValueError(f"{meta_path}: not a tsqr embeddings folder of version {VERSION}")
    stored = {field: meta.get(field) for field in asdict(spec)}
    if stored != asdict(spec):
        raise ValueError(f"{meta_path}: embeddings of {stored}, not of {asdict(spec)}")
    try:
        matrix = np.load(matrix_path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise ValueError(f"{matrix_path}: unreadable ({error})") from None
    if matrix.dtype != np.float32 or matrix.ndim != 2 or matrix.shape != (n_docs, meta.get("dimension")):
        raise ValueError(f"{matrix_path}: holds a {matrix.dtype} array of shape {matrix.shape}, expected float32 "
                         f"({n_docs}, {meta.get('dimension')})")
    mark_used(folder)
    return matrix
