"""How fast is tsqr's BM25 next to rank_bm25 and bm25s? Prints markdown tables of build time, memory and
per-query latency for long (reasoning-length) queries.

Usage:
    python bench/bm25_speed.py                        # synthetic Zipfian corpus, 60,000 documents
    python bench/bm25_speed.py --docs 20000 --queries 50
    python bench/bm25_speed.py --corpus corpus.jsonl  # one {"id": ..., "content": ...} object per line

Every engine indexes the same tokens (tsqr's Lucene-compatible analyzer, timed once on its own) and answers the
same queries: 500 words drawn from the corpus text, as long as the reasoned queries TongSearch QR writes.
Times are wall-clock on whatever machine runs this; memory is what Python and numpy allocate (tracemalloc),
measured in a second pass so tracing does not slow the timed one. rank_bm25 takes seconds per query, so it
answers only a handful (--rank-bm25-queries).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tsqr.records import Document  # noqa: E402

COMMON_WORDS = ("the of and to a in is that it for was on are as with be by this at from or have an they which "
                "not but what all were when we there can been has more if will one would so no other some how "
                "water cell energy light system process because also plant body temperature").split()


@dataclass
class BuildResult:
    engine: str
    seconds: float
    peak_mb: float = float("nan")
    retained_mb: float = float("nan")


@dataclass
class QueryResult:
    engine: str
    milliseconds: list[float]


def synthetic_corpus(n_docs: int, seed: int = 0) -> list[Document]:
    """Pseudo-English documents: a 60k-word vocabulary with Zipfian frequencies (common English words on top,
    then made-up words with real suffixes so the stemmer works), lengths log-normal around 150 words."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghilmnoprstuy"))
    suffixes = ["", "", "s", "ing", "ed", "ation", "ness", "ly", "er", "ies"]
    made_up = {"".join(rng.choice(letters, size=rng.integers(3, 9))) + suffixes[rng.integers(len(suffixes))]
               for _ in range(70_000)}
    vocabulary = np.array(COMMON_WORDS + sorted(made_up - set(COMMON_WORDS))[:60_000])
    cumulative = np.cumsum(1.0 / np.arange(1, len(vocabulary) + 1))
    cumulative /= cumulative[-1]
    lengths = np.clip(rng.lognormal(mean=np.log(130), sigma=0.6, size=n_docs), 5, 2000).astype(int)
    words = vocabulary[np.searchsorted(cumulative, rng.random(int(lengths.sum())))]
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    return [Document(f"doc{i}", " ".join(words[bounds[i]:bounds[i + 1]].tolist()).capitalize() + ".")
            for i in range(n_docs)]


def read_corpus(path: Path) -> list[Document]:
    """A JSONL corpus: "id"/"_id"/"docid" and "content"/"contents"/"text" per line."""
    documents = []
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                doc_id = next(str(row[key]) for key in ("id", "_id", "docid") if key in row)
                content = next(row[key] for key in ("content", "contents", "text") if key in row)
            except (json.JSONDecodeError, StopIteration, TypeError) as error:
                raise SystemExit(f"{path}:{line_number}: need an id and a content field ({error!r})") from None
            documents.append(Document(doc_id, content))
    if not documents:
        raise SystemExit(f"{path}: no documents")
    return documents


def long_queries(documents: list[Document], n: int, words: int, seed: int = 1) -> list[str]:
    """Queries of `words` words drawn from the text of random documents (so term statistics match the corpus)."""
    rng = np.random.default_rng(seed)
    queries = []
    for _ in range(n):
        pool: list[str] = []
        while len(pool) < 4 * words:
            pool.extend(documents[rng.integers(len(documents))].content.split())
        queries.append(" ".join(rng.choice(pool, size=words).tolist()))
    return queries


