"""A visitor's corpus indexed (BM25) or embedded (dense) in a child process, under a time budget.

Usage:
    index = index_in_worker(documents, cache=None, seconds=600)            # a tsqr.bm25.Index, built by a child
    embed_in_worker(documents, "dense", domain="uploaded", seconds=600, max_documents=5000)  # into the cache
    python -m tsqr.app.worker                                              # the child: one pickled job on stdin

Why a process: analysis, indexing and embedding are CPU work that holds the GIL, so run in the app's process,
one visitor's upload of a few kilobytes of adversarial text stopped every other visitor's requests for minutes.
Here the app's thread waits in `communicate` (the GIL released) while a child does the work and saves it where
the parent reads it back: the index into a private folder of the job (or the index cache), the embeddings into
the embeddings cache, which `tsqr.retrieval.build_retriever` then reads. Past the budget the child is killed and
the visitor gets one line naming the variable that set it.

Why a fresh interpreter (subprocess) rather than multiprocessing: the app runs as `python app.py`, the main
module that a spawned multiprocessing child imports again (building the whole interface), and forking a
threaded server is unsafe. The job goes over a pipe only the parent writes, pickled: it is the parent's own
list of Documents, never bytes a visitor sent.
"""
from __future__ import annotations

import json
import logging
import os
import pickle
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tsqr.app.public import EMBEDDED_DOCS_ENV, WORK_SECONDS_ENV
from tsqr.records import Document

if TYPE_CHECKING:
    from tsqr.bm25 import Index

log = logging.getLogger("tsqr.app")
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding tsqr/, for the child's import path


class WorkRefused(ValueError):
    """A corpus this server will not index or embed for a visitor (too slow, too large, or the work failed)."""


def _run(job: dict, seconds: float | None, what: str) -> dict:
    """Run `job` in a child; its one-line JSON answer, or WorkRefused past `seconds` or on a crash."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_ROOT),
                                                                       os.environ.get("PYTHONPATH")]))}
    process = subprocess.Popen([sys.executable, "-m", "tsqr.app.worker"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        out, err = process.communicate(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL), timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise WorkRefused(f"{what} took longer than this server allows ({seconds:g} s, {WORK_SECONDS_ENV}): "
                          "try fewer or shorter documents") from None
    finally:
        if process.poll() is None:  # the waiting thread itself was interrupted
            process.kill()
            process.wait()
    lines = out.decode("utf-8", "replace").strip().splitlines()
    answer = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
    if "error" in answer:
        raise WorkRefused(answer["error"])
    if process.returncode != 0 or not answer:  # what it said goes to the log: it may name server paths
        log.warning("%s: the worker exited with code %s: %s", what, process.returncode,
                    err.decode("utf-8", "replace")[-2000:])
        raise WorkRefused(f"{what} failed: the worker process exited with code {process.returncode}")
    return answer


def index_in_worker(documents: Sequence[Document], cache: Path | None = None,
                    seconds: float | None = None) -> "Index":
    """The BM25 index of `documents` (default analyzer, k1, b), built or loaded from `cache` by a child process
    within `seconds` (None: no limit); WorkRefused past it. Read back here from the cache entry, or from a
    private folder when the cache keeps no entry (TSQR_INDEX_CACHE_MB=0)."""
    from tsqr.bm25 import Index, default_analyzer

    with tempfile.TemporaryDirectory(prefix="tsqr-index-") as private:
        job = {"kind": "index", "documents": list(documents), "cache": str(cache) if cache else None,
               "out": private}
        answer = _run(job, seconds, f"indexing {len(documents):,} documents")
        folder = Path(answer["folder"])
        if folder != Path(private) and folder.parent != Path(answer["cache_root"]):
            raise WorkRefused(f"the indexing worker answered an unexpected folder {folder.name!r}")
        return Index.load(folder, default_analyzer())


def embed_in_worker(documents: Sequence[Document], spec: str, *, domain: str | None = None,
                    seconds: float | None = None, max_documents: int | None = None,
                    on_progress: Callable[[int, int], None] | None = None) -> None:
    """Embed `documents` for the dense model of retriever `spec` into the embeddings cache, in a child process
    within `seconds`; a corpus not cached yet with more than `max_documents` is refused (WorkRefused).
    `on_progress(done, total)` hears the child's count, which it writes to a file of this call's private folder."""
    with tempfile.TemporaryDirectory(prefix="tsqr-embed-") as private:
        counts = Path(private) / "progress"
        job = {"kind": "embed", "documents": list(documents), "spec": spec, "domain": domain,
               "max_documents": max_documents, "progress": str(counts)}
        finished = threading.Event()
        relay = threading.Thread(target=_relay_counts, args=(counts, finished, on_progress), daemon=True)
        if on_progress is not None:
            relay.start()
        try:
            _run(job, seconds, f"embedding {len(documents):,} documents")
        finally:
            finished.set()
            if relay.is_alive():
                relay.join()


def _relay_counts(counts: Path, finished: threading.Event, on_progress: Callable[[int, int], None]) -> None:
    """Pass the child's latest "done total" line to `on_progress` every half second, and once more when
    `finished` (so its last count is heard)."""
    while True:
        last = finished.wait(0.5)
        try:
            done, total = (int(part) for part in counts.read_text().split())
        except (OSError, ValueError):  # not written yet, or caught between write and rename
            pass
        else:
            on_progress(done, total)
        if last:
            return


def _count_writer(path: str | None) -> Callable[[int, int], None] | None:
    """The child's progress callback: "done total" written to `path` through a rename, so never read half done."""
    if not path:
        return None

    def write(done: int, total: int) -> None:
        partial = Path(f"{path}.part")
        partial.write_text(f"{done} {total}")
        os.replace(partial, path)

    return write


