"""Is analysis linear on hostile text? Times tsqr's analyzer on adversarial inputs at n and 10n characters.

Usage:
    python bench/analysis_adversarial.py                   # n = 20,000 characters, beside pyserini's Lucene
    python bench/analysis_adversarial.py --length 50000 --repeats 3
    python bench/analysis_adversarial.py --no-lucene       # tsqr alone

Each input repeats one motif that used to make the tokenizer quadratic (its regex re-read a run from every
position): runs of "_" (it glues anything), of mid-word marks between letters and digits, of zero-width
joiners, skin tones glued to "_", and one token far longer than Lucene's 255-char buffer. For each, the
best of --repeats runs at n and at 10n characters, and their ratio: about 10 means linear, 100 quadratic.
pyserini's Lucene (Java) analyzes the same texts beside it, and its terms must equal tsqr's; without pyserini
or Java that column says why it is missing.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# (name, motif): the text is the motif repeated to the length asked.
INPUTS = [
    ("run of _", "_"),
    ("_ and spaces", "_ "),
    ("letters and .", "a."),
    ("digits and ,", "1,"),
    ("letters and '", "a'"),
    ("_ letters .", "_a."),
    ("digits letters ,", "1a,"),
    ("run of joiners", "\u200d"),
    ("emoji + joiner", "\U0001f468\u200d"),
    ("# + joiner", "#\u200d"),
    ("_ + skin tone", "_\U0001f3fb"),
    ("letter + accent", "a\u0301"),
    ("one long token", "x"),
]


def best_seconds(function: Callable[[str], list[str]], text: str, repeats: int) -> tuple[float, list[str]]:
    best, result = float("inf"), []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function(text)
        best = min(best, time.perf_counter() - start)
    return best, result


def lucene_analyzer() -> tuple[Callable[[str], list[str]] | None, str]:
    """pyserini's default analyzer (what BRIGHT used), or None and the reason it is not there."""
    if not os.environ.get("JAVA_HOME") and Path("/usr/lib/jvm/java-17-openjdk-amd64").is_dir():
        os.environ["JAVA_HOME"] = "/usr/lib/jvm/java-17-openjdk-amd64"
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        return None, "no Java runtime (install openjdk-17 or set JAVA_HOME)"
    try:
        from pyserini.analysis import Analyzer, get_lucene_analyzer
    except ImportError as error:
        return None, f"pyserini is not installed ({error})"
    analyzer = Analyzer(get_lucene_analyzer())
    return (lambda text: list(analyzer.analyze(text))), "pyserini Lucene"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=20_000, help="n, in characters (10n is timed too)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per input; the fastest counts")
    parser.add_argument("--no-lucene", action="store_true", help="skip pyserini's Lucene")
    options = parser.parse_args()

    from tsqr.bm25.analysis import Analyzer

    analyzer = Analyzer()
    warm_up = ["_" * 300 + " the patterns", "_" * 300 + " \U0001d400 and astral ones"]
    for text in warm_up:
        analyzer(text)
    lucene, lucene_name = (None, "skipped (--no-lucene)") if options.no_lucene else lucene_analyzer()
    for text in warm_up * 50 if lucene is not None else ():
        lucene(text)
    if lucene is None:
        print(f"Lucene column: {lucene_name}")
    n = options.length
    print(f"| input | tsqr {n:,} | tsqr {10 * n:,} | tsqr ratio | Lucene {n:,} | Lucene {10 * n:,} | Lucene ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, motif in INPUTS:
        row = [name]
        times = {}
        for engine, function in (("tsqr", analyzer), ("lucene", lucene)):
            if function is None:
                row += ["-", "-", "-"]
                continue
            for length in (n, 10 * n):
                text = (motif * (length // len(motif) + 1))[:length]
                seconds, terms = best_seconds(function, text, options.repeats)
                times[engine, length] = seconds, terms
                row.append(f"{seconds * 1000:.1f} ms")
            row.append(f"{times[engine, 10 * n][0] / times[engine, n][0]:.1f}")
        if lucene is not None:
            for length in (n, 10 * n):
                assert times["tsqr", length][1] == times["lucene", length][1], f"{name} at {length}: terms differ"
        print("| " + " | ".join(row) + " |", flush=True)
    if lucene is not None:
        print("\ntsqr's terms equal Lucene's on every input.")


if __name__ == "__main__":
    main()
