"""tsqr's command line: evaluate raw vs reasoned BM25 on BRIGHT, reason about queries, build indexes, export models.

Usage:
    python -m tsqr evaluate --data ../shared/data/bright/anserini-tools --domain biology \
        --documents corpus.jsonl --reasoned TongSearch-QR-7B_reasoned_BRIGHT_queries.json
    python -m tsqr evaluate --data hub --domain all --reasoned TongSearch/TongSearch-QR-7B
    python -m tsqr reason "Why does my sourdough starter smell like nail polish?"
    python -m tsqr index --data assets/demo --domain demo
    python -m tsqr export-model default checkpoints/smollm2-start
    python -m tsqr export-gguf checkpoints/grpo-run qr.gguf
    python -m tsqr export-reasonings SmolLM2-135M-Instruct.Q4_1.gguf-llama.cpp-b83433b0 mine.json

Every heavy import happens inside the command that needs it, so `--help` answers at once.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, nargs="+",
                        help='"hub", a hub-layout folder, an Anserini topics/qrels folder, or files '
                             "(parquet/jsonl/json[.gz], zip)")
    parser.add_argument("--domain", required=True, nargs="+",
                        help='BRIGHT domain name(s), or "all" for the 12 domains')
    parser.add_argument("--documents", nargs="+", default=None,
                        help="corpus file(s) when --data has queries and qrels only (Anserini topics)")
    parser.add_argument("--long", action="store_true", help="use long_documents and gold_ids_long")


def _domains(names: list[str]) -> list[str]:
    from tsqr.bright import BRIGHT_DOMAINS

    return list(BRIGHT_DOMAINS) if names == ["all"] else names


def _load(args: argparse.Namespace, name: str):
    from tsqr.bright import check_domain, load_domain

    source = args.data[0] if len(args.data) == 1 else args.data
    domain = load_domain(source, name, long=args.long, documents=args.documents)
    if not domain.documents:
        raise SystemExit(f"error: no documents for domain {name!r}: pass --documents with the corpus file")
    for warning in check_domain(domain, long=args.long).warnings():
        print(f"warning [{name}]: {warning}", file=sys.stderr)
    return domain


def _is_model_folder(path: Path) -> bool:
    return path.is_dir() and (path / "config.json").is_file()


def _reasonings_for(args: argparse.Namespace, domain) -> dict[str, str] | None:
    """--reasoned names either precomputed reasonings (a file, a cache folder, or "hub" with --reasoning-model for
    BRIGHT's <model>_reason configs) or a model to run, whose cache makes reruns free."""
    if not args.reasoned:
        return None
    path = Path(args.reasoned)
    if args.reasoned == "hub" or path.is_file() or (path.is_dir() and not _is_model_folder(path)):
        from tsqr.reasonings import load_reasonings

        source = load_reasonings(args.reasoned, domain=domain.name, model=args.reasoning_model)
        return source.texts_for(domain.examples)
    from tsqr.evaluate import reasoned_texts
    from tsqr.reasoner import GenerationSettings, load_reasoner

    settings = GenerationSettings(max_new_tokens=args.max_new_tokens, template=args.template)
    return reasoned_texts(domain, load_reasoner(args.reasoned, settings))


def cmd_evaluate(args: argparse.Namespace) -> int:
    from tsqr.bm25 import load_or_build
    from tsqr.evaluate import EvaluationConfig, evaluate_domain, format_table, summary_rows, write_outputs

    config = EvaluationConfig(scoring=args.scoring, mode=args.mode, repeat=args.repeat, long_documents=args.long)
    reports = []
    for name in _domains(args.domain):
        domain = _load(args, name)
        if args.limit:
            domain.examples = domain.examples[: args.limit]
        print(f"[{name}] {len(domain.examples)} queries, {len(domain.documents)} documents", file=sys.stderr)
        index = load_or_build(domain.documents)
        reasonings = _reasonings_for(args, domain)
        report = evaluate_domain(domain, index, reasonings, config)
        if report.missing_reasoning:
            print(f"warning [{name}]: {len(report.missing_reasoning)} queries have no reasoning "
                  f"(searched with the raw query): {report.missing_reasoning[:5]}", file=sys.stderr)
        reports.append(report)
    print(format_table(summary_rows(reports)))
    written = write_outputs(reports, Path(args.out))
    print(f"wrote {len(written)} files to {args.out}", file=sys.stderr)
    return 0


def cmd_reason(args: argparse.Namespace) -> int:
    from tsqr.reasoner import GenerationSettings, load_reasoner

    settings = GenerationSettings(max_new_tokens=args.max_new_tokens, template=args.template)
    reasoner = load_reasoner(args.model, settings)
    if len(args.query) == 1:
        for piece in reasoner.stream(args.query[0]):
            print(piece, end="", flush=True)
        print()
        return 0
    for result in reasoner.reason(args.query):
        print(f"## {result.query}\n{result.text}\n")
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    import time

    from tsqr.bm25 import load_or_build

    for name in _domains(args.domain):
        domain = _load(args, name)
        start = time.perf_counter()
        index = load_or_build(domain.documents)
        print(f"[{name}] index of {len(index.doc_ids)} documents ready in {time.perf_counter() - start:.1f} s")
    return 0


def cmd_export_model(args: argparse.Namespace) -> int:
    from tsqr.reasoner import export_model

    folder = export_model(args.source, Path(args.destination))
    print(f"exported {args.source} to {folder}")
    return 0


def cmd_export_gguf(args: argparse.Namespace) -> int:
    from tsqr.reasoner.gguf_export import export_gguf

    written = export_gguf(Path(args.checkpoint), Path(args.destination), args.type, args.tokenizer_pre)
    print(f"wrote {written} ({written.stat().st_size / 2**20:.0f} MiB, {args.type}): "
          f"python -m tsqr reason --model {written} \"...\"")
    return 0


def cmd_export_reasonings(args: argparse.Namespace) -> int:
    from tsqr.reasoner import ReasoningCache

    cache = ReasoningCache.find(args.cache)
    count = cache.export_json(Path(args.destination), template=args.template)
    print(f"wrote {count} reasonings from {cache.path} to {args.destination}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tsqr", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    evaluate = commands.add_parser("evaluate", help="raw vs reasoned BM25 on BRIGHT domains")
    _add_data_arguments(evaluate)
    evaluate.add_argument("--reasoned", help="precomputed reasonings (TongSearch JSON, BRIGHT <model>_reason "
                                             "file or \"hub\", tsqr cache) or a model: default, a hub id, a folder, a .gguf, "
                                             "an http(s) OpenAI-compatible server URL")
    evaluate.add_argument("--reasoning-model", help='which BRIGHT <model>_reason config (e.g. gpt4) when '
                                                   '--reasoned is "hub" or a copy of the hub repository')
    evaluate.add_argument("--scoring", choices=("bright", "classic", "fusion"), default="bright",
                          help="bright: BRIGHT's official BM25 (query-side weighting); classic: Lucene BM25; "
                               "fusion: reciprocal-rank fusion of the raw and reasoned runs")
    evaluate.add_argument("--mode", choices=("replace", "concat"), default="replace",
                          help="reasoning replaces the query (the paper) or is appended to it")
    evaluate.add_argument("--repeat", type=int, default=1, help="times the query is repeated in concat mode")
    evaluate.add_argument("--limit", type=int, default=0, help="only the first N queries of each domain")
    evaluate.add_argument("--out", default="runs/latest", help="folder for results.json, CSVs and TREC runs")
    _add_generation_arguments(evaluate)
    evaluate.set_defaults(func=cmd_evaluate)

    reason = commands.add_parser("reason", help="print a model's reasoning for queries")
    reason.add_argument("query", nargs="+")
    reason.add_argument("--model", default="default", help="default, none, a hub id, a folder, a .gguf, a URL")
    _add_generation_arguments(reason)
    reason.set_defaults(func=cmd_reason)

    index = commands.add_parser("index", help="build and cache the BM25 index of domains")
    _add_data_arguments(index)
    index.set_defaults(func=cmd_index)

    export = commands.add_parser("export-model", help="write a model (GGUF default included) as a safetensors "
                                                      "checkpoint: the starting policy for train/")
    export.add_argument("source", help="default, a hub id, a folder or a .gguf file")
    export.add_argument("destination")
    export.set_defaults(func=cmd_export_model)

    to_gguf = commands.add_parser("export-gguf", help="write a checkpoint folder (train/, export-model) as a GGUF "
                                                      "file llama.cpp runs (Llama and Qwen2)")
    to_gguf.add_argument("checkpoint", help="folder with config.json, *.safetensors and tokenizer.json")
    to_gguf.add_argument("destination", help="the .gguf file to write")
    to_gguf.add_argument("--type", choices=("q8_0", "f16", "f32"), default="q8_0",
                         help="matrix type: q8_0 (default, near float quality) or f16/f32 (the weights as trained)")
    to_gguf.add_argument("--tokenizer-pre", help="llama.cpp pre-tokenizer name, for a tokenizer.json it does not "
                                                 "recognise (gpt-2, smollm, qwen2 are)")
    to_gguf.set_defaults(func=cmd_export_gguf)

    reasonings = commands.add_parser("export-reasonings", help="write a reasoning cache as TongSearch's "
                                                               "{query: reasoning} JSON")
    reasonings.add_argument("cache", help="a cache .jsonl file, or its name in the tsqr cache folder")
    reasonings.add_argument("destination")
    reasonings.add_argument("--template", help="only reasonings written with this prompt template")
    reasonings.set_defaults(func=cmd_export_reasonings)
    return parser


def _add_generation_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-new-tokens", type=int, default=1024, help="the paper generates up to 1024")
    parser.add_argument("--template", default="tongsearch", help="prompt template name (see tsqr.reasoner.prompts)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished reasonings are in the cache; rerun to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
