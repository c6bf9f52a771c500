"""tsqr as a package: pyproject.toml matches requirements.txt, `pip install .` into a fresh virtual environment
gives a working `tsqr` command, and the trainers run both as `python train/x.py` and `python -m train.x`.

The install test builds from a copy of the package sources (pyproject.toml, README, LICENSE, tsqr/) so that the
checkout is neither written to (build/, egg-info) nor importable: it runs from another folder, with the demo
corpus given by its absolute path. To stay offline and quick it uses a venv that sees this interpreter's
site-packages (where the dependencies are already installed) and `pip install --no-deps --no-build-isolation
--no-index`; a plain venv installing everything from the registry is too slow for the suite.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "tsqr" / "data" / "demo"


def requirement_lines(path: Path) -> set[str]:
    lines = (line.split("#")[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return {line for line in lines if line}


def test_pyproject_declares_exactly_the_requirements_files():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    runtime = set(project["dependencies"]) | set(extras["app"]) | set(extras["train"])
    assert runtime == requirement_lines(ROOT / "requirements.txt")
    assert set(extras["test"]) == requirement_lines(ROOT / "requirements-test.txt")
    assert "torch==2.13.0" in project["dependencies"]
    assert not {"gradio>=6.0,<7", "trl>=1.0,<2"} & set(project["dependencies"])  # the CLI needs neither
    assert project["scripts"] == {"tsqr": "tsqr.__main__:main"}


def _clean_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    return {**env, **extra}


@pytest.mark.slow
def test_pip_install_gives_a_tsqr_command_that_evaluates_the_demo(tmp_path):
    """Fresh venv + `pip install .` (offline, see the module docstring), then `tsqr --help` and an evaluation."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "tsqr", source / "tsqr", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    python, tsqr = venv / "bin" / "python", venv / "bin" / "tsqr"
    work = tmp_path / "elsewhere"  # neither the checkout nor the sources: tsqr must come from the venv
    work.mkdir()
    env = _clean_env(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", str(source)],
                   check=True, cwd=work, env=env)

    location = subprocess.run([str(python), "-c", "import tsqr; print(tsqr.__file__)"], cwd=work, env=env,
                              check=True, capture_output=True, text=True).stdout.strip()
    assert Path(location).is_relative_to(venv)

    shown = subprocess.run([str(tsqr), "--help"], cwd=work, env=env, capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    as_module = subprocess.run([str(python), "-m", "tsqr", "--help"], cwd=work, env=env, capture_output=True,
                               text=True).stdout
    assert shown.stdout.startswith("usage: tsqr ") and as_module.startswith("usage: python -m tsqr ")
    assert shown.stdout.split("\n", 3)[3] == as_module.split("\n", 3)[3]  # the same commands and help
    assert "evaluate" in shown.stdout and "export-model" in shown.stdout

    out = tmp_path / "run"
    ran = subprocess.run([str(tsqr), "evaluate", "--data", str(DEMO), "--domain", "demo", "--reasoned", "none",
                          "--out", str(out)], cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert "nDCG@10" in ran.stdout and "demo" in ran.stdout
    assert "demo" in json.dumps(json.loads((out / "results.json").read_text(encoding="utf-8")))


@pytest.mark.parametrize("trainer", ["grpo", "ppo", "build_dataset"])
def test_trainers_start_as_scripts_and_as_modules(trainer, tmp_path):
    invocations = [
        ([sys.executable, f"train/{trainer}.py", "--help"], ROOT),
        ([sys.executable, "-m", f"train.{trainer}", "--help"], ROOT),
        ([sys.executable, str(ROOT / "train" / f"{trainer}.py"), "--help"], tmp_path),  # from another folder
    ]
    outputs = []
    for command, cwd in invocations:
        shown = subprocess.run(command, cwd=cwd, env=_clean_env(), capture_output=True, text=True, timeout=60)
        assert shown.returncode == 0, f"{' '.join(command)} in {cwd}: {shown.stderr}"
        outputs.append(shown.stdout)
    assert outputs[0].startswith(f"usage: python -m train.{trainer}")
    assert outputs[0] == outputs[1] == outputs[2]
