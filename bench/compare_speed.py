"""Is comparing many systems cheap next to retrieving for one? Times scoring (per-query measures from runs) and
testing (paired tests, Holm, tables) for N systems over 12 BRIGHT-sized domains, beside one system's BM25 search.

Usage:
    python bench/compare_speed.py                    # N = 2, 8, 16 systems; BM25 on a 60,000-document corpus
    python bench/compare_speed.py --systems 4 32 --docs 20000

Synthetic on both sides, BRIGHT's shape: its 12 domains' query counts (1,384 queries), 1000 hits per query, a few
gold documents each. The BM25 side builds a synthetic Zipfian corpus (bench/bm25_speed.py) and times one
system's searches, every one of the 1,384 queries at 500 words (a reasoned query's length), index build left
out. Scoring is tsqr.metrics.evaluate of each system's runs; testing is tsqr.compare.compare (t-test per domain
and pooled, Holm across systems) with the Markdown, LaTeX and terminal tables rendered.
"""
from __future__ import annotations

import argparse
import pathlib
import random
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # run from anywhere
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from bm25_speed import long_queries, synthetic_corpus  # noqa: E402

from tsqr.compare import compare, to_latex, to_markdown, to_terminal  # noqa: E402
from tsqr.metrics import evaluate  # noqa: E402
from tsqr.records import Hit  # noqa: E402

# BRIGHT's queries per domain (the examples config; 1,384 in all).
BRIGHT_QUERIES = {"biology": 103, "earth_science": 116, "economics": 103, "psychology": 101, "robotics": 101,
                  "stackoverflow": 117, "sustainable_living": 108, "leetcode": 142, "pony": 112, "aops": 111,
                  "theoremqa_theorems": 76, "theoremqa_questions": 194}
MEASURES = ["nDCG@10", "nDCG@100", "R@10", "R@100", "P@10", "RR", "AP"]
POOL = 50_000


def synthetic_domains(rng: random.Random) -> dict[str, dict[str, dict[str, int]]]:
    return {domain: {f"{domain}-{q}": {f"doc{rng.randrange(POOL)}": 1 for _ in range(rng.randint(1, 8))}
                     for q in range(count)} for domain, count in BRIGHT_QUERIES.items()}


def synthetic_run(qrels: dict[str, dict[str, int]], skill: float, rng: random.Random) -> dict[str, list[Hit]]:
    """1000 hits per query; a gold document is placed near the top with probability `skill`."""
    run = {}
    for qid, gold in qrels.items():
        ids = [f"doc{x}" for x in rng.sample(range(POOL), 1000)]
        for doc in gold:
            if rng.random() < skill:
                ids[rng.randrange(20)] = doc
        ids = list(dict.fromkeys(ids))
        run[qid] = [Hit(doc, 1000.0 - rank) for rank, doc in enumerate(ids)]
    return run


def bm25_seconds(n_docs: int) -> float:
    from tsqr.bm25 import Index

    documents = synthetic_corpus(n_docs)
    index = Index.build(documents, progress=False)
    queries = long_queries(documents, sum(BRIGHT_QUERIES.values()), 500)
    start = time.perf_counter()
    index.search_many(queries, k=1000, progress=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--systems", type=int, nargs="+", default=[2, 8, 16], help="numbers of systems to time")
    parser.add_argument("--docs", type=int, default=60_000, help="synthetic BM25 corpus size (default 60000)")
    args = parser.parse_args()

    rng = random.Random(1)
    qrels = synthetic_domains(rng)
    runs = [{domain: synthetic_run(judged, 0.1 + 0.05 * s, rng) for domain, judged in qrels.items()}
            for s in range(max(args.systems))]
    compare({"a": {"d": {"q1": {"x": 0.1}, "q2": {"x": 0.3}}}, "b": {"d": {"q1": {"x": 0.2}, "q2": {"x": 0.2}}}},
            "a", ["x"])  # warm-up: scipy.stats is imported on first use, once per process
    bm25 = bm25_seconds(args.docs)
    print(f"one system's BM25 search: {bm25:.2f} s for {sum(BRIGHT_QUERIES.values())} queries of 500 words "
          f"({args.docs} synthetic documents, index build not counted)")
    print("| systems | scoring (s) | testing + tables (s) | total per system (s) | total / one system's BM25 |")
    print("|---:|---:|---:|---:|---:|")
    for n in args.systems:
        start = time.perf_counter()
        scores = {f"system{s}": {domain: evaluate(qrels[domain], runs[s][domain], MEASURES) for domain in qrels}
                  for s in range(n)}
        scoring = time.perf_counter() - start
        start = time.perf_counter()
        tables = compare(scores, "system0", MEASURES, test="t")
        to_markdown(tables), to_latex(tables), to_terminal(tables)
        testing = time.perf_counter() - start
        total = scoring + testing
        print(f"| {n} | {scoring:.2f} | {testing:.2f} | {total / n:.3f} | {total / n / bm25:.1%} per system |")


if __name__ == "__main__":
    main()
