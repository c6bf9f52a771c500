"""`python -m tsqr evaluate` with several systems: repeated --reasoned/--retriever/--mode and --systems run the
comparison, print the table with its marks, write the tables and the chart beside results.json; bad comparison
options are one line and exit code 2; one system keeps its raw-vs-reasoned report."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tsqr.__main__ import main

DEMO = str(Path(__file__).resolve().parents[1] / "tsqr" / "data" / "demo")
BASE = ["evaluate", "--data", DEMO, "--domain", "demo", "--limit", "6"]


@pytest.fixture
def half_file(tmp_path):
    """A TongSearch JSON reasoning file with the human reasoning of every other demo query."""
    rows = [json.loads(line) for line in (Path(DEMO) / "examples.jsonl").read_text().splitlines()][:6]
    path = tmp_path / "half.json"
    path.write_text(json.dumps({row["query"]: row["reasoning"] for row in rows[::2]}))
    return path


def test_repeated_reasoned_and_modes_print_and_write_the_comparison(tmp_path, half_file, capsys):
    out = tmp_path / "out"
    code = main([*BASE, "--reasoned", "human", "--reasoned", str(half_file), "--mode", "replace", "--mode",
                 "concat", "--out", str(out), "--test", "wilcoxon", "--alpha", "0.1"])
    assert code == 0
    printed = capsys.readouterr().out
    labels = ["raw", "human+replace", "human+concat", "half.json+replace", "half.json+concat"]
    document = json.loads((out / "results.json").read_text())
    assert list(document["systems"]) == labels
    assert (document["test"], document["alpha"], document["baseline"]) == ("wilcoxon", 0.1, "raw")
    for label in labels:
        mean = document["runs"]["demo"][label]["mean"]["nDCG@10"]
        assert f"{100 * mean:.1f}" in printed.split(label, 1)[1].split("\n", 1)[0], label
    with (out / "table.csv").open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["measure"] == "nDCG@10"]
    assert [r["system"] for r in rows] == labels
    assert (out / "table.md").read_text().count("| half.json+concat |") == 2   # nDCG@10 and R@100 tables
    assert (out / "frontier.html").stat().st_size > 100_000                       # plotly.js is inside


def test_systems_file_and_baseline(tmp_path, capsys):
    systems = tmp_path / "systems.toml"
    systems.write_text('[[system]]\nlabel = "query"\n\n[[system]]\nlabel = "people"\nreasoned = "human"\n')
    assert main([*BASE, "--systems", str(systems), "--baseline", "people", "--out", str(tmp_path / "o")]) == 0
    assert "significantly above/below people" in capsys.readouterr().out


@pytest.mark.parametrize("extra, message", [
    (["--baseline", "nobody", "--reasoned", "human"], "baseline 'nobody' is not one of the systems"),
    (["--alpha", "2", "--reasoned", "human"], "alpha must be between 0 and 1"),
    (["--test", "z"], "invalid choice: 'z'"),
    (["--systems", "missing.toml"], "cannot read the systems file"),
    (["--systems", "missing.toml", "--reasoned", "human"], "leave out --reasoned"),
])
def test_bad_comparison_options_are_one_line_and_exit_2(tmp_path, extra, message, capsys):
    try:
        code = main([*BASE, "--out", str(tmp_path / "o"), *extra])
    except SystemExit as parser_exit:  # argparse refuses choices itself
        code = parser_exit.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err


def test_one_system_keeps_the_raw_vs_reasoned_report(tmp_path, capsys):
    assert main([*BASE, "--reasoned", "human", "--out", str(tmp_path)]) == 0
    assert "reasoned" in capsys.readouterr().out.splitlines()[0]
    assert (tmp_path / "summary.csv").is_file() and not (tmp_path / "table.md").exists()
