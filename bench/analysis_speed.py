"""How fast is tsqr's Lucene-compatible analyzer? Prints tokens/s for a BM25-index-sized batch of documents.

Usage:
    python bench/analysis_speed.py                       # 60,000 documents of 150 words
    python bench/analysis_speed.py --docs 20000 --words 300
    python bench/analysis_speed.py --lucene              # also time pyserini's Lucene (Java) on the same text

Documents are windows of real text: BRIGHT queries, reasonings and answers from ../shared/data when it is
there, else the demo corpus in tsqr/data/demo. The target (index build for 60k x 150-word documents under 30 s on
2 cores, BM25 included) needs analysis well over 1M tokens/s on one core. "cold" starts with an empty term
cache (each new token goes through the Porter stemmer once); "warm" is the same batch again.
"""
from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHARED = ROOT.parent / "shared" / "data"
DEMO = ROOT / "tsqr" / "data" / "demo" / "documents.jsonl"


def source_text() -> tuple[str, str]:
    """All the real text at hand, and where it came from."""
    topics = sorted((SHARED / "bright" / "anserini-tools" / "topics").glob("*-original.jsonl.gz"))
    if topics:
        parts = []
        for path in topics:
            with gzip.open(path, "rt", encoding="utf-8") as lines:
                for row in map(json.loads, lines):
                    parts += [row.get(field) or "" for field in ("query", "reasoning", "gold_answer")]
        for path in sorted((SHARED / "tongsearch").glob("*.json")):
            parts += json.loads(path.read_text(encoding="utf-8")).values()
        return "\n".join(parts), f"{SHARED} (BRIGHT queries, reasonings, answers; TongSearch reasonings)"
    with DEMO.open(encoding="utf-8") as lines:
        return "\n".join(json.loads(line)["content"] for line in lines), str(DEMO)


def documents(text: str, count: int, words: int, seed: int = 0) -> list[str]:
    """`count` windows of `words` consecutive whitespace-separated words (line breaks and all kept)."""
    pieces = text.split(" ")
    rng = random.Random(seed)
    starts = (rng.randrange(max(1, len(pieces) - words)) for _ in range(count))
    return [" ".join(pieces[start : start + words]) for start in starts]


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=60_000)
    parser.add_argument("--words", type=int, default=150)
    parser.add_argument("--lucene", action="store_true", help="also time pyserini's analyzer (needs Java)")
    options = parser.parse_args()

    from tsqr.bm25.analysis import Analyzer
    from tsqr.bm25.tokenizer import tokenize

    text, origin = source_text()
    docs = documents(text, options.docs, options.words)
    _, build = timed(tokenize, "warm up the patterns \U0001d400")
    tokens = sum(len(tokenize(doc)) for doc in docs)
    analyzer = Analyzer()
    terms, cold = timed(analyzer.analyze_many, docs)
    _, warm = timed(analyzer.analyze_many, docs)
    print(f"text: {origin}")
    print(f"{len(docs):,} documents, {tokens:,} tokens, {sum(map(len, terms)):,} terms; patterns built in {build:.2f} s\n")
    print("| run | seconds | tokens/s | documents/s |")
    print("|---|---:|---:|---:|")
    rows = [("tsqr cold cache", cold), ("tsqr warm cache", warm)]
    if options.lucene:
        rows.append(("pyserini Lucene", lucene_seconds(docs)))
    for name, seconds in rows:
        print(f"| {name} | {seconds:.2f} | {tokens / seconds / 1e6:.2f} M | {len(docs) / seconds:,.0f} |")


def lucene_seconds(docs: list[str]) -> float:
    import os

    os.environ.setdefault("JAVA_HOME", "/usr/lib/jvm/java-17-openjdk-amd64")
    from pyserini.analysis import Analyzer as PyseriniAnalyzer
    from pyserini.analysis import get_lucene_analyzer

    lucene = PyseriniAnalyzer(get_lucene_analyzer())
    _, seconds = timed(lambda: [lucene.analyze(doc) for doc in docs])
    return seconds


if __name__ == "__main__":
    main()
