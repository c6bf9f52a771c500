"""The README's promises that code can check: its library example runs as written, and its two set-up commands
are the ones .ci/run executes."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_library_example_runs_and_scores_the_demo_corpus(tmp_path):
    [example] = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    result = subprocess.run([sys.executable, "-c", example], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    scores = ast.literal_eval(result.stdout.strip().splitlines()[-1])  # the example prints its mean scores
    assert set(scores) == {"nDCG@10", "R@100"} and all(0.0 <= value <= 1.0 for value in scores.values())


def test_ci_installs_what_the_readme_installs_and_runs_its_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = re.findall(r"^(pip install .*)$", README, flags=re.M)
    assert len(commands) == 2, "the README's first screen gives exactly two commands"
    for command in commands:
        for step in command.split(" && "):
            if step.startswith("pip install"):
                for requirement in step.split()[2:]:
                    if requirement not in ("-r", "--no-deps"):
                        assert requirement in ci, f"{requirement} is in the README's set-up but not in .ci/run"
    assert "python -m pytest -q -rs" in commands[1] and "python3 -m pytest -q -rs" in ci
