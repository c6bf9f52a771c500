"""Time tsqr.metrics.evaluate on 12 BRIGHT-sized domains (120 queries x 1000 hits each), next to pytrec_eval.

Two score shapes: continuous scores (what BM25 gives; ties are rare) and scores rounded to 0.01 (~400 tied
pairs per query, a worst case for trec_eval's tie rule). Usage: python bench/metrics_speed.py
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # run from anywhere
import random
import time

from tsqr.metrics import evaluate
from tsqr.records import Hit

MEASURES = ["nDCG@10", "nDCG@100", "R@10", "R@100", "P@10", "RR@10", "AP"]
TREC_MEASURES = {"ndcg_cut.10,100", "recall.10,100", "P.10", "recip_rank", "map"}


def domains(rounded: bool, rng: random.Random):
    out = []
    for _ in range(12):
        qrels, run = {}, {}
        for q in range(120):
            qrels[f"q{q}"] = {f"doc{rng.randint(0, 50000)}": 1 for _ in range(rng.randint(1, 8))}
            hits = [Hit(f"doc{x}", round(rng.expovariate(0.3), 2) if rounded else rng.expovariate(0.3))
                    for x in rng.sample(range(50000), 1000)]
            run[f"q{q}"] = sorted(hits, key=lambda h: -h.score)  # best first, ties in arbitrary order
        out.append((qrels, run))
    return out


def best_of(repeats, work):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


for label, rounded in (("continuous scores", False), ("scores rounded to 0.01", True)):
    data = domains(rounded, random.Random(1))
    ours = best_of(5, lambda: [evaluate(q, r, MEASURES) for q, r in data])
    line = f"{label:>24}: tsqr.metrics {ours:.3f} s"
    try:
        import pytrec_eval
        as_dicts = [(q, {qid: {h.doc_id: h.score for h in hits} for qid, hits in r.items()}) for q, r in data]
        ref = best_of(5, lambda: [pytrec_eval.RelevanceEvaluator(q, TREC_MEASURES).evaluate(r) for q, r in as_dicts])
        line += f" | pytrec_eval {ref:.3f} s (runs already dicts)"
    except ImportError:
        pass
    print(line + "  [12 domains x 120 queries x 1000 hits, 7 measures, best of 5]")
