"""bench/gpu_check.py on the CPU: its tiny version runs every check of the GPU path (backend, GRPO, PPO, CLI
evaluation) and passes; a check that fails makes the exit status 1 while the others still run."""
from __future__ import annotations

import re

import pytest

from bench.gpu_check import main

pytestmark = pytest.mark.slow  # generates with and trains a tiny model, runs the CLI

CHECKS = ["random model from config", "transformers backend, batch 1", "transformers backend, batch 4",
          "training set (train/data/smoke.jsonl)", "GRPO, 2 steps", "PPO, 2 steps", "demo evaluation (CLI)"]


def rows(out: str) -> dict[str, str]:
    return dict(re.findall(r"^\| ([^|]+?) \| (ok|FAILED|skipped) \|", out, re.M))


def test_the_tiny_check_runs_every_step_and_passes(capsys):
    assert main(["--tiny"]) == 0
    out = capsys.readouterr().out
    assert rows(out) == {name: "ok" for name in CHECKS}
    assert re.search(r"batch 4 \| ok \| [\d.]+ \| [\d,]+ new tokens/s \(32 tokens", out)
    assert "0 failed" in out


def test_a_failing_check_fails_the_run_and_the_rest_still_run(capsys):
    assert main(["--tiny", "--skip-train", "--batches", "0,1"]) == 1
    out = capsys.readouterr().out
    assert rows(out) == {"random model from config": "ok", "transformers backend, batch 0": "FAILED",
                         "transformers backend, batch 1": "ok", "demo evaluation (CLI)": "ok"}
    assert "batch_size must be at least 1" in out and "1 failed: transformers backend, batch 0" in out
