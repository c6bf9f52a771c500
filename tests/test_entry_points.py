"""Every entry point (the tsqr CLI, `tsqr serve`, train.build_dataset, train.ppo, train.grpo) maps input the user
can fix to one line on stderr and exit code 2 the same way (tsqr.cli_checks.run_command), OSErrors included: each
case runs the real command in a subprocess on inputs written here."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tsqr.reasoner.cache import CacheRow, ReasoningCache

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "tsqr" / "data" / "demo"


def command(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


def assert_one_line_error(result: subprocess.CompletedProcess, *expected: str) -> None:
    """rc 2 and, once progress bars and notes are set aside, a single 'error: ...' line holding `expected`."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and errors[0].startswith("error: "), result.stderr
    for text in expected:
        assert text in errors[0], errors[0]


def test_an_unwritable_out_folder_is_refused_before_any_work(tmp_path):
    if not Path("/sys").is_dir():
        pytest.skip("no /sys here: the read-only file system this case writes to")
    result = command("tsqr", "evaluate", "--data", str(DEMO), "--domain", "demo", "--out", "/sys/tsqr-out")
    assert_one_line_error(result, "--out", "/sys/tsqr-out", "cannot be written")
    assert "[demo]" not in result.stderr  # refused while parsing, before the data is read


def test_exporting_reasonings_onto_an_existing_folder(tmp_path):
    cache = tmp_path / "m.jsonl"
    ReasoningCache(cache).append([CacheRow(key="k", query="why?", text="because", model="m", template="tongsearch")])
    assert_one_line_error(command("tsqr", "export-reasonings", str(cache), str(tmp_path)), "Is a directory",
                          str(tmp_path))


def test_a_cache_variable_naming_a_file(tmp_path):
    not_a_folder = tmp_path / "cache.txt"
    not_a_folder.write_text("")
    result = command("tsqr", "index", "--data", str(DEMO), "--domain", "demo", env={"TSQR_CACHE": str(not_a_folder)})
    assert_one_line_error(result, "TSQR_CACHE", str(not_a_folder), "not a folder")


def test_an_unreadable_input_file(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("running as root, which reads a file whatever its permissions")
    examples = tmp_path / "examples.jsonl"
    examples.write_text((DEMO / "examples.jsonl").read_text())
    examples.chmod(0)
    result = command("tsqr", "index", "--data", str(examples), str(DEMO / "documents.jsonl"), "--domain", "demo")
    assert_one_line_error(result, "Permission denied")


def test_serving_a_model_that_does_not_exist(tmp_path):
    assert_one_line_error(command("tsqr", "serve", str(tmp_path / "no-model")), "not found", "no-model")


def test_serve_takes_the_shared_generation_flags_with_their_checks():
    assert_one_line_error(command("tsqr", "serve", "default", "--batch-size", "0"), "--batch-size", ">= 1")


def test_build_dataset_on_a_folder_and_with_a_negative_count(tmp_path):
    assert_one_line_error(command("train.build_dataset", "--jsonl", str(tmp_path), "--out", str(tmp_path / "o")),
                          str(tmp_path))
    assert_one_line_error(command("train.build_dataset", "--jsonl", "x.jsonl", "--heldout", "-1", "--out", "o"),
                          "--heldout", ">= 0")


@pytest.mark.slow
@pytest.mark.parametrize("trainer", ["train.ppo", "train.grpo"])
def test_a_trainer_given_a_folder_as_its_reward_config(tmp_path, trainer):
    result = command(trainer, "--data", str(tmp_path), "--output", str(tmp_path / "out"),
                     "--reward-config", str(tmp_path))
    assert_one_line_error(result, "Is a directory", str(tmp_path))
