"""A host's bad TSQR_* variable stops the app as it starts, with one line naming it: `python app.py` exits before
serving anything, and `app.launch` raises before it listens. Each case runs the real app in a subprocess."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow  # each case is a Python that imports gradio


def _app(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GRADIO_SERVER_PORT": "0", **env}
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=180)


@pytest.mark.parametrize("variable, value, expected", [
    ("TSQR_MAX_UNPACKED_MB", "inf", "TSQR_MAX_UNPACKED_MB='inf': expected a number >= 0"),  # tsqr.limits
    ("TSQR_MAX_MODEL_QUEUE", "0", "$TSQR_MAX_MODEL_QUEUE='0': give a whole number >= 1"),  # tsqr.app.public
    ("TSQR_MAX_QUERY_CHARS", "lots", "$TSQR_MAX_QUERY_CHARS='lots'"),
    ("TSQR_SERVER_PROBE_SECONDS", "nan", "TSQR_SERVER_PROBE_SECONDS='nan': expected a number of seconds > 0"),
    ("TSQR_CACHE", "a-file", "is a file, not a folder: point TSQR_CACHE at a folder"),
])
def test_python_app_py_refuses_to_start_with_one_line(tmp_path, variable, value, expected):
    if variable == "TSQR_CACHE":
        value = str(tmp_path / value)
        Path(value).write_text("not a folder")
    result = _app({variable: value}, "app.py")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], result.stderr[-2000:]
    assert "Running on" not in result.stdout + result.stderr


def test_launch_checks_the_environment_it_finds(tmp_path):
    """A variable broken after the import (a script that imports the app, then launches it) is still refused."""
    probe = ("import os, app; os.environ['TSQR_MAX_UNPACKED_MB'] = 'inf'\n"
             "try:\n    app.launch(prevent_thread_lock=True, quiet=True)\n"
             "except ValueError as error:\n    print(type(error).__name__, error)\n"
             "else:\n    print('served'); app.demo.close()")
    result = _app({}, "-c", probe)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == (
        "ConfigurationError TSQR_MAX_UNPACKED_MB='inf': expected a number >= 0")
