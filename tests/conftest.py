"""Test-wide settings: fully offline, a private cache per test, the optional shared BRIGHT data, and
`require_reference`, which turns a missing fidelity reference into a failure where CI asks for every one.

Usage (in a test module):
    from conftest import require_reference
    pytrec_eval = require_reference("pytrec_eval", "pytrec_eval (pip install pytrec-eval-terrier)")

The fidelity tests compare tsqr with the real references (pytrec_eval, gensim, pyserini's Lucene, ...). On a
developer's machine a missing reference is a skip that says what to install; with TSQR_REQUIRE_REFERENCES=1
(set by .ci/run) it is a failure, so a broken install can never turn a comparison into a silent skip.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import os
from pathlib import Path
from types import ModuleType
from typing import NamedTuple, NoReturn

import pytest

# Nothing in the suite may reach a hub: weights and data come from the project, a package or ../shared. Forced,
# not defaulted: a shell that exported HF_HUB_OFFLINE=0 must not send the suite online.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REQUIRE_REFERENCES = "TSQR_REQUIRE_REFERENCES"


def references_required() -> bool:
    """True where a missing reference must fail the run (TSQR_REQUIRE_REFERENCES=1, as in CI)."""
    return os.environ.get(REQUIRE_REFERENCES, "") == "1"


def missing_reference(reason: str) -> NoReturn:
    """Skip with `reason`, or fail with it under TSQR_REQUIRE_REFERENCES=1."""
    if references_required():
        pytest.fail(f"{reason} ({REQUIRE_REFERENCES}=1: a missing reference is a failure)", pytrace=False)
    pytest.skip(reason)


def require_reference(module: str, what: str) -> ModuleType:
    """Import the reference `module`; if it is not importable, skip (or fail, see above) naming `what`.

    Only an ImportError counts as "missing": a reference that imports but then breaks is an error either way.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        missing_reference(f"{what} is not importable ({type(error).__name__}: {error})")


@pytest.fixture(autouse=True, scope="session")
def _session_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Module fixtures (set up before any per-test fixture) write to a throwaway folder, never ~/.cache/tsqr."""
    os.environ["TSQR_CACHE"] = str(tmp_path_factory.mktemp("tsqr-cache-fixtures"))


@pytest.fixture(autouse=True)
def _private_cache(_session_cache: None, tmp_path_factory: pytest.TempPathFactory,
                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Indexes and reasonings a test computes go to its own folder, not another test's: a cache shared by the
    session makes a test's outcome depend on which tests ran before it (a cached reasoning or index hides work)."""
    monkeypatch.setenv("TSQR_CACHE", str(tmp_path_factory.mktemp("tsqr-cache")))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real BRIGHT queries/qrels and TongSearch reasonings beside the repo, or a skip saying why."""
    if not (SHARED_DATA / "bright").is_dir():
        pytest.skip(f"real BRIGHT data not found at {SHARED_DATA} (only present on the project's machines)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_policy_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """train.policy's two-layer random Llama with the embedded model's real chat tokenizer, built once for the
    session (reading the tokenizer out of the GGUF is the slow part); tests only read it."""
    from train.policy import write_tiny_policy

    return write_tiny_policy(tmp_path_factory.mktemp("tiny-policy") / "model")


class ExportedDefault(NamedTuple):
    """What `tsqr export-model default FOLDER` gave: its exit code, what it printed, and the folder it wrote."""

    folder: Path
    exit_code: int
    output: str


@pytest.fixture(scope="session")
def exported_default(tmp_path_factory: pytest.TempPathFactory) -> ExportedDefault:
    """The embedded model exported once for the session through the CLI (`tsqr export-model default`):
    dequantising the 135M GGUF to float32 is the slow part, and test_reasoner_default and test_export_gguf
    both check that export. Tests only read the folder (and the exit code and output the command gave)."""
    from tsqr.__main__ import main
    from tsqr.reasoner import default_gguf_path

    try:
        default_gguf_path()
    except FileNotFoundError as error:
        missing_reference(f"the embedded model is missing: {error}")
    folder = tmp_path_factory.mktemp("exported-default") / "checkpoint"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exit_code = main(["export-model", "default", str(folder)])
    return ExportedDefault(folder, exit_code, printed.getvalue())
