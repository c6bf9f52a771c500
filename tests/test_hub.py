"""tsqr.hub: one rule for "is the hub offline?", huggingface_hub's own, read the same by the CLI, the app and the
model loaders."""
from __future__ import annotations

import pytest

from tsqr.app.public import host_policy
from tsqr.hub import go_offline, hub_offline


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "Yes", "on", " 1 "])
@pytest.mark.parametrize("name", ["HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"])
def test_every_spelling_of_true_in_either_variable_means_offline(name, value):
    assert hub_offline({name: value})
    assert host_policy("0.0.0.0", {name: value}).hub_domains == ()  # the app reads the same rule


@pytest.mark.parametrize("env", [{}, {"HF_HUB_OFFLINE": "0"}, {"HF_HUB_OFFLINE": "false"}, {"HF_HUB_OFFLINE": ""},
                                 {"HF_DATASETS_OFFLINE": "1"}])
def test_anything_else_means_online(env):
    assert not hub_offline(env)


def test_going_offline_sets_what_every_hub_library_reads():
    env: dict[str, str] = {}
    go_offline(env)
    assert hub_offline(env) and env == {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