def _index_job(job: dict) -> dict:
    from tsqr.bm25 import DEFAULT_B, DEFAULT_K1, default_analyzer, load_or_build
    from tsqr.bm25.store import corpus_key
    from tsqr.paths import cache_dir

    documents = job["documents"]
    root = Path(job["cache"]) if job["cache"] else cache_dir("index")
    index = load_or_build(documents, cache=root, progress=False)
    entry = root / corpus_key(documents, default_analyzer().fingerprint, DEFAULT_K1, DEFAULT_B)
    if not (entry / "meta.json").is_file():  # pruned at once (a cache capped at 0) or unwritable
        entry = Path(job["out"])
        index.save(entry)
    return {"folder": str(entry), "cache_root": str(root)}


def _embed_job(job: dict) -> dict:
    from tsqr.retrieval.dense import load_or_encode
    from tsqr.retrieval.encoder import Encoder
    from tsqr.retrieval.spec import parse_retriever_spec
    from tsqr.retrieval.store import embeddings_key
    from tsqr.paths import cache_dir

    documents, limit = job["documents"], job["max_documents"]
    encoder = Encoder(parse_retriever_spec(job["spec"]).model, domain=job["domain"])
    cached = (cache_dir("embeddings") / embeddings_key(documents, encoder.spec) / "meta.json").is_file()
    if not cached and limit is not None and len(documents) > limit:
        raise WorkRefused(f"dense retrieval embeds at most {limit:,} documents per request on this server "
                          f"({EMBEDDED_DOCS_ENV}); this corpus has {len(documents):,}: choose bm25")
    load_or_encode(documents, encoder, progress=False, on_progress=_count_writer(job.get("progress")))
    return {"cached": cached}


def main() -> int:
    """The child: read one job from stdin, do it, print one JSON line (`{"error": ...}` for a refusal)."""
    job = pickle.load(sys.stdin.buffer)
    try:
        answer = _index_job(job) if job["kind"] == "index" else _embed_job(job)
    except OSError as error:  # its message may name a server path: the reason alone
        answer = {"error": f"the server could not read or write its cache ({error.strerror or type(error).__name__})"}
    except (ValueError, LookupError) as error:
        answer = {"error": str(error) or type(error).__name__}
    print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
