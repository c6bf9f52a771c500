"""conftest's reference guard: a missing reference skips on a developer's machine and fails where CI demands
every reference (TSQR_REQUIRE_REFERENCES=1), so a broken install cannot turn a fidelity test into a skip."""
from __future__ import annotations

import pytest
from conftest import REQUIRE_REFERENCES, missing_reference, require_reference

ABSENT = "tsqr_no_such_reference_module"


def test_a_missing_reference_skips_naming_what_to_install(monkeypatch):
    monkeypatch.delenv(REQUIRE_REFERENCES, raising=False)
    with pytest.raises(pytest.skip.Exception, match=f"the thing \\(pip install it\\) is not importable.*{ABSENT}"):
        require_reference(ABSENT, "the thing (pip install it)")


def test_a_missing_reference_fails_when_references_are_required(monkeypatch):
    monkeypatch.setenv(REQUIRE_REFERENCES, "1")
    with pytest.raises(pytest.fail.Exception, match=f"{ABSENT}.*TSQR_REQUIRE_REFERENCES=1"):
        require_reference(ABSENT, "the thing")
    with pytest.raises(pytest.fail.Exception, match="no Java"):
        missing_reference("no Java")


def test_an_installed_reference_is_returned(monkeypatch):
    monkeypatch.setenv(REQUIRE_REFERENCES, "1")
    assert require_reference("json", "the json module").dumps([1]) == "[1]"


def test_the_suite_runs_offline_whatever_the_shell_said():
    """conftest forces the variables (HF_HUB_OFFLINE=0 in the shell must not send the suite online), before
    huggingface_hub reads them at import."""
    import os

    import huggingface_hub.constants

    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert huggingface_hub.constants.HF_HUB_OFFLINE is True
