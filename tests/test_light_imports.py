"""Nothing heavy unless used: an evaluation without a model (raw queries, or precomputed reasonings) with BM25
imports neither torch nor transformers nor sentence-transformers. Checked in a fresh interpreter that runs the
real CLI and then reports which of them it imported."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "sentence_transformers")
PROBE = """
import json, runpy, sys
sys.argv = ["tsqr", *json.loads(sys.argv[1])]
try:
    runpy.run_module("tsqr", run_name="__main__")
except SystemExit as done:
    assert not done.code, done.code
print(json.dumps([name for name in {heavy!r} if name in sys.modules]))
""".format(heavy=HEAVY)


def heavy_modules_after(*args: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("reasoned", ["none", "precomputed"])
def test_a_bm25_evaluation_without_a_model_imports_no_model_library(tmp_path, reasoned):
    source = reasoned
    if reasoned == "precomputed":
        examples = [json.loads(line) for line in (ROOT / "tsqr/data/demo/examples.jsonl").read_text().splitlines()]
        source = str(tmp_path / "reasonings.json")
        Path(source).write_text(json.dumps({row["query"]: row["reasoning"] for row in examples}))
    assert heavy_modules_after("evaluate", "--data", "demo", "--domain", "demo", "--reasoned", source,
                               "--out", str(tmp_path / "out")) == []
