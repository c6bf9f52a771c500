"""Test-wide settings: fully offline, a private cache, and a fixture for the optional shared BRIGHT data."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

# Nothing in the suite may reach a hub: weights and data come from the project, a package or ../shared.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Indexes and reasonings the tests compute go to a throwaway folder, never the user's ~/.cache/tsqr."""
    os.environ["TSQR_CACHE"] = str(tmp_path_factory.mktemp("tsqr-cache"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real BRIGHT queries/qrels and TongSearch reasonings beside the repo, or a skip saying why."""
    if not (SHARED_DATA / "bright").is_dir():
        pytest.skip(f"real BRIGHT data not found at {SHARED_DATA} (only present on the project's machines)")
    return SHARED_DATA
