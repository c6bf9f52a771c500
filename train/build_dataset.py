"""Build the RL training set (queries, positive and negative documents) the trainers read.

Usage:
    python -m train.build_dataset --jsonl train/data/smoke.jsonl --heldout 6 --out data/smoke
    python -m train.build_dataset --tongsearch V1-R1.json --mine-negatives 8 --out data/tongsearch
    python -m train.build_dataset --bright my_bright_copy/ --domain mycorpus --mine-negatives 8 --out data/mine
    python -m train.build_dataset --jsonl rows.jsonl --corpus docs.jsonl --random-negatives 4 --out data/rows

Sources combine (each flag repeats). Negatives make the reward's BM25 term meaningful: `--mine-negatives K` adds
each query's K best-scoring non-positive documents under plain BM25 (hard negatives, what the policy must push
down), `--random-negatives K` adds K random ones. Rows that cannot be used are skipped and listed with their
file, row and reason, on screen and in manifest.json; the output folder's layout is described in
train/dataset.py.
"""
from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Run as a script (`python train/build_dataset.py`), Python puts train/ itself first on sys.path, where `train` cannot
# be imported; the checkout root takes its place, which is what `python -m train.build_dataset` from the root gives.
if __name__ == "__main__" and not __package__:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from train.data_sources import Collected, read_bright, read_corpus, read_plain_rows, read_tongsearch_json
from train.dataset import TrainExample, TrainingSet
from tsqr.bm25 import Index
from tsqr.bright import DataError
from tsqr.cli_checks import OneLineParser, run_command, whole_number


def resolve_examples(collected: Collected) -> list[TrainExample]:
    """Examples whose ids all resolve; drops unknown ids (skipping examples left with no positive) and
    duplicate ids or query texts (the first occurrence wins)."""
    kept: list[TrainExample] = []
    seen_ids: dict[str, str] = {}
    seen_queries: dict[str, str] = {}
    for example in collected.examples:
        where = f"{example.source}: example {example.id!r}"
        if example.id in seen_ids:
            collected.skip(where, f"duplicate example id (first seen in {seen_ids[example.id]})")
            continue
        if example.query in seen_queries:
            collected.skip(where, f"same query text as example {seen_queries[example.query]!r}")
            continue
        positives = tuple(d for d in example.positive_ids if d in collected.documents)
        missing = [d for d in example.positive_ids if d not in collected.documents]
        if not positives:
            collected.skip(where, f"none of its positive ids is a known document: {missing[:3]}")
            continue
        if missing:
            collected.skip(where + " (kept)", f"{len(missing)} unknown positive id(s) dropped: {missing[:3]}")
        negatives = tuple(d for d in example.negative_ids if d in collected.documents and d not in positives)
        kept.append(TrainExample(example.id, example.query, positives, negatives, example.source))
        seen_ids[example.id] = example.source
        seen_queries[example.query] = example.id
    return kept


def mine_negatives(examples: list[TrainExample], collected: Collected, count: int) -> list[TrainExample]:
    """Add each query's `count` highest-scoring non-positive documents under BM25 (BRIGHT scoring)."""
    documents = list(collected.documents.values())
    index = Index.build(documents, progress=True)
    hits = index.search_many([e.query for e in examples], k=count + max(len(e.negative_ids) for e in examples),
                             excludes=[e.positive_ids for e in examples], progress=True)
    mined = []
    for example, ranked in zip(examples, hits):
        extra = [hit.doc_id for hit in ranked if hit.score > 0 and hit.doc_id not in example.negative_ids][:count]
        mined.append(TrainExample(example.id, example.query, example.positive_ids,
                                  example.negative_ids + tuple(extra), example.source))
    return mined


def random_negatives(examples: list[TrainExample], collected: Collected, count: int,
                     rng: random.Random) -> list[TrainExample]:
    """Add `count` random documents that are neither positives nor already negatives of each query."""
    ids = list(collected.documents)
    result = []
    for example in examples:
        taken = set(example.positive_ids) | set(example.negative_ids)
        candidates = [doc_id for doc_id in ids if doc_id not in taken]
        extra = rng.sample(candidates, min(count, len(candidates)))
        result.append(TrainExample(example.id, example.query, example.positive_ids,
                                   example.negative_ids + tuple(extra), example.source))
    return result


