"""Mutation testing of tsqr's scoring core with mutmut: each module against only the tests written for it.

Usage:
    pip install mutmut                                   # 3.x
    python tests/mutation.py                             # every target, the committed tests
    python tests/mutation.py metrics reward              # some targets
    python tests/mutation.py --tests-from 330a9c4        # the same code against the tests of another commit
    python tests/mutation.py ppo_math --show             # print each surviving mutant's diff

A mutant that no related test fails ("survived") is a change to the code the tests cannot see. Each target runs in
its own copy of the committed tree under a temporary folder (mutmut reads setup.cfg from, and writes mutants/ into,
the folder it runs in), so the checkout is never touched. Lines that raise an error or issue a warning are not
mutated (NOT_MUTATED below). Forked test processes share torch's thread pool badly
(a forked child can hang in an OpenMP barrier: every mutant then "times out"), hence OMP_NUM_THREADS=1.
tests/README.md records the survivors and why each remaining one is equivalent or accepted.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[1]


class Target(NamedTuple):
    """One module to mutate and the test files (pytest arguments) that are meant to catch its bugs."""

    source: str
    tests: tuple[str, ...]


TARGETS = {
    "metrics": Target("tsqr/metrics.py", ("tests/test_metrics.py",)),
    "bm25": Target("tsqr/bm25/index.py", ("tests/test_bm25.py", "tests/test_bm25_store.py")),
    "reward": Target("tsqr/reward.py", ("tests/test_reward.py", "tests/test_reward_edges.py",
                                        "tests/test_train_rewarding.py")),
    "prompts": Target("tsqr/reasoner/prompts.py", ("tests/test_reasoner_prompts.py",)),
    "ppo_math": Target("train/ppo_math.py", ("tests/test_train_ppo_math.py",)),
}
# Tests of a related file that load a model for every mutant (tens of seconds each) and reach the target only
# through code the other tests already cover; left out of the mutation runs, not of the suite.
DESELECT = "not rollout_flags and not grpo_counts"
# Statements starting on these lines are not mutated: raising an error and issuing a warning. A changed word in
# a message is not a scoring bug (the messages that matter are pinned by `match=` in the tests); the conditions
# that decide whether to raise stay mutated.
NOT_MUTATED = (r"^\s*raise \w+\(", r"^\s*warnings\.warn\(")


def checkout(folder: Path, tests_from: str | None) -> None:
    """The committed tree (optionally with tests/ from another revision) extracted into `folder`."""
    folder.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=REPO, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    if tests_from:
        shutil.rmtree(folder / "tests")
        archive = subprocess.run(["git", "archive", tests_from, "tests"], cwd=REPO, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)


def setup_cfg(target: Target, present: list[str]) -> str:
    lines = ["[mutmut]", "source_paths =", "    tsqr", "    train", "only_mutate =", f"    {target.source}",
             "pytest_add_cli_args_test_selection ="]
    lines += [f"    {test}" for test in present]
    lines += ["pytest_add_cli_args =", "    -k", f"    {DESELECT}", "also_copy =", "    pytest.ini", "    assets"]
    lines += ["do_not_mutate_patterns ="] + [f"    {pattern}" for pattern in NOT_MUTATED] + [""]
    return "\n".join(lines)


def run_target(name: str, target: Target, work: Path, tests_from: str | None, show: bool) -> list[str]:
    """Run mutmut on one target; returns the names of the surviving mutants (and prints them)."""
    folder = work / name
    checkout(folder, tests_from)
    present = [test for test in target.tests if (folder / test).is_file()]
    (folder / "setup.cfg").write_text(setup_cfg(target, present))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", "2"], cwd=folder, env=env,
                         capture_output=True, text=True)
    results = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"], cwd=folder, env=env,
                             capture_output=True, text=True).stdout
    statuses = dict(re.findall(r"^\s*(\S+): (\S+.*)$", results, flags=re.MULTILINE))
    if run.returncode != 0 or not statuses:
        print(run.stdout[-2000:], run.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"{name}: mutmut failed (exit {run.returncode})")
    counts: dict[str, int] = {}
    for status in statuses.values():
        counts[status] = counts.get(status, 0) + 1
    survivors = sorted(mutant for mutant, status in statuses.items() if status == "survived")
    summary = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
    print(f"== {name}: {target.source} against {' '.join(present)} ({summary})")
    for mutant in survivors:
        print(f"   survived: {mutant}")
        if show:
            diff = subprocess.run([sys.executable, "-m", "mutmut", "show", mutant], cwd=folder, env=env,
                                  capture_output=True, text=True).stdout
            print("\n".join("      " + line for line in diff.splitlines() if line[:1] in "+-@"))
    return survivors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tests/mutation.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", help=f"some of {', '.join(TARGETS)} (default: all)")
    parser.add_argument("--tests-from", help="a git revision whose tests/ replaces the committed one")
    parser.add_argument("--show", action="store_true", help="print the diff of every surviving mutant")
    args = parser.parse_args(argv)
    unknown = [name for name in args.targets if name not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; choose from {', '.join(TARGETS)}")
    if shutil.which("git") is None or importlib.util.find_spec("mutmut") is None:
        print("error: needs git and mutmut (pip install mutmut)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="tsqr-mutation-") as work:
        total = sum(len(run_target(name, TARGETS[name], Path(work), args.tests_from, args.show))
                    for name in (args.targets or TARGETS))
    print(f"{total} surviving mutant(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
