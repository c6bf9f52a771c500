"""Importing app.py (what tests and the Spaces runtime do) builds the interface without loading a model, an index
or a model library: those wait for the first search or evaluation."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow  # a Python that imports gradio and the whole app


def test_importing_the_app_loads_no_model_and_no_model_library():
    probe = ("import sys, app; "
             "print(sorted(m for m in ('torch', 'transformers', 'xllamacpp', 'datasets') if m in sys.modules)); "
             "print(app.POOL.loaded(), len(app.STORE._indexes), type(app.demo).__name__)")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split("\n")[:2] == ["[]", "[] 0 Blocks"]