def build(args: argparse.Namespace) -> TrainingSet:
    """Read every source, resolve, add negatives, split off held-out queries: the dataset, not yet written."""
    if not (args.tongsearch or args.jsonl or args.bright):
        raise DataError("no training data given: use --tongsearch, --jsonl and/or --bright (see --help)")
    collected = Collected()
    for path in args.corpus:
        read_corpus(Path(path), collected)
    for path in args.tongsearch:
        read_tongsearch_json(Path(path), collected, args.max_query_chars)
    for path in args.jsonl:
        read_plain_rows(Path(path), collected, args.max_query_chars)
    for source in args.bright:
        if not args.domain:
            raise DataError("--bright needs --domain: which domain of that data to train on")
        read_bright(source, args.domain, collected, documents=args.bright_documents, force=args.force)
    examples = resolve_examples(collected)
    if not examples:
        raise DataError("no usable training examples: " + (_skip_summary(collected) or "all sources were empty"))
    rng = random.Random(args.seed)
    if args.mine_negatives:
        examples = mine_negatives(examples, collected, args.mine_negatives)
    if args.random_negatives:
        examples = random_negatives(examples, collected, args.random_negatives, rng)
    heldout: list[TrainExample] = []
    if args.heldout:
        if args.heldout >= len(examples):
            raise DataError(f"--heldout {args.heldout} leaves nothing to train on ({len(examples)} examples)")
        chosen = set(rng.sample(range(len(examples)), args.heldout))
        heldout = [e for i, e in enumerate(examples) if i in chosen]
        examples = [e for i, e in enumerate(examples) if i not in chosen]
    referenced = {d for e in examples + heldout for d in e.positive_ids + e.negative_ids}
    documents = [doc for doc in collected.documents.values() if args.keep_all_documents or doc.id in referenced]
    manifest = _manifest(args, collected, examples, heldout, documents)
    return TrainingSet(examples, documents, heldout, manifest)


def _skip_summary(collected: Collected) -> str:
    reasons = Counter(item.reason.split(":")[0] for item in collected.skipped)
    return "; ".join(f"{count} x {reason}" for reason, count in reasons.most_common())


def _manifest(args: argparse.Namespace, collected: Collected, examples: list[TrainExample],
              heldout: list[TrainExample], documents: list) -> dict[str, Any]:
    return {
        "rows_read": collected.rows_read,
        "counts": {"train": len(examples), "heldout": len(heldout), "documents": len(documents),
                   "positives": sum(len(e.positive_ids) for e in examples + heldout),
                   "negatives": sum(len(e.negative_ids) for e in examples + heldout),
                   "skipped": len(collected.skipped)},
        "skipped": [{"where": s.where, "reason": s.reason} for s in collected.skipped],
        "settings": {key: value for key, value in vars(args).items() if key != "func"},
    }


def report(training_set: TrainingSet, out: Path) -> str:
    """The human summary printed after a build: counts, then skipped rows grouped by reason."""
    counts = training_set.manifest["counts"]
    lines = [f"wrote {out}: {counts['train']} training queries, {counts['heldout']} held out, "
             f"{counts['documents']} documents ({counts['positives']} positive and {counts['negatives']} negative "
             "judgements)"]
    for label, rows in training_set.manifest["rows_read"].items():
        lines.append(f"  read {rows} rows from {label}")
    skipped = training_set.manifest["skipped"]
    if skipped:
        lines.append(f"  skipped or trimmed {len(skipped)} rows (all listed in manifest.json):")
        by_reason: dict[str, list[str]] = {}
        for item in skipped:
            by_reason.setdefault(item["reason"], []).append(item["where"])
        for reason, places in sorted(by_reason.items(), key=lambda pair: -len(pair[1])):
            shown = ", ".join(places[:3]) + (f", ... (+{len(places) - 3})" if len(places) > 3 else "")
            lines.append(f"    {len(places)} x {reason}: {shown}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m train.build_dataset", description=__doc__.split("\n\n")[0],
                           formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--tongsearch", action="append", default=[], metavar="JSON",
                        help="TongSearch QR's {question: document(s)} JSON")
    parser.add_argument("--jsonl", action="append", default=[], metavar="FILE",
                        help="rows with query + positives/positive_ids (+ negatives): jsonl, json list or parquet")
    parser.add_argument("--corpus", action="append", default=[], metavar="FILE",
                        help="{id, content} documents that --jsonl rows reference by id")
    parser.add_argument("--bright", action="append", default=[], metavar="SOURCE",
                        help="BRIGHT-format data (folder, files or 'hub'), read with tsqr.bright.load_domain")
    parser.add_argument("--domain", help="the domain of --bright data to train on")
    parser.add_argument("--bright-documents", nargs="+", default=None, help="corpus files for --bright topics")
    parser.add_argument("--force", action="store_true", help="allow training on a BRIGHT evaluation domain")
    parser.add_argument("--mine-negatives", type=whole_number(), default=0, metavar="K",
                        help="add K BM25-mined negatives")
    parser.add_argument("--random-negatives", type=whole_number(), default=0, metavar="K",
                        help="add K random negatives")
    parser.add_argument("--heldout", type=whole_number(), default=0, metavar="N",
                        help="keep N random queries for evaluation")
    parser.add_argument("--keep-all-documents", action="store_true",
                        help="keep every document read (the full corpus), not only those an example names")
    parser.add_argument("--max-query-chars", type=int, default=16000, help="skip longer queries (as TongSearch)")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--out", required=True, help="output folder")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def work() -> int:
        training_set = build(args)
        print(report(training_set, training_set.write(Path(args.out))))
        return 0

    return run_command(work)


if __name__ == "__main__":
    sys.exit(main())
