"""Sampling settings from the command line: what changes the cache key, and what must not.

The greedy default key is pinned to the value computed before sampling flags existed, so every reasoning cache
written by earlier versions stays valid.
"""
from __future__ import annotations

import argparse

import pytest

from tsqr.reasoner import GenerationSettings, get_template, reasoning_key
from tsqr.cli_options import add_generation_arguments, settings_from_args

MODEL = "SmolLM2-135M-Instruct.Q4_1.gguf@b83433b0 (llama.cpp)"
QUERY = "Why does my sourdough starter smell like nail polish?"
# reasoning_key(MODEL, tongsearch, GenerationSettings(), QUERY) at commit 330a9c4, before this change
DEFAULT_KEY = "428590f61a493bbcf44d43dd009951d292c66fd73304e76e9e504ab965fa17ab"


def parse(*flags: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_generation_arguments(parser)
    return parser.parse_args(list(flags))


def key(settings: GenerationSettings) -> str:
    return reasoning_key(MODEL, get_template(settings.template), settings, QUERY)


def test_the_greedy_default_key_is_unchanged():
    assert key(GenerationSettings()) == DEFAULT_KEY
    assert settings_from_args(parse()) == GenerationSettings()
    assert key(settings_from_args(parse())) == DEFAULT_KEY


def test_throughput_flags_leave_the_key_alone():
    settings = settings_from_args(parse("--concurrency", "256", "--batch-size", "64"))
    assert (settings.concurrency, settings.batch_size) == (256, 64)
    assert key(settings) == DEFAULT_KEY


@pytest.mark.parametrize("flags", [("--temperature", "0.7"), ("--top-p", "0.9"), ("--top-k", "20"),
                                   ("--repetition-penalty", "1.0"), ("--max-new-tokens", "512"),
                                   ("--sampling", "tongsearch"), ("--temperature", "0.7", "--seed", "1")])
def test_sampling_flags_change_the_key(flags):
    assert key(settings_from_args(parse(*flags))) != DEFAULT_KEY


def test_the_seed_matters_only_when_sampling():
    assert key(settings_from_args(parse("--seed", "5"))) == DEFAULT_KEY  # greedy ignores it
    sampled = [key(settings_from_args(parse("--sampling", "tongsearch", "--seed", seed))) for seed in ("0", "5")]
    assert sampled[0] != sampled[1]


def test_the_tongsearch_preset_and_overrides():
    settings = settings_from_args(parse("--sampling", "tongsearch"))
    assert (settings.temperature, settings.top_p, settings.top_k, settings.repetition_penalty,
            settings.max_new_tokens) == (0.7, 0.8, 20, 1.05, 500)
    tuned = settings_from_args(parse("--sampling", "tongsearch", "--max-new-tokens", "300", "--top-k", "0"))
    assert (tuned.max_new_tokens, tuned.top_k, tuned.temperature) == (300, 0, 0.7)


def test_bad_values_are_one_line_errors():
    with pytest.raises(ValueError, match=r"top_p must be in \(0, 1\]"):
        settings_from_args(parse("--top-p", "1.5"))
    with pytest.raises(ValueError, match="--samples 4 needs sampling"):
        settings_from_args(parse("--samples", "4"))
    assert settings_from_args(parse("--samples", "4", "--temperature", "1")).temperature == 1
    with pytest.raises(SystemExit):
        parse("--concurrency", "0")


def test_samples_get_their_own_seeds():
    base = GenerationSettings.tongsearch_sampling(seed=3)
    seeds = [base.for_sample(n).seed for n in range(5)]
    assert seeds[0] == 3 and len(set(seeds)) == 5 and all(0 <= s < 2 ** 31 for s in seeds)
    assert base.for_sample(2) == base.for_sample(2)  # reproducible