def timed(function: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def traced(function: Callable[[], object]) -> tuple[float, float]:
    """(peak MB allocated while `function` ran, MB still held by what it returned)."""
    tracemalloc.start()
    result = function()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    return peak / 2**20, current / 2**20


def per_query_ms(searches: dict[str, tuple[Callable[[object], object], list]]) -> list[QueryResult]:
    """Time every engine on every query, taking turns query by query, so a busy shared machine slows all of
    them alike instead of whichever happened to run during a burst."""
    times: dict[str, list[float]] = {name: [] for name in searches}
    for search, inputs in searches.values():
        search(inputs[0])  # warm-up: lazy structures, caches
    for position in range(max(len(inputs) for _, inputs in searches.values())):
        for name, (search, inputs) in searches.items():
            if position < len(inputs):
                start = time.perf_counter()
                search(inputs[position])
                times[name].append(1000 * (time.perf_counter() - start))
    return [QueryResult(name, values) for name, values in times.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=60_000, help="synthetic corpus size (default 60000)")
    parser.add_argument("--corpus", type=Path, help="JSONL corpus to use instead of the synthetic one")
    parser.add_argument("--queries", type=int, default=30, help="long queries timed per fast engine")
    parser.add_argument("--query-words", type=int, default=500, help="words per query (default 500)")
    parser.add_argument("--rank-bm25-queries", type=int, default=3, help="queries timed for rank_bm25 (slow)")
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc pass")
    args = parser.parse_args()

    import bm25s
    from rank_bm25 import BM25Okapi

    from tsqr.bm25.analysis import Analyzer
    from tsqr.bm25 import Index

    documents = read_corpus(args.corpus) if args.corpus else synthetic_corpus(args.docs)
    queries = long_queries(documents, args.queries, args.query_words)
    analyzer = Analyzer()
    print(f"corpus: {len(documents)} documents ({'file ' + str(args.corpus) if args.corpus else 'synthetic Zipfian'})",
          file=sys.stderr)

    analysis_s, token_lists = timed(lambda: analyzer.analyze_many([d.content for d in documents], progress=True))
    n_tokens = sum(map(len, token_lists))
    query_tokens = [analyzer(q) for q in queries]
    doc_ids = [d.id for d in documents]

    def build_tsqr():
        return Index.from_tokens(doc_ids, token_lists)

    def build_rank_bm25():
        return BM25Okapi(token_lists, k1=0.9, b=0.4)

    def build_bm25s():
        retriever = bm25s.BM25(k1=0.9, b=0.4, method="lucene")
        retriever.index(token_lists, show_progress=False)
        return retriever

    builders = {"tsqr": build_tsqr, "rank_bm25": build_rank_bm25, "bm25s": build_bm25s}
    builds, engines = [], {}
    for name, build in builders.items():
        print(f"building {name} ...", file=sys.stderr)
        seconds, engines[name] = timed(build)
        builds.append(BuildResult(name, seconds))
    with tempfile.TemporaryDirectory() as folder:
        engines["tsqr"].save(folder)
        load_s, _ = timed(lambda: Index.load(folder, analyzer))
        builds.insert(1, BuildResult("tsqr (load saved index)", load_s))
        if not args.no_memory:
            print("measuring memory (tracemalloc pass) ...", file=sys.stderr)
            for result in builds:
                build = (lambda: Index.load(folder, analyzer)) if result.engine.startswith("tsqr (") \
                    else builders[result.engine]
                result.peak_mb, result.retained_mb = traced(build)

    tsqr, okapi, retriever = engines["tsqr"], engines["rank_bm25"], engines["bm25s"]

    def rank_bm25_top1000(tokens):
        scores = okapi.get_scores(tokens)
        return np.argsort(-scores, kind="stable")[:1000]

    print("timing queries ...", file=sys.stderr)
    k = min(1000, len(documents))
    results = per_query_ms({
        "tsqr bright": (lambda t: tsqr.search(t, k=k), query_tokens),
        "tsqr classic": (lambda t: tsqr.search(t, k=k, scoring="classic"), query_tokens),
        "tsqr bright, from query text": (lambda q: tsqr.search(q, k=k), queries),
        "bm25s (lucene)": (lambda t: retriever.retrieve([t], k=k, show_progress=False, n_threads=0), query_tokens),
        "rank_bm25 (BM25Okapi)": (rank_bm25_top1000, query_tokens[: max(1, args.rank_bm25_queries)]),
    })

    overlap = np.mean([len({h.doc_id for h in tsqr.search(t, 10, scoring="classic")}
                           & {doc_ids[i] for i in retriever.retrieve([t], k=10, show_progress=False)[0][0]}) / 10
                       for t in query_tokens[:10]])
    print_report(args, documents, n_tokens, analysis_s, builds, results, query_tokens, overlap)


def print_report(args, documents, n_tokens, analysis_s, builds, results, query_tokens, overlap) -> None:
    by_name = {r.engine: statistics.median(r.milliseconds) for r in results}
    tsqr_build = next(b.seconds for b in builds if b.engine == "tsqr")
    mean_query_tokens = statistics.mean(map(len, query_tokens))
    print(f"\n### BM25 engines on {len(documents):,} documents ({n_tokens:,} tokens), "
          f"{args.query_words}-word queries ({mean_query_tokens:.0f} tokens after analysis)\n")
    print(f"Analysis (tsqr Analyzer, all documents): {analysis_s:.1f} s ({n_tokens / analysis_s / 1e6:.2f} M tokens/s); "
          f"tsqr end-to-end build = analysis + index = {analysis_s + tsqr_build:.1f} s.\n")
    print("| engine | build from tokens (s) | peak memory while building (MB) | memory held by the index (MB) |")
    print("|---|---:|---:|---:|")
    for b in builds:
        memory = [f"{mb:.0f}" if mb == mb else "not measured" for mb in (b.peak_mb, b.retained_mb)]
        print(f"| {b.engine} | {b.seconds:.2f} | {memory[0]} | {memory[1]} |")
    print("\n| engine | queries | median ms/query (top 1000) | mean ms | rank_bm25 / engine | engine / bm25s |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        median = by_name[r.engine]
        print(f"| {r.engine} | {len(r.milliseconds)} | {median:.1f} | {statistics.mean(r.milliseconds):.1f} | "
              f"{by_name['rank_bm25 (BM25Okapi)'] / median:.0f}x | {median / by_name['bm25s (lucene)']:.2f} |")
    print(f"\nTop-10 agreement, tsqr classic vs bm25s lucene (same formula): {100 * overlap:.0f}% over 10 queries.")
    speedup = by_name["rank_bm25 (BM25Okapi)"] / by_name["tsqr bright"]
    ratio = by_name["tsqr bright"] / by_name["bm25s (lucene)"]
    print(f"Targets: tsqr bright {speedup:.0f}x faster than rank_bm25 (target >= 100x: "
          f"{'met' if speedup >= 100 else 'NOT met'}); {ratio:.2f}x bm25s's time (target <= 1.5x: "
          f"{'met' if ratio <= 1.5 else 'NOT met'}); end-to-end build {analysis_s + tsqr_build:.1f} s "
          f"(target < 30 s for 60k documents: {'met' if analysis_s + tsqr_build < 30 else 'NOT met'}).")


if __name__ == "__main__":
    main()
