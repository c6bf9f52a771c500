"""How fast the embedded default reasoner writes, per backend, and what one reasoned search costs end to end.

Usage:
    python bench/reasoner_speed.py                                   # both backends, 128 new tokens, batch 1 and 8
    python bench/reasoner_speed.py --backends llama.cpp --max-new-tokens 256 --threads 2
    python bench/reasoner_speed.py --skip-e2e
    python bench/reasoner_speed.py --backends llama.cpp --models qr.gguf,owner/repo:Q8_0 --skip-e2e   # other GGUFs

Prints markdown tables: load time and tokens/s (greedy, TongSearch prompt, repetition penalty 1.05, caching off)
at batch 1 and batch 8 for SmolLM2-135M-Instruct on the CPU through llama.cpp (xllamacpp) and transformers
(the GGUF dequantised to float32); then one BRIGHT-length query reasoned with the product defaults (llama.cpp,
up to 1024 new tokens) and searched with BM25 over the demo corpus. Queries are real BRIGHT biology queries when
../shared/data is present, else the demo corpus's queries. Speed numbers on a shared machine vary with its
load: the thread count used is printed, and `--threads` fixes it. `--models` adds rows for any model spec (an
export-gguf file, a hub GGUF), timed the same way, to set beside the embedded default.
"""
from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BRIGHT_TOPICS = ROOT.parent / "shared" / "data" / "bright" / "anserini-tools" / "topics" / \
    "topics.bright-biology-original.jsonl.gz"
DEMO = ROOT / "tsqr" / "data" / "demo"


def benchmark_queries() -> tuple[list[str], str]:
    """Real BRIGHT biology queries when the shared data is here, else the demo corpus's."""
    if BRIGHT_TOPICS.is_file():
        with gzip.open(BRIGHT_TOPICS, "rt", encoding="utf-8") as handle:
            return [json.loads(line)["query"] for line in handle if line.strip()], "BRIGHT biology"
    with (DEMO / "examples.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line)["query"] for line in handle if line.strip()], "demo corpus"


def median_length_query(queries: list[str]) -> str:
    """The query of median length: what a typical BRIGHT search looks like."""
    ordered = sorted(queries, key=len)
    return ordered[len(ordered) // 2]


def throughput(spec: str, queries: list[str], batch: int, max_new_tokens: int, threads: int) -> dict[str, float]:
    """Load a backend, warm it up, then time one batch of `batch` queries; returns load s, tokens, s, tok/s."""
    from tsqr.reasoner import GenerationSettings, load_reasoner

    settings = GenerationSettings(max_new_tokens=max_new_tokens, batch_size=batch, threads=threads)
    began = time.perf_counter()
    reasoner = load_reasoner(spec, settings, cache=False)
    loaded = time.perf_counter() - began
    try:
        reasoner.complete([reasoner.messages_for("warm up")], settings.with_changes(max_new_tokens=4))
        began = time.perf_counter()
        results = reasoner.reason(queries[:batch], progress=False)
        seconds = time.perf_counter() - began
    finally:
        reasoner.close()
    tokens = sum(r.new_tokens for r in results)
    return {"load_s": loaded, "tokens": tokens, "seconds": seconds, "tok_per_s": tokens / seconds}


def end_to_end(query: str, threads: int) -> dict[str, float]:
    """Product defaults: reason with the default model (1024 new tokens max), then BM25 over the demo corpus."""
    from tsqr.bm25 import Index
    from tsqr.composition import compose_query
    from tsqr.reasoner import GenerationSettings, load_reasoner
    from tsqr.records import Document

    with (DEMO / "documents.jsonl").open(encoding="utf-8") as handle:
        documents = [Document(row["id"], row["content"]) for row in map(json.loads, handle) if row]
    index = Index.build(documents, progress=False)
    began = time.perf_counter()
    reasoner = load_reasoner("default", GenerationSettings(threads=threads), cache=False)
    loaded = time.perf_counter() - began
    try:
        began = time.perf_counter()
        [reasoning] = reasoner.reason([query], progress=False)
        reasoned = time.perf_counter() - began
    finally:
        reasoner.close()
    searches = []
    for _ in range(5):
        began = time.perf_counter()
        index.search(compose_query(query, reasoning.text), k=1000)
        searches.append(time.perf_counter() - began)
    search = statistics.median(searches)
    return {"load_s": loaded, "new_tokens": reasoning.new_tokens, "reason_s": reasoned, "search_s": search,
            "total_s": reasoned + search, "documents": len(documents), "model": reasoner.name}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="llama.cpp,transformers", help="comma-separated: llama.cpp,transformers")
    parser.add_argument("--models", default="", help="comma-separated extra model specs (.gguf, owner/repo:QUANT)")
    parser.add_argument("--batches", default="1,8", help="batch sizes to time")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=0, help="0 = the idle cores (tsqr.reasoner.threads)")
    parser.add_argument("--skip-e2e", action="store_true", help="skip the reason + retrieve timing")
    args = parser.parse_args(argv)

    import os

    from tsqr.reasoner.threads import cpu_threads

    queries, origin = benchmark_queries()
    threads = cpu_threads(args.threads)
    print(f"# reasoner speed: SmolLM2-135M-Instruct (embedded default), CPU, {threads} thread(s) of "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; queries: {origin}\n")
    print(f"Greedy, {args.max_new_tokens} new tokens max per query, TongSearch prompt, caching off.\n")
    print("| model | batch | load (s) | new tokens | seconds | tokens/s |")
    print("|---|---:|---:|---:|---:|---:|")
    known = {"llama.cpp": "llamacpp:default", "transformers": "transformers:default"}
    specs = [(f"default ({b.strip()})", known[b.strip()]) for b in args.backends.split(",") if b.strip()]
    specs += [(spec.strip(), spec.strip()) for spec in args.models.split(",") if spec.strip()]
    for label, spec in specs:
        for batch in [int(b) for b in args.batches.split(",")]:
            row = throughput(spec, queries, batch, args.max_new_tokens, threads)
            print(f"| {label} | {batch} | {row['load_s']:.1f} | {row['tokens']} | {row['seconds']:.1f} | "
                  f"{row['tok_per_s']:.1f} |", flush=True)
    if not args.skip_e2e:
        query = median_length_query(queries)
        row = end_to_end(query, threads)
        print(f"\n## one reasoned search, product defaults ({row['model']}, up to 1024 new tokens)\n")
        print(f"Median-length {origin} query: {len(query.split())} words. "
              f"BM25 (bright scoring) over the demo corpus, {row['documents']} documents.\n")
        print("| model load (s) | new tokens | reasoning (s) | BM25 search (ms) | reason + retrieve (s) |")
        print("|---:|---:|---:|---:|---:|")
        print(f"| {row['load_s']:.1f} | {row['new_tokens']} | {row['reason_s']:.1f} | {row['search_s'] * 1000:.1f} | "
              f"{row['total_s']:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
