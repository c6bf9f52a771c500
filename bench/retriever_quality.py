"""nDCG@10 of BM25, dense and hybrid retrieval, raw query against reasoned query, on one BRIGHT-shaped domain.
Prints a markdown table (x 100), rows = what the retriever searches with, columns = retrievers.

Usage:
    python bench/retriever_quality.py                                   # demo corpus, offline all-MiniLM-L6-v2
    python bench/retriever_quality.py --reasoned default --max-new-tokens 256   # + the embedded SmolLM2's reasonings
    python bench/retriever_quality.py --data path/to/bright --domain biology --model bge

Rows: the raw query; the domain's human-written `reasoning` field (BRIGHT's examples carry one, as does the demo)
in replace mode (the reasoning alone, as TongSearch QR evaluates) and concat mode (query + reasoning); with
--reasoned, a reasoner's texts in both modes (its cache makes reruns free). BRIGHT's protocol throughout: excluded
ids removed before the top 1000, binary qrels from gold_ids, scores from tsqr.metrics (pytrec_eval's numbers).
Hybrid fuses BM25 (BRIGHT scoring) with the dense model, dense share 0.5, by RRF and by min-max score fusion.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tsqr.composition import compose_query  # noqa: E402
from tsqr.records import Domain  # noqa: E402


def ndcg10(domain: Domain, retriever, texts: list[str]) -> float:
    from tsqr.metrics import evaluate, mean_scores, parse_measure

    hits = retriever.search_many(texts, k=1000, excludes=[ex.excluded_ids for ex in domain.examples], progress=False)
    run = {ex.id: side for ex, side in zip(domain.examples, hits)}
    per_query = evaluate(domain.qrels(), run, [parse_measure("nDCG@10")])
    return 100 * mean_scores(per_query)["nDCG@10"]


def query_sides(domain: Domain, args: argparse.Namespace) -> dict[str, list[str]]:
    """Row label -> one search text per example."""
    examples = domain.examples
    sides = {"raw query": [ex.query for ex in examples]}
    for mode in ("replace", "concat"):
        sides[f"`reasoning` field, {mode}"] = [compose_query(ex.query, ex.reasoning, mode) for ex in examples]
    if args.reasoned:
        from tsqr.reasoner import GenerationSettings, load_reasoner

        reasoner = load_reasoner(args.reasoned, GenerationSettings(max_new_tokens=args.max_new_tokens))
        unique = list(dict.fromkeys(ex.query for ex in examples))
        by_query = {query: result.text for query, result in zip(unique, reasoner.reason(unique))}
        for mode in ("replace", "concat"):
            sides[f"{args.reasoned} reasoning, {mode}"] = [compose_query(ex.query, by_query[ex.query], mode)
                                                           for ex in examples]
    return sides


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(ROOT / "tsqr" / "data" / "demo"), help="BRIGHT-shaped source (default: demo)")
    parser.add_argument("--domain", default="demo")
    parser.add_argument("--model", default="default", help="embedding model (default: offline all-MiniLM-L6-v2)")
    parser.add_argument("--reasoned", help="also score this reasoner's texts (e.g. default, a hub id, a folder)")
    parser.add_argument("--max-new-tokens", type=int, default=256)
    args = parser.parse_args()

    from tsqr.bm25 import load_or_build
    from tsqr.bright import load_domain
    from tsqr.retrieval import DenseRetriever, Encoder, HybridRetriever

    domain = load_domain(args.data, args.domain)
    sides = query_sides(domain, args)
    index = load_or_build(domain.documents)
    dense = DenseRetriever(domain.documents, Encoder(args.model, domain=domain.name))
    retrievers = {"BM25": index, f"dense ({dense.name})": dense,
                  "hybrid RRF": HybridRetriever(index, dense, "rrf"),
                  "hybrid score": HybridRetriever(index, dense, "score")}
    print(f"\n### {domain.name}: {len(domain.examples)} queries, {len(domain.documents)} documents, nDCG@10 x 100\n")
    print("| searches with | " + " | ".join(retrievers) + " |")
    print("|---|" + "---:|" * len(retrievers))
    for label, texts in sides.items():
        print(f"| {label} | " + " | ".join(f"{ndcg10(domain, r, texts):.1f}" for r in retrievers.values()) + " |")


if __name__ == "__main__":
    main()
