"""The app's model handling: $TSQR_MODEL picks the default, models load once and are shared, and a model dropped
from the pool is closed only once nobody is using it."""
from __future__ import annotations

import importlib.util
import threading
import time

import pytest

from tsqr.app.models import (
    POOL,
    ReasonerPool,
    configured_model,
    model_choices,
    on_gpu,
    reason_pooled,
    stream_reasoning,
)
from tsqr.reasoner import GenerationSettings, ModelNotFoundError, load_reasoner
from tsqr.reasoner.backend_none import NoneReasoner
from tsqr.reasoner.hardware import hardware
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
    with pool.lease("none", SETTINGS.with_changes(max_new_tokens=32, temperature=0.7)):
        pass
    assert loads == ["none"]  # what is generated is chosen per call: the loaded model serves every setting
    with pool.lease("none", SETTINGS.with_changes(batch_size=2)):
        pass
    assert loads == ["none", "none"]  # how it is loaded (slots, threads, device) is another model


@pytest.mark.slow
def test_one_loaded_model_generates_with_each_callers_settings():
    """A visitor moving the max-new-tokens slider must not load another copy of the weights."""
    loads = []
    pool = ReasonerPool(loader=lambda spec, settings: loads.append(spec) or load_reasoner(spec, settings, cache=False))
    query = "why does bread go stale faster in the fridge?"
    with pool.lease("default", SETTINGS.with_changes(max_new_tokens=4)) as short, \
            pool.lease("default", SETTINGS.with_changes(max_new_tokens=24)) as long:
        assert loads == ["default"] and short.settings.max_new_tokens == 4 and long.settings.max_new_tokens == 24
        short_reasoning, long_reasoning = short.reason([query])[0], long.reason([query])[0]
    assert short_reasoning.new_tokens <= 4 < long_reasoning.new_tokens <= 24
    assert long_reasoning.text.startswith(short_reasoning.text.strip())  # greedy: the same words, cut earlier
    assert short.key(query) != long.key(query)  # and would be cached apart
    pool.close()


def test_loading_one_model_holds_up_only_the_callers_of_that_model():
    """A model that takes forever to load (a server that never answers) blocks neither "none" nor the pool."""
    release, started = threading.Event(), threading.Event()
    loads = []

    def loader(spec, settings):
        loads.append(spec)
        if spec == "hanging":
            started.set()
            assert release.wait(30), "the test never released the hanging load"
        return RecordingNoneReasoner(spec)

    pool = ReasonerPool(loader=loader)

    def lease_hanging():
        with pool.lease("hanging", SETTINGS):
            pass

    first, second = threading.Thread(target=lease_hanging), threading.Thread(target=lease_hanging)
    first.start()
    assert started.wait(10)
    second.start()
    begun = time.monotonic()
    with pool.lease("none", SETTINGS) as reasoner:
        assert reasoner.reason(["why?"])[0].text == "why?"
    assert time.monotonic() - begun < 2 and pool.loaded() == ["none:none"]
    release.set()
    first.join(10), second.join(10)
    assert loads == ["hanging", "none"]  # the second caller of "hanging" waited for the first load, not its own


def test_pinned_models_are_never_evicted():
    made: dict[str, RecordingNoneReasoner] = {}
    pool = ReasonerPool(capacity=1, loader=lambda spec, settings: made.setdefault(spec, RecordingNoneReasoner(spec)))
    pool.pin(["host"])
    for spec in ("host", "a", "b", "c"):
        with pool.lease(spec, SETTINGS):
            pass
    assert pool.loaded() == ["none:host", "none:c"]
    assert not made["host"].closed and made["a"].closed and made["b"].closed


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
