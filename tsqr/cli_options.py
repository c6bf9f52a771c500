"""The command line's generation flags, and their translation into GenerationSettings, in one place.

Usage:
    parser = argparse.ArgumentParser()
    add_generation_arguments(parser)
    args = parser.parse_args(["--sampling", "tongsearch", "--seed", "3", "--concurrency", "128"])
    settings = settings_from_args(args)             # GenerationSettings(temperature=0.7, ..., seed=3, ...)
    args.samples                                     # reasonings per query (1 unless --samples)

Every flag defaults to "not given", so `--sampling tongsearch` sets TongSearch QR's evaluation parameters
(temperature 0.7, top_p 0.8, top_k 20, repetition penalty 1.05, 500 new tokens, from its
scripts/evaluation/vllm_model.py) and any flag given beside it overrides just that one value; with no flag at all
the settings are exactly GenerationSettings(), so the cache keys of earlier runs still match.
"""
from __future__ import annotations

import argparse

from tsqr.cli_checks import whole_number
from tsqr.reasoner.prompts import TEMPLATES, PromptTemplate, template_named_or_file
from tsqr.reasoner.settings import GenerationSettings

SAMPLING_PRESETS = ("greedy", "tongsearch")
# flag destination -> GenerationSettings field
FIELDS = {"max_new_tokens": "max_new_tokens", "template": "template", "temperature": "temperature",
          "top_p": "top_p", "top_k": "top_k", "seed": "seed", "repetition_penalty": "repetition_penalty",
          "batch_size": "batch_size", "concurrency": "concurrency"}


def template_option(text: str) -> str | PromptTemplate:
    """argparse type for --template: a template name, or a template file loaded and checked (one-line error)."""
    try:
        return template_named_or_file(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_generation_arguments(parser: argparse.ArgumentParser, *, samples: bool = True) -> None:
    """Add the flags that decide what a model writes (cache keys follow them) and how fast it is asked
    (`samples=False`: no --samples, for a command that answers one request at a time, as the server does)."""
    what = parser.add_argument_group("generation (what the model writes; part of the cache key)")
    what.add_argument("--max-new-tokens", type=whole_number(1), help="the paper generates up to 1024 (the default; "
                                                                  "500 with --sampling tongsearch)")
    what.add_argument("--template", type=template_option,
                      help=f"prompt template: a name ({', '.join(TEMPLATES)}; default tongsearch) or a UTF-8 text "
                           "file holding the user turn, with {query} where the query goes")
    what.add_argument("--sampling", choices=SAMPLING_PRESETS, default="greedy",
                      help="greedy (default, deterministic) or tongsearch: TongSearch QR's evaluation sampling "
                           "(temperature 0.7, top_p 0.8, top_k 20, repetition penalty 1.05, 500 new tokens)")
    what.add_argument("--temperature", type=float, help="0 = greedy; above 0 samples")
    what.add_argument("--top-p", type=float, help="nucleus sampling mass, in (0, 1]")
    what.add_argument("--top-k", type=int, help="sample among the k likeliest tokens (0 = off)")
    what.add_argument("--seed", type=int, help="sampling seed (ignored, and not in the cache key, when greedy)")
    what.add_argument("--repetition-penalty", type=float, help="1.0 = off; default 1.05 as TongSearch QR")
    if samples:
        what.add_argument("--samples", type=whole_number(1), default=1,
                          help="sampled reasonings per query, each cached on its own (needs a temperature above 0)")
    how = parser.add_argument_group("throughput (how fast the model is asked; not in the cache key)")
    how.add_argument("--batch-size", type=whole_number(1), help="prompts a local model (transformers, llama.cpp) "
                                                             "decodes together (default 8)")
    how.add_argument("--concurrency", type=whole_number(1), help="requests kept in flight at each server endpoint "
                                                              "(default 64); several endpoints: comma-separated URLs")


def settings_from_args(args: argparse.Namespace) -> GenerationSettings:
    """GenerationSettings for parsed flags: the preset `--sampling` names, then each flag that was given.

    Raises ValueError (one line) for values out of range or `--samples` above 1 with greedy decoding.
    """
    sampling = getattr(args, "sampling", "greedy")
    base = GenerationSettings.tongsearch_sampling() if sampling == "tongsearch" else GenerationSettings()
    changes = {field: getattr(args, flag) for flag, field in FIELDS.items() if getattr(args, flag, None) is not None}
    settings = base.with_changes(**changes)
    samples = getattr(args, "samples", 1)
    if samples > 1 and settings.greedy:
        raise ValueError(f"--samples {samples} needs sampling: add --sampling tongsearch or --temperature above 0 "
                         "(greedy decoding writes the same text every time)")
    return settings
