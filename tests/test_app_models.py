"""The app's model handling: $TSQR_MODEL picks the default, models load once and are shared, and a model dropped
from the pool is closed only once nobody is using it."""
from __future__ import annotations

import importlib.util

import pytest

from tsqr.app.models import (
    POOL,
    ReasonerPool,
    configured_model,
    hardware,
    model_choices,
    on_gpu,
    reason_pooled,
    stream_reasoning,
)
from tsqr.reasoner import GenerationSettings, ModelNotFoundError, load_reasoner
from tsqr.reasoner.backend_none import NoneReasoner
from tsqr.records import Domain, Example

SETTINGS = GenerationSettings(max_new_tokens=16)


class RecordingNoneReasoner(NoneReasoner):
    """The real "none" reasoner, remembering whether the pool closed it."""

    def __init__(self, spec: str) -> None:
        self.name = f"none:{spec}"
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_the_model_comes_from_tsqr_model_with_the_embedded_default(monkeypatch):
    monkeypatch.delenv("TSQR_MODEL", raising=False)
    assert configured_model() == "default" and model_choices()[:2] == ["default", "none"]
    monkeypatch.setenv("TSQR_MODEL", " TongSearch/TongSearch-QR-7B ")
    assert configured_model() == "TongSearch/TongSearch-QR-7B"
    assert model_choices()[0] == "TongSearch/TongSearch-QR-7B" and "default" in model_choices()
    assert len(model_choices()) == len(set(model_choices()))


def test_a_model_is_loaded_once_and_shared():
    loads = []

    def loader(spec, settings):
        loads.append(spec)
        return load_reasoner(spec, settings)

    pool = ReasonerPool(loader=loader)
    with pool.lease("none", SETTINGS) as first, pool.lease(" none ", SETTINGS) as second:
        assert first is second and first.reason(["why?"])[0].text == "why?"
    assert loads == ["none"]
    with pool.lease("none", SETTINGS.with_changes(max_new_tokens=32)):
        pass
    assert loads == ["none", "none"]  # other generation settings are another reasoner


def test_an_evicted_model_in_use_is_closed_when_its_last_user_finishes():
    made: dict[str, RecordingNoneReasoner] = {}
    pool = ReasonerPool(capacity=1, loader=lambda spec, settings: made.setdefault(spec, RecordingNoneReasoner(spec)))
    with pool.lease("a", SETTINGS):
        with pool.lease("b", SETTINGS):
            assert pool.loaded() == ["none:b"] and not made["a"].closed  # dropped but still in use
        assert made["a"].closed is False
    assert made["a"].closed and not made["b"].closed
    with pool.lease("c", SETTINGS):
        pass
    assert made["b"].closed  # idle when evicted: closed at once
    pool.close()
    assert made["c"].closed and pool.loaded() == []


def test_bad_model_specs_fail_with_what_was_tried():
    pool = ReasonerPool()
    with pytest.raises(ValueError, match="no model given"):
        with pool.lease("  ", SETTINGS):
            pass
    with pytest.raises(ModelNotFoundError, match="does-not-exist.gguf"):
        with pool.lease("/nowhere/does-not-exist.gguf", SETTINGS):
            pass
    assert pool.loaded() == []


def test_generation_entry_points_take_only_picklable_arguments_and_use_the_shared_pool():
    import pickle

    queries = ["why is the sky blue?", "why?"]
    pickle.dumps(("none", SETTINGS, queries))  # what ZeroGPU sends to its worker
    assert "".join(stream_reasoning("none", SETTINGS, "why is the sky blue?")) == "why is the sky blue?"
    reasonings = reason_pooled("none", SETTINGS, queries)
    pickle.dumps(reasonings)  # and what it sends back
    assert [r.text for r in reasonings] == queries
    assert "none" in POOL.loaded()
    POOL.close()


@pytest.mark.skipif(importlib.util.find_spec("spaces") is not None, reason="the spaces package is installed")
def test_without_spaces_functions_run_as_they_are():
    def generate():
        yield "piece"

    assert on_gpu(generate) is generate


def test_hardware_names_where_generation_runs():
    import torch

    expected = "CUDA" if torch.cuda.is_available() else "CPU"
    assert hardware().startswith(expected)
