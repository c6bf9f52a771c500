"""tsqr's command line: evaluate raw vs reasoned BM25 on BRIGHT, reason about queries, build indexes, export and
serve models.

Usage:
    python -m tsqr evaluate --data ../shared/data/bright/anserini-tools --domain biology \
        --documents corpus.jsonl --reasoned TongSearch-QR-7B_reasoned_BRIGHT_queries.json
    python -m tsqr evaluate --data hub --domain all --reasoned TongSearch/TongSearch-QR-7B
    python -m tsqr evaluate --data demo --domain demo --reasoned default --reasoned human \
        --retriever bm25 --retriever dense                   # several systems: a table with significance marks
    python -m tsqr reason "Why does my sourdough starter smell like nail polish?"
    python -m tsqr index --data demo --domain demo
    python -m tsqr export-model default checkpoints/smollm2-start
    python -m tsqr export-gguf checkpoints/grpo-run qr.gguf
    python -m tsqr export-reasonings SmolLM2-135M-Instruct.Q4_1.gguf-llama.cpp-b83433b0 mine.json
    python -m tsqr serve checkpoints/policy --port 8000     # an OpenAI-compatible server for any model

This module parses arguments and prints; the work is tsqr.evaluate.run (the app's pipeline too), for several
systems tsqr.evaluate.runner.run_systems, the reasoner, tsqr.export and tsqr.serve; tsqr.cli_checks.run_command
turns bad input into one line and exit code 2.
tsqr's own modules import no heavy library at import time, so `--help` answers at once.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tsqr.bm25 import SCORINGS, load_or_build
from tsqr.bright import BRIGHT_DOMAINS, check_domain
from tsqr.cli_checks import (
    OneLineParser,
    check_hub_access,
    check_variables,
    domain_name,
    output_folder,
    run_command,
    whole_number,
)
from tsqr.composition import COMPOSITIONS, SAMPLE_COMBINATIONS
from tsqr.evaluate import (
    DomainSource,
    EvaluationConfig,
    ReasoningPlan,
    format_costs,
    format_table,
    load_domains,
    run,
    summary_rows,
)
from tsqr.cli_options import add_generation_arguments, settings_from_args
from tsqr.export import export_gguf, export_model
from tsqr.compare import DEFAULT_ALPHA, TESTS, to_terminal
from tsqr.evaluate.experiment import FRONTIER_FILE, TABLE_FILES
from tsqr.evaluate.runner import run_systems
from tsqr.evaluate.systems import expand_systems, load_systems_file
from tsqr.fusion import FUSION_METHODS
from tsqr.reasoner import ReasoningCache, load_reasoner
from tsqr.reasoner.hardware import hardware
from tsqr.reasonings import export_cache
from tsqr.retrieval.spec import add_query_instruction_argument


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, nargs="+",
                        help='"hub", a hub-layout folder, an Anserini topics/qrels folder, or files '
                             "(parquet/jsonl/json[.gz], zip)")
    parser.add_argument("--domain", required=True, nargs="+", type=domain_name,
                        help='BRIGHT domain name(s), or "all" for the 12 domains')
    parser.add_argument("--documents", nargs="+", default=None,
                        help="corpus file(s) when --data has queries and qrels only (Anserini topics)")
    parser.add_argument("--long", action="store_true", help="use long_documents and gold_ids_long")


def _domains(names: list[str]) -> list[str]:
    return list(BRIGHT_DOMAINS) if names == ["all"] else names


def _sources(args: argparse.Namespace) -> list[DomainSource]:
    source = args.data[0] if len(args.data) == 1 else args.data
    documents = tuple(Path(p) for p in args.documents) if args.documents else None
    return [DomainSource(source, name, documents=documents, long=args.long) for name in _domains(args.domain)]


def _compares(args: argparse.Namespace) -> bool:
    """Several systems (or a question only a comparison answers) take the comparison path; one reasoning source
    under one retriever keeps the raw-vs-reasoned report and its files."""
    several = any(len(values or []) > 1 for values in (args.reasoned, args.retriever, args.mode))
    return several or bool(args.systems) or any(v is not None for v in (args.baseline, args.test, args.alpha))


def _config(args: argparse.Namespace, retriever: str, mode: str) -> EvaluationConfig:
    return EvaluationConfig(scoring=args.scoring, composition=mode, repeat=args.repeat, long_documents=args.long,
                            retriever=retriever, hybrid_method=args.hybrid_method,
                            hybrid_weight=args.hybrid_weight, sample_combination=args.sample_combination,
                            query_instruction=args.query_instruction)


def _print_event(event) -> None:
    if event.warning:
        print(f"warning {event.warning}", file=sys.stderr)
    elif event.domain is not None or event.system_run is not None:
        print(event.message, file=sys.stderr)


def cmd_evaluate(args: argparse.Namespace) -> int:
    if _compares(args):
        return _evaluate_systems(args)
    config = _config(args, (args.retriever or ["bm25"])[0], (args.mode or ["replace"])[0])
    plan = ReasoningPlan.from_spec((args.reasoned or [None])[0], settings_from_args(args),
                                   source_model=args.reasoning_model, samples=args.samples)
    reports, files = [], ()
    events = run(_sources(args), plan, config, limit=args.limit, out_dir=Path(args.out) if args.out else None,
                 price_per_mtok=args.price_per_mtok, hardware=hardware,
                 progress_bars=True)
    for event in events:
        _print_event(event)
        if event.report is not None:
            reports.append(event.report)
            files = event.files
    print(format_table(summary_rows(reports)))
    costs = format_costs(reports, args.price_per_mtok)
    if costs:
        print(costs)
    if args.out:
        print(f"wrote {len(files)} files to {args.out}", file=sys.stderr)
    return 0


def _evaluate_systems(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    config = _config(args, "bm25", "replace")
    if args.systems:
        if args.reasoned or args.retriever or args.mode:
            raise ValueError("--systems names every system: leave out --reasoned, --retriever and --mode")
        systems = load_systems_file(Path(args.systems), settings, config)
    else:
        systems = expand_systems(args.reasoned or [], args.retriever or ["bm25"], settings, config,
                                 modes=args.mode or (), source_model=args.reasoning_model, samples=args.samples)
    events = run_systems(_sources(args), systems, baseline=args.baseline, test=args.test or "t",
                         alpha=DEFAULT_ALPHA if args.alpha is None else args.alpha, limit=args.limit,
                         out_dir=Path(args.out) if args.out else None, price_per_mtok=args.price_per_mtok,
                         hardware=hardware, progress_bars=True)
    experiment = None
    for event in events:
        _print_event(event)
        experiment = event.experiment or experiment
    if experiment is not None:
        print(to_terminal(experiment.tables(), experiment.costs(), args.price_per_mtok))
    if args.out:
        print(f"wrote results.json, {', '.join(TABLE_FILES)}, {FRONTIER_FILE} and the runs of {len(systems)} "
              f"system(s) to {args.out}", file=sys.stderr)
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    for domain in load_domains(_sources(args)):
        for warning in check_domain(domain, long=args.long).warnings():
            print(f"warning [{domain.name}] {warning}", file=sys.stderr)
        start = time.perf_counter()
        index = load_or_build(domain.documents)
        print(f"[{domain.name}] index of {len(index.doc_ids)} documents ready in {time.perf_counter() - start:.1f} s")
    return 0


def cmd_reason(args: argparse.Namespace) -> int:
    reasoner = load_reasoner(args.model, settings_from_args(args))
    if len(args.query) == 1:
        for piece in reasoner.stream(args.query[0]):
            print(piece, end="", flush=True)
        print()
        return 0
    for result in reasoner.reason(args.query):
        print(f"## {result.query}\n{result.text}\n")
    return 0


def cmd_export_model(args: argparse.Namespace) -> int:
    folder = export_model(args.source, Path(args.destination))
    print(f"exported {args.source} to {folder}")
    return 0


def cmd_export_gguf(args: argparse.Namespace) -> int:
    written = export_gguf(Path(args.checkpoint), Path(args.destination), args.type, args.tokenizer_pre)
    print(f"wrote {written} ({written.stat().st_size / 2**20:.0f} MiB, {args.type}): "
          f"python -m tsqr reason --model {written} \"...\"")
    return 0


def cmd_export_reasonings(args: argparse.Namespace) -> int:
    cache = ReasoningCache.find(args.cache)
    count = export_cache(cache, Path(args.destination), template=args.template, setting=args.setting)
    print(f"wrote {count} reasonings from {cache.path} to {args.destination}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from tsqr.serve.server import serve

    return serve(args.model, settings_from_args(args), args.host, args.port)


def build_parser() -> argparse.ArgumentParser:
    prog = "tsqr" if Path(sys.argv[0]).name == "tsqr" else "python -m tsqr"  # the installed command, or the module
    parser = OneLineParser(prog=prog, description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    evaluate = commands.add_parser("evaluate", help="raw vs reasoned BM25 on BRIGHT domains")
    _add_data_arguments(evaluate)
    evaluate.add_argument("--reasoned", action="append",
                          help="precomputed reasonings (TongSearch JSON, BRIGHT <model>_reason file or \"hub\", "
                               "tsqr cache), \"human\" (the corpus's reasoning field) or a model: default, a hub "
                               "id, a folder, a .gguf, an http(s) OpenAI-compatible server URL (a comma list: "
                               "replicas of one model). Repeat it to compare several sources with the raw query")
    evaluate.add_argument("--reasoning-model", help='which BRIGHT <model>_reason config (e.g. gpt4) when '
                                                   '--reasoned is "hub" or a copy of the hub repository')
    evaluate.add_argument("--scoring", choices=SCORINGS, default="bright",
                          help="bright: BRIGHT's official BM25 (query-side weighting); classic: Lucene BM25; "
                               "rank_bm25: rank_bm25's BM25Okapi (slow)")
    evaluate.add_argument("--mode", choices=COMPOSITIONS, action="append",
                          help="how the reasoning meets BM25: replace the query (the paper, the default), concat "
                               "(query + reasoning, as query2doc), fuse (reciprocal-rank fusion of the raw and "
                               "reasoning runs); repeat it to compare modes")
    evaluate.add_argument("--repeat", type=whole_number(1), default=1,
                          help="times the query is repeated in concat mode")
    evaluate.add_argument("--limit", type=whole_number(), default=0, help="only the first N queries of each domain")
    evaluate.add_argument("--out", type=output_folder, default=None,
                          help="folder for results.json, CSVs and TREC runs (without it nothing is written but "
                               "the caches)")
    evaluate.add_argument("--retriever", action="append",
                          help="bm25 (BRIGHT's, the default), dense[:MODEL] (sentence-transformers; default the "
                               "offline all-MiniLM-L6-v2; bge, inst-l, e5... use BRIGHT's instructions, and the "
                               "reasoning embedders in tsqr.retrieval.models their published ones) or "
                               "hybrid[:MODEL]; repeat it to compare retrievers")
    add_query_instruction_argument(evaluate)
    evaluate.add_argument("--hybrid-method", choices=FUSION_METHODS, default="rrf",
                          help="how hybrid fuses BM25 and dense: reciprocal rank, or min-max normalised scores")
    evaluate.add_argument("--hybrid-weight", type=float, default=0.5, help="the dense share of a hybrid, in [0, 1]")
    evaluate.add_argument("--sample-combination", choices=SAMPLE_COMBINATIONS, default="concat",
                          help="with --samples n: join the n reasonings into one text (concat, as MuGI) or fuse "
                               "the n runs (rrf)")
    evaluate.add_argument("--price-per-mtok", type=float, default=None,
                          help="price per million new tokens, to estimate what the reasonings cost")
    evaluate.add_argument("--systems", help="a TOML file naming systems one by one, with labels ([[system]] "
                                            "tables: label, reasoned, mode, retriever, scoring, samples, ...)")
    evaluate.add_argument("--baseline", help="the label of the system the others are tested against (default: the "
                                             "raw query with the first retriever)")
    evaluate.add_argument("--test", choices=TESTS, default=None,
                          help="paired significance test per domain against the baseline, Holm-corrected across "
                               "systems: t (paired t-test, the default), wilcoxon (signed-rank) or none")
    evaluate.add_argument("--alpha", type=float, default=None, help=f"significance level (default {DEFAULT_ALPHA})")
    add_generation_arguments(evaluate)
    evaluate.set_defaults(func=cmd_evaluate)

    reason = commands.add_parser("reason", help="print a model's reasoning for queries")
    reason.add_argument("query", nargs="+")
    reason.add_argument("--model", default="default", help="default, none, a hub id, a folder, a .gguf, a URL")
    add_generation_arguments(reason)
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
    reasonings.add_argument("--setting", help="only reasonings made with this setting (model, template and "
                                              "generation settings; a cache holding several lists their IDs)")
    reasonings.set_defaults(func=cmd_export_reasonings)

    server = commands.add_parser("serve", help="serve a model over an OpenAI-compatible chat-completions API "
                                               "(what --reasoned/--model http://... reads)")
    server.add_argument("model", help='"default", a hub id, a folder or a .gguf (prefix transformers: or llamacpp: '
                                      "to choose the backend)")
    server.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to accept other machines")
    server.add_argument("--port", type=whole_number(), default=8000, help="0 picks a free port (printed at start)")
    add_generation_arguments(server, samples=False)
    server.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def work() -> int:
        check_variables()  # a bad TSQR_* variable: one line now, not at the first file read
        check_hub_access(args)
        return args.func(args)

    return run_command(work, interrupted="interrupted: finished reasonings are in the cache; rerun to resume")


if __name__ == "__main__":
    raise SystemExit(main())
