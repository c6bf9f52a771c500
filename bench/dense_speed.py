"""Dense retrieval next to BM25: documents indexed per second, query latency and memory, on the demo corpus and a
synthetic one. Prints a markdown table.

Usage:
    python bench/dense_speed.py                         # demo corpus + 20,000 synthetic documents, all-MiniLM-L6-v2
    python bench/dense_speed.py --docs 2000             # a smaller synthetic corpus
    python bench/dense_speed.py --model BAAI/bge-small-en-v1.5 --device cuda

The synthetic documents are English: sentences drawn at random from the demo corpus's documents until each holds
about 100 words (--words), so token counts per document look like a real short-passage corpus, not like made-up
words that split into many word pieces. Queries are the demo's 26 queries (40-120 words), searched one at a
time for the top 1000 after one warm-up query; dense latency includes encoding the query.

Each (corpus, engine) pair runs in a fresh Python process, so "peak RSS" is that engine's whole process (the
interpreter, numpy, and for dense torch and the model) at its highest, from getrusage; "index MB" is what the
engine keeps per corpus (BM25's sparse weights; the float32 embedding matrix). Build times start from raw text:
BM25 analyses and indexes, dense embeds every document (model loading is timed apart). Both build into a
throwaway cache, then load from it once more ("cached load").
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tsqr.records import Document  # noqa: E402

DEMO = ROOT / "tsqr" / "data" / "demo"


def demo_domain():
    from tsqr.bright import load_domain

    return load_domain(DEMO, "demo")


def synthetic_corpus(n_docs: int, words: int, seed: int = 0) -> list[Document]:
    """`n_docs` documents of about `words` words, each a random draw of the demo documents' sentences."""
    sentences = [s.strip() + "." for doc in demo_domain().documents for s in doc.content.split(".") if s.strip()]
    rng = np.random.default_rng(seed)
    documents = []
    for i in range(n_docs):
        chosen: list[str] = []
        while sum(len(s.split()) for s in chosen) < words:
            chosen.append(sentences[rng.integers(len(sentences))])
        documents.append(Document(f"synthetic-{i}", " ".join(chosen)))
    return documents


def corpus(name: str, n_docs: int, words: int) -> list[Document]:
    return demo_domain().documents if name == "demo" else synthetic_corpus(n_docs, words)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def median_ms(search, queries: list[str]) -> float:
    search(queries[0])
    times = []
    for query in queries:
        start = time.perf_counter()
        search(query)
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def measure(engine: str, corpus_name: str, args: argparse.Namespace) -> dict:
    """Build, reload and query one engine on one corpus (run inside its own process)."""
    documents = corpus(corpus_name, args.docs, args.words)
    queries = [ex.query for ex in demo_domain().examples]
    k = min(1000, len(documents))
    with tempfile.TemporaryDirectory() as cache:
        if engine == "bm25":
            from tsqr.bm25 import load_or_build

            start = time.perf_counter()
            index = load_or_build(documents, cache=Path(cache), progress=False)
            build_s, load_model_s = time.perf_counter() - start, 0.0
            start = time.perf_counter()
            index = load_or_build(documents, cache=Path(cache), progress=False)
            cached_s = time.perf_counter() - start
            weights = index.weights
            index_mb = (weights.data.nbytes + weights.indices.nbytes + weights.indptr.nbytes) / 2**20
            latency = median_ms(lambda q: index.search(q, k=k), queries)
        else:
            from tsqr.retrieval import DenseRetriever, Encoder

            encoder = Encoder(args.model, device=args.device, batch_size=args.batch_size)
            start = time.perf_counter()
            encoder.model.encode(["warm up"])
            load_model_s = time.perf_counter() - start
            start = time.perf_counter()
            dense = DenseRetriever(documents, encoder, cache=Path(cache), progress=args.progress)
            build_s = time.perf_counter() - start
            start = time.perf_counter()
            dense = DenseRetriever(documents, encoder, cache=Path(cache), progress=False)
            cached_s = time.perf_counter() - start
            assert dense.loaded_from is not None
            index_mb = dense.embeddings.nbytes / 2**20
            latency = median_ms(lambda q: dense.search(q, k=k), queries)
    return {"engine": engine, "corpus": corpus_name, "docs": len(documents),
            "words": statistics.mean(len(d.content.split()) for d in documents), "build_s": build_s,
            "model_load_s": load_model_s, "cached_s": cached_s, "query_ms": latency, "peak_rss_mb": peak_rss_mb(),
            "index_mb": index_mb}


def run_worker(engine: str, corpus_name: str, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--worker", engine, corpus_name, "--docs", str(args.docs), "--words",
               str(args.words), "--model", args.model, "--device", args.device, "--batch-size", str(args.batch_size)]
    print(f"{engine} on {corpus_name} ...", file=sys.stderr, flush=True)
    done = subprocess.run(command + (["--progress"] if args.progress else []), stdout=subprocess.PIPE, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_table(rows: list[dict], args: argparse.Namespace) -> None:
    print(f"\n### BM25 and dense ({args.model}, {args.device}, batch {args.batch_size}), top-1000 searches\n")
    print("| corpus | engine | documents | words/doc | build (s) | documents/s | cached load (s) | "
          "query ms (median) | peak RSS (MB) | index (MB) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['corpus']} | {r['engine']} | {r['docs']:,} | {r['words']:.0f} | {r['build_s']:.1f} | "
              f"{r['docs'] / r['build_s']:,.0f} | {r['cached_s']:.2f} | {r['query_ms']:.1f} | "
              f"{r['peak_rss_mb']:.0f} | {r['index_mb']:.1f} |")
    loads = [f"{r['model_load_s']:.1f} s" for r in rows if r["engine"] == "dense"]
    print(f"\nDense model loading (not in build): {', '.join(loads)}. Queries: the demo's 26, one at a time.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=20_000, help="synthetic corpus size (default 20000)")
    parser.add_argument("--words", type=int, default=100, help="words per synthetic document (default 100)")
    parser.add_argument("--model", default="default", help="embedding model (default: offline all-MiniLM-L6-v2)")
    parser.add_argument("--device", default="cpu", help="where to embed (default cpu)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--progress", action="store_true", help="show the embedding progress bar")
    parser.add_argument("--worker", nargs=2, metavar=("ENGINE", "CORPUS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.docs < 1 or args.words < 1:
        parser.error("--docs and --words must be positive")
    if args.worker:
        print(json.dumps(measure(*args.worker, args)))
        return
    rows = [run_worker(engine, corpus_name, args) for corpus_name in ("demo", "synthetic")
            for engine in ("bm25", "dense")]
    print_table(rows, args)


if __name__ == "__main__":
    main()
